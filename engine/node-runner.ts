/**
 * Running one node whose key is planned and whose lock is held: load its inputs, call the type's `run` (or
 * `estimate` when planning), check and store its outputs, and commit the run. Returns the outcome and, when the
 * node stopped short, the message the user sees.
 */
import type { Store } from '../cache/store.js';
import { emptyTotals, type ItemTotals } from './items.js';
import type { Json } from './json.js';
import { itemScope } from './node-key.js';
import { makeContext, type ContextDeps } from './node-context.js';
import { NodeUserError, PlanDeferred, type InputPortSpec, type FileOutput, type OutputValue, type RowsOutput, type InputValues, type NodeEstimate, type NodeStats, type PortValue } from './node-type.js';
import { errorDiagnostic, failedItemsMessage, type KeyedOutcome, type NodeOutcome } from './outcome.js';
import type { InputBinding, PlannedNode } from './pipeline/graph.js';
import type { OutputRecord, RunStore } from './run-store.js';
import { loadValue, RowsWriter, storeFile } from './values.js';

export interface Upstream {
  input: InputBinding;
  outcome: NodeOutcome;
}

export interface RunnerDeps extends ContextDeps {
  runs: RunStore;
  /** Records the node as this pipeline's and variant's last key for it (for `plan --explain`). */
  setLastKey(node: PlannedNode, keyed: KeyedOutcome): void;
  /** The share of the node's items allowed to fail (its max_failed, else the run's). */
  allowedShare(nodeId: string): number;
}

function loadInputs(store: Store, node: PlannedNode, upstream: readonly Upstream[]): Record<string, PortValue | undefined> {
  const inputs: Record<string, PortValue | undefined> = {};
  for (const { input, outcome } of upstream) inputs[input.port] = loadValue(store, outcome.outputs![input.fromPort]!);
  for (const port of Object.keys(node.type.inputs)) if (!(port in inputs)) inputs[port] = undefined;
  return inputs;
}

export async function estimateNode(deps: ContextDeps, node: PlannedNode, upstream: readonly Upstream[], keyed: KeyedOutcome): Promise<NodeEstimate | undefined> {
  if (!node.type.estimates) return undefined;
  const { ctx, cleanup } = makeContext(deps, node, keyed.key, itemScope(keyed.record), keyed.items, {});
  try {
    const implementation = await deps.graph.implementation(node.type.type);
    return await implementation.estimate!(loadInputs(deps.store, node, upstream) as InputValues<Record<string, InputPortSpec>>, node.params, ctx);
  } catch (error) {
    return { items: 0, cachedItems: 0, note: `no estimate: ${(error as Error).message.split('\n')[0]}` };
  } finally {
    cleanup();
  }
}

export async function runNode(deps: RunnerDeps, node: PlannedNode, upstream: readonly Upstream[], keyed: KeyedOutcome): Promise<{ outcome: NodeOutcome; message?: string }> {
  const { store, runs, emit } = deps;
  const started = Date.now();
  emit({ type: 'node-start', node: node.id, nodeType: node.type.type, key: keyed.key });
  const totals: ItemTotals = emptyTotals();
  const stats: NodeStats = {};
  const { ctx, cleanup } = makeContext(deps, node, keyed.key, itemScope(keyed.record), totals, stats);
  try {
    const inputs = loadInputs(store, node, upstream);
    const implementation = await deps.graph.implementation(node.type.type);
    const produced = (await implementation.run(inputs as InputValues<Record<string, InputPortSpec>>, node.params, ctx)) as Record<string, OutputValue | undefined>;
    // Streamed outputs are drained here, which is when a streaming node does its work: the rows are written to
    // temp files and enter the store only when the node was not stopped short.
    const stored = await storeOutputs(store, node, produced, ctx.tempDir());
    if (totals.skipped > 0) {
      stored.discard();
      const outcome: NodeOutcome = { ...keyed, state: 'interrupted', ms: Date.now() - started, items: totals, stats };
      return { outcome, message: totals.budgetSpent ? 'the LLM budget of this run is spent; raise --budget and run the same command to continue (paid answers are kept).' : undefined };
    }
    const outputs = await stored.commit();
    const spend = deps.llm?.spendOfNode(node.id);
    if (spend) stats.values = { ...(stats.values ?? {}), llm: spend as unknown as Json };
    const ms = Date.now() - started;
    const complete = totals.failed === 0;
    runs.putRun({ key: keyed.key, type: node.type.type, record: keyed.record, outputs, complete, failures: totals.failed, stats, ms, finished: Date.now() });
    deps.setLastKey(node, keyed);
    const outcome: NodeOutcome = { ...keyed, state: complete ? 'ran' : 'partial', ms, items: totals, outputs, stats };
    return { outcome, message: complete ? undefined : failedItemsMessage(outcome, deps.allowedShare(node.id)) };
  } catch (error) {
    if (deps.plan && error instanceof PlanDeferred) return { outcome: { ...keyed, state: 'will-run', ms: Date.now() - started, estimate: { items: 0, cachedItems: 0, note: error.message } } };
    if (deps.drain.aborted && !(error instanceof NodeUserError)) {
      // Stopped by Ctrl-C: what was committed (items, checkpoints) is kept for the next run.
      return { outcome: { ...keyed, state: 'interrupted', ms: Date.now() - started, items: totals, stats } };
    }
    await deps.graph.pipeline.locations.ready?.();
    return { outcome: { ...keyed, state: 'failed', ms: Date.now() - started, items: totals, stats, diagnostic: errorDiagnostic(deps.graph, node, error) } };
  } finally {
    cleanup();
  }
}

interface StoredOutputs {
  /** Puts the file outputs and the streamed rows into the store; returns every output's record. */
  commit(): Promise<Record<string, OutputRecord>>;
  discard(): void;
}

/** Checks each declared output against its form and fields, and writes it (rows as JSONL, a row at a time). */
async function storeOutputs(store: Store, node: PlannedNode, produced: Record<string, OutputValue | undefined>, tempDir: string): Promise<StoredOutputs> {
  const outputs: Record<string, OutputRecord> = {};
  const written: { port: string; commit(): void; discard(): void }[] = [];
  // File outputs are hashed and moved into the store only when the run is committed (not for an interrupted node).
  const files: { port: string; value: FileOutput }[] = [];
  try {
    for (const [port, spec] of Object.entries(node.type.outputs)) {
      const value = produced[port];
      if (spec.form === 'rows') {
        if (!isRowsOutput(value)) throw new Error(`Internal error: node type ${node.type.type} returned no rows for output "${port}"`);
        const writer = new RowsWriter(store, tempDir, `${port}.jsonl`);
        try {
          for await (const row of value) {
            const missing = spec.fields?.filter((field) => row === null || typeof row !== 'object' || !(field in row));
            if (missing && missing.length > 0) {
              throw new Error(`Internal error: node type ${node.type.type} returned ${spec.kind} rows without the field(s) ${missing.join(', ')} on output "${port}"`);
            }
            writer.add(row);
          }
        } catch (error) {
          writer.abandon();
          throw error;
        }
        const done = writer.finish();
        outputs[port] = done.record;
        written.push({ port, commit: done.commit, discard: done.discard });
      } else {
        if (value === undefined || isRowsOutput(value)) throw new Error(`Internal error: node type ${node.type.type} returned no file for output "${port}"`);
        files.push({ port, value });
      }
    }
  } catch (error) {
    for (const w of written) w.discard();
    throw error;
  }
  return {
    commit: async () => {
      try {
        for (const { port, value } of files) outputs[port] = await storeFile(store, value);
      } catch (error) {
        for (const w of written) w.discard();
        throw error;
      }
      for (const w of written) w.commit();
      return outputs;
    },
    discard: () => written.forEach((w) => w.discard()),
  };
}

function isRowsOutput(value: OutputValue | undefined): value is RowsOutput {
  return Array.isArray(value) || (value !== undefined && value !== null && typeof value === 'object' && Symbol.asyncIterator in value);
}
