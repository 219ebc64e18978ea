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
import { NodeUserError, PlanDeferred, type FileOutput, type InputPortSpec, type InputValues, type NodeEstimate, type NodeStats, type PortValue } from './node-type.js';
import { errorDiagnostic, failedItemsMessage, type KeyedOutcome, type NodeOutcome } from './outcome.js';
import type { InputBinding, PlannedNode } from './pipeline/graph.js';
import type { OutputRecord, RunStore } from './run-store.js';
import { loadValue, storeFile, storeRows } from './values.js';

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

type Row = { [key: string]: Json };

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
    const produced = (await implementation.run(inputs as InputValues<Record<string, InputPortSpec>>, node.params, ctx)) as Record<string, Row[] | FileOutput | undefined>;
    if (totals.skipped > 0) {
      const outcome: NodeOutcome = { ...keyed, state: 'interrupted', ms: Date.now() - started, items: totals, stats };
      return { outcome, message: totals.budgetSpent ? 'the LLM budget of this run is spent; raise --budget and run the same command to continue (paid answers are kept).' : undefined };
    }
    const outputs = await storeOutputs(store, node, produced);
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

/** Checks each declared output against its form and fields, and stores it. */
async function storeOutputs(store: Store, node: PlannedNode, produced: Record<string, Row[] | FileOutput | undefined>): Promise<Record<string, OutputRecord>> {
  const outputs: Record<string, OutputRecord> = {};
  for (const [port, spec] of Object.entries(node.type.outputs)) {
    const value = produced[port];
    if (spec.form === 'rows') {
      if (!Array.isArray(value)) throw new Error(`Internal error: node type ${node.type.type} returned no rows for output "${port}"`);
      const missing = spec.fields?.filter((field) => value.some((row) => row === null || typeof row !== 'object' || !(field in row)));
      if (missing && missing.length > 0) {
        throw new Error(`Internal error: node type ${node.type.type} returned ${spec.kind} rows without the field(s) ${missing.join(', ')} on output "${port}"`);
      }
      outputs[port] = storeRows(store, value);
    } else {
      if (value === undefined || Array.isArray(value)) throw new Error(`Internal error: node type ${node.type.type} returned no file for output "${port}"`);
      outputs[port] = await storeFile(store, value);
    }
  }
  return outputs;
}


