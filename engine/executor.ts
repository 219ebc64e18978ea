/**
 * Runs (or plans) a validated pipeline graph: for each node, decide cached → run, in dependency order, with bounded
 * concurrency. A node is recorded as done only after its outputs are committed; a node key is locked while it runs so
 * two processes never compute (or pay for) the same node at once.
 */
import { setMaxListeners } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, relative, resolve as resolvePath } from 'node:path';
import { StoreError, type Store } from '../cache/store.js';
import { DiagnosticError, type Diagnostic } from './diagnostics.js';
import type { EngineEvent, LlmProgress, Reporter } from './events.js';
import { emptyTotals, ItemStore, mapItems, type ItemTotals } from './items.js';
import { digestJson, type Digest, type Json, type NodeKey } from './json.js';
import { explainChange, FileDigests, hashFile, nodeKey, type NodeKeyRecord } from './keys.js';
import { LlmEndpointError, type CallMode, type LlmClient, type LlmServiceKey, type LlmSpend } from './llm/types.js';
import {
  NodeUserError,
  PlanDeferred,
  type CheckpointStore,
  type FileOutput,
  type InputPortSpec,
  type InputValues,
  type NodeContext,
  type NodeEstimate,
  type NodeStats,
  type PortValue,
  type ProgressHandle,
} from './node-type.js';
import type { PipelineGraph, PlannedNode } from './pipeline/graph.js';
import { RunStore, type NodeState, type OutputRecord } from './run-store.js';
import { isWriteFailure, WRITE_FAILURE_HINT } from './write-failure.js';
import { loadValue, outputPresent, storeFile, storeRows } from './values.js';

/** The LLM service as the engine sees it: a key for node keys, and clients for nodes. */
export interface LlmProvision {
  key: LlmServiceKey;
  /** Why no call can be made (no API key, no base URL), or undefined when ready. */
  problem(): string | undefined;
  client(nodeId: string, overrides?: { mode?: CallMode; model?: string }): LlmClient;
  /** What the node paid in this run (undefined when it sent nothing). */
  spendOfNode(nodeId: string): LlmSpend | undefined;
  /** What this run's LLM calls sent, reused and cost so far (shown with the progress of LLM nodes). */
  progress?(): LlmProgress;
}

export interface ExecuteOptions {
  store: Store;
  graph: PipelineGraph;
  runId: string;
  /** '' when no variant is applied. */
  variant: string;
  reporter: Reporter;
  /** Aborted on the first Ctrl-C: start nothing new, let in-flight work finish and commit. */
  drain: AbortSignal;
  only?: readonly string[];
  force?: readonly string[];
  /** Nodes running at once. */
  jobs?: number;
  llm?: LlmProvision;
  /** Plan only: run nothing but cheap nodes, estimate the rest. */
  plan?: boolean;
  /** Share of a node's items allowed to fail (0 to 1) when the node sets no `max_failed` of its own; default 0. */
  maxFailed?: number;
}

export type OutcomeState = NodeState | 'will-run' | 'blocked';

export interface NodeOutcome {
  id: string;
  type: string;
  state: OutcomeState;
  key?: NodeKey;
  record?: NodeKeyRecord;
  /** What changed since this node's last run in this pipeline and variant. */
  explain: string[];
  ms: number;
  items: ItemTotals;
  outputs?: Record<string, OutputRecord>;
  stats?: NodeStats;
  estimate?: NodeEstimate;
  diagnostic?: Diagnostic;
}

export interface ExecuteResult {
  outcomes: Map<string, NodeOutcome>;
  status: 'ok' | 'failed' | 'interrupted';
  /** The run stopped early because its LLM budget was spent. */
  budgetSpent: boolean;
  /** Nodes that left more failed items than they allow; the run's status is then 'failed'. */
  tooManyFailed: string[];
}

const LOCK_POLL_MS = 200;
const HEARTBEAT_MS = 10_000;

export async function execute(options: ExecuteOptions): Promise<ExecuteResult> {
  const { store, graph, reporter } = options;
  const runs = new RunStore(store);
  const itemStore = new ItemStore(store);
  const fileDigests = new FileDigests(store);
  const pipelinePath = graph.pipeline.file;
  const selected = selectNodes(graph, options.only);
  const force = new Set(options.force ?? []);
  const outcomes = new Map<string, NodeOutcome>();
  const lastKeys = runs.lastKeys(pipelinePath, options.variant);
  const promises = new Map<string, Promise<NodeOutcome>>();
  const heldLocks = new Set<string>();
  const heartbeat = setInterval(() => runs.beat(heldLocks), HEARTBEAT_MS);
  heartbeat.unref();
  const slots = new Semaphore(Math.max(1, options.jobs ?? 2));
  // Every in-flight item may listen for the drain; hundreds at once are expected, not a leak.
  setMaxListeners(0, options.drain);
  const emit = (event: EngineEvent) => reporter(event);
  const allowedShare = (id: string) => graph.pipeline.nodes[id]?.maxFailed ?? options.maxFailed ?? 0;
  const failuresAllowed = (outcome: NodeOutcome) => failureShare(outcome.items) <= allowedShare(outcome.id);

  const processNode = async (node: PlannedNode): Promise<NodeOutcome> => {
    const upstream = await Promise.all(node.inputs.map(async (input) => ({ input, outcome: await promises.get(input.from)! })));
    const base = { id: node.id, type: node.type.type, explain: [] as string[], ms: 0, items: emptyTotals() };
    const unusable = upstream.find(({ outcome }) => !['cached', 'ran', 'partial'].includes(outcome.state));
    if (unusable) {
      const state: OutcomeState = options.plan ? (unusable.outcome.state === 'will-run' || unusable.outcome.state === 'blocked' ? 'will-run' : 'blocked') : 'skipped';
      const outcome: NodeOutcome = { ...base, state, explain: options.plan ? [`waits for ${unusable.input.from}`] : [] };
      if (!options.plan) finish(outcome);
      return outcome;
    }
    const held = options.plan ? undefined : upstream.find(({ outcome }) => outcome.state === 'partial' && !failuresAllowed(outcome));
    if (held) {
      const { failed } = held.outcome.items;
      const outcome: NodeOutcome = { ...base, state: 'skipped' };
      finish(outcome, `not run: ${held.input.from} left ${failed} failed item(s) (${percent(failureShare(held.outcome.items))}, more than its max_failed of ${percent(allowedShare(held.input.from))}).`);
      return outcome;
    }
    const inputDigests: Record<string, Digest> = {};
    for (const { input, outcome } of upstream) inputDigests[input.port] = outcome.outputs![input.fromPort]!.digest;
    let fileDigestList: Digest[];
    try {
      fileDigestList = await Promise.all(node.files.map((f) => fileDigests.digest(f)));
    } catch (error) {
      await graph.pipeline.locations.ready?.();
      const err = error as NodeJS.ErrnoException;
      const missing = node.files.find((f) => err.path === f) ?? err.path ?? node.files[0] ?? '';
      const problem = err.code === 'ENOENT' ? `file ${missing} does not exist` : err.code === 'EISDIR' ? `${missing} is a folder, not a file` : `cannot read ${missing} (${err.code ?? err.message})`;
      const outcome: NodeOutcome = { ...base, state: 'failed', diagnostic: nodeDiagnostic(graph, node, problem, undefined, 'Check the path (relative paths are relative to the pipeline file), or set SYNTHCSE_DATA to your data folder.') };
      finish(outcome);
      return outcome;
    }
    const record: NodeKeyRecord = {
      keyFormat: 1,
      type: node.type.type,
      version: node.type.version,
      params: node.params,
      inputs: inputDigests,
      files: fileDigestList,
      llm: node.type.uses?.llm ? (options.llm?.key ?? null) : null,
    };
    const key = nodeKey(record);
    const fileNames = node.files.map((f) => relative(graph.pipeline.dir, f));
    const last = lastKeys.get(node.id);

    const cached = force.has(node.id) ? undefined : usableRun(store, runs, key);
    if (cached) {
      const outcome: NodeOutcome = { ...base, key, record, state: 'cached', outputs: cached.outputs, stats: cached.stats };
      if (!options.plan) {
        if (last?.key !== key) runs.setLastKey(pipelinePath, options.variant, node.id, key, record, fileNames);
        finish(outcome);
      }
      return outcome;
    }
    const explain = last?.key === key ? [] : explainChange(last?.record(), record, fileNames);
    const keyed = { ...base, key, record, explain };
    if (options.plan && !node.type.cheap) {
      const estimate = await estimateNode(node, upstream, keyed);
      return { ...keyed, state: 'will-run', estimate, explain: force.has(node.id) ? ['forced', ...explain] : explain };
    }

    await slots.acquire();
    try {
      if (options.drain.aborted) {
        const outcome: NodeOutcome = { ...keyed, state: 'interrupted' };
        finish(outcome);
        return outcome;
      }
      const lockName = `node:${key}`;
      let waited = false;
      while (!runs.tryLock(lockName)) {
        if (!waited) emit({ type: 'log', node: node.id, level: 'info', message: 'another synthcse process is computing this node; waiting for it' });
        waited = true;
        await sleep(LOCK_POLL_MS);
        const done = force.has(node.id) ? undefined : usableRun(store, runs, key);
        if (done) {
          const outcome: NodeOutcome = { ...keyed, state: 'cached', outputs: done.outputs, stats: done.stats, explain: [] };
          runs.setLastKey(pipelinePath, options.variant, node.id, key, record, fileNames);
          finish(outcome);
          return outcome;
        }
        if (options.drain.aborted) {
          const outcome: NodeOutcome = { ...keyed, state: 'interrupted' };
          finish(outcome);
          return outcome;
        }
      }
      heldLocks.add(lockName);
      try {
        // Another process may have finished it between our check and the lock.
        const done = force.has(node.id) ? undefined : usableRun(store, runs, key);
        if (done) {
          const outcome: NodeOutcome = { ...keyed, state: 'cached', outputs: done.outputs, stats: done.stats, explain: [] };
          runs.setLastKey(pipelinePath, options.variant, node.id, key, record, fileNames);
          finish(outcome);
          return outcome;
        }
        return await runNode(node, upstream, keyed, fileNames);
      } finally {
        heldLocks.delete(lockName);
        runs.unlock(lockName);
      }
    } finally {
      slots.release();
    }
  };

  const loadInputs = (node: PlannedNode, upstream: { input: { port: string; fromPort: string }; outcome: NodeOutcome }[]) => {
    const inputs: Record<string, PortValue | undefined> = {};
    for (const { input, outcome } of upstream) inputs[input.port] = loadValue(store, outcome.outputs![input.fromPort]!);
    for (const port of Object.keys(node.type.inputs)) if (!(port in inputs)) inputs[port] = undefined;
    return inputs;
  };

  const estimateNode = async (
    node: PlannedNode,
    upstream: { input: { port: string; fromPort: string }; outcome: NodeOutcome }[],
    keyed: Omit<NodeOutcome, 'state'> & { key: NodeKey; record: NodeKeyRecord },
  ): Promise<NodeEstimate | undefined> => {
    if (!node.type.estimates) return undefined;
    const { ctx, cleanup } = makeContext(node, keyed.key, keyed.items, {});
    try {
      const implementation = await graph.implementation(node.type.type);
      return await implementation.estimate!(loadInputs(node, upstream) as InputValues<Record<string, InputPortSpec>>, node.params, ctx);
    } catch (error) {
      return { items: 0, cachedItems: 0, note: `no estimate: ${(error as Error).message.split('\n')[0]}` };
    } finally {
      cleanup();
    }
  };

  const runNode = async (
    node: PlannedNode,
    upstream: { input: { port: string; fromPort: string }; outcome: NodeOutcome }[],
    keyed: Omit<NodeOutcome, 'state'> & { key: NodeKey; record: NodeKeyRecord },
    fileNames: string[],
  ): Promise<NodeOutcome> => {
    const started = Date.now();
    emit({ type: 'node-start', node: node.id, nodeType: node.type.type, key: keyed.key });
    const totals = emptyTotals();
    const stats: NodeStats = {};
    const { ctx, cleanup } = makeContext(node, keyed.key, totals, stats);
    try {
      const inputs = loadInputs(node, upstream);
      const implementation = await graph.implementation(node.type.type);
      const produced = (await implementation.run(inputs as InputValues<Record<string, InputPortSpec>>, node.params, ctx)) as Record<string, Row[] | FileOutput | undefined>;
      if (totals.skipped > 0) {
        const outcome: NodeOutcome = { ...keyed, state: 'interrupted', ms: Date.now() - started, items: totals, stats, explain: keyed.explain };
        finish(outcome, totals.budgetSpent ? 'the LLM budget of this run is spent; raise --budget and run the same command to continue (paid answers are kept).' : undefined);
        return outcome;
      }
      const outputs: Record<string, OutputRecord> = {};
      for (const [port, spec] of Object.entries(node.type.outputs)) {
        const value = produced[port];
        const form = spec.form;
        if (form === 'rows') {
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
      const spend = options.llm?.spendOfNode(node.id);
      if (spend) stats.values = { ...(stats.values ?? {}), llm: spend as unknown as Json };
      const ms = Date.now() - started;
      const complete = totals.failed === 0;
      runs.putRun({ key: keyed.key, type: node.type.type, record: keyed.record, outputs, complete, failures: totals.failed, stats, ms, finished: Date.now() });
      runs.setLastKey(pipelinePath, options.variant, node.id, keyed.key, keyed.record, fileNames);
      const outcome: NodeOutcome = {
        ...keyed,
        state: complete ? 'ran' : 'partial',
        ms,
        items: totals,
        outputs,
        stats,
        explain: keyed.explain,
      };
      finish(outcome, complete ? undefined : failedItemsMessage(outcome, allowedShare(node.id)));
      return outcome;
    } catch (error) {
      if (options.plan && error instanceof PlanDeferred) return { ...keyed, state: 'will-run', ms: Date.now() - started, estimate: { items: 0, cachedItems: 0, note: error.message } };
      if (options.drain.aborted && !(error instanceof NodeUserError)) {
        // Stopped by Ctrl-C: what was committed (items, checkpoints) is kept for the next run.
        const outcome: NodeOutcome = { ...keyed, state: 'interrupted', ms: Date.now() - started, items: totals, stats };
        finish(outcome);
        return outcome;
      }
      await graph.pipeline.locations.ready?.();
      const outcome: NodeOutcome = { ...keyed, state: 'failed', ms: Date.now() - started, items: totals, stats, diagnostic: errorDiagnostic(graph, node, error) };
      finish(outcome);
      return outcome;
    } finally {
      cleanup();
    }
  };

  const llmProgress = (node: PlannedNode) => (node.type.uses?.llm && options.llm?.progress ? options.llm.progress.bind(options.llm) : undefined);

  const makeContext = (node: PlannedNode, key: NodeKey, totals: ItemTotals, stats: NodeStats) => {
    const temps: string[] = [];
    const tmpRoot = join(store.dir, 'tmp');
    const ctx: NodeContext<unknown> = {
      nodeId: node.id,
      options: node.options,
      signal: options.drain,
      cacheDir: store.dir,
      stats,
      log: {
        info: (message) => emit({ type: 'log', node: node.id, level: 'info', message }),
        warn: (message) => emit({ type: 'log', node: node.id, level: 'warn', message }),
      },
      progress: (label, total) => progressHandle(node.id, label, total, emit, llmProgress(node)),
      resolvePath: (path) => resolvePath(graph.pipeline.dir, path),
      tempDir: () => {
        mkdirSync(tmpRoot, { recursive: true });
        const dir = mkdtempSync(join(tmpRoot, `${node.id}-`));
        temps.push(dir);
        return dir;
      },
      mapItems: (items, spec) =>
        mapItems(items, spec, { itemStore, signal: options.drain, progress: (label, total) => progressHandle(node.id, label, total, emit, llmProgress(node)), totals }),
      memoFile: (memoKey, build) => memoFile(store, runs, memoKey, build, tmpRoot),
      memoFileExists: (memoKey) => memoFileLookup(store, digestJson(memoKey)) !== undefined,
      planning: options.plan === true,
      llm: (overrides) => {
        if (!options.llm) throw new NodeUserError('This node calls an LLM, but the pipeline has no `llm:` section.', undefined, 'Add an llm: section (provider, model) to the pipeline.');
        // Planning only prices requests, so it works before a key is set.
        const problem = options.plan ? undefined : options.llm.problem();
        if (problem) throw new NodeUserError(problem);
        return options.llm.client(node.id, overrides);
      },
      checkpoints: checkpointStore(store, key),
    };
    return { ctx, cleanup: () => temps.forEach((dir) => rmSync(dir, { recursive: true, force: true })) };
  };

  // History and last keys are bookkeeping: a failure to write them must not crash the run mid-way; it is reported
  // once, at the end, as a cache problem.
  let bookkeepingError: unknown;
  const flushBookkeeping = () => {
    try {
      runs.flushDeferred();
    } catch (error) {
      bookkeepingError ??= error;
    }
  };

  const finish = (outcome: NodeOutcome, message?: string) => {
    outcomes.set(outcome.id, outcome);
    if (outcome.state !== 'cached') queueMicrotask(flushBookkeeping);
    const state = outcome.state as NodeState;
    emit({
      type: 'node-end',
      node: outcome.id,
      nodeType: outcome.type,
      key: outcome.key ?? '',
      state,
      ms: outcome.ms,
      items: outcome.items,
      message: message ?? (outcome.diagnostic ? outcome.diagnostic.message : undefined),
    });
    // Only what this run paid: a cached node paid nothing now, whatever it cost when it was computed.
    const spend = outcome.state === 'cached' ? undefined : options.llm?.spendOfNode(outcome.id);
    runs.recordHistory({
      runId: options.runId,
      pipeline: pipelinePath,
      variant: options.variant,
      nodeId: outcome.id,
      type: outcome.type,
      key: outcome.key ?? '',
      state,
      ms: outcome.ms,
      itemsCached: outcome.items.cached,
      itemsRan: outcome.items.ran,
      itemsFailed: outcome.items.failed,
      failureReasons: outcome.items.failureReasons,
      at: Date.now(),
      ...(spend === undefined ? {} : { spend: spend as unknown as Json }),
    });
  };

  try {
    for (const id of graph.order) {
      if (!selected.has(id)) continue;
      const node = graph.nodes.get(id)!;
      promises.set(id, processNode(node));
    }
    const settled = await Promise.all(promises.values());
    for (const outcome of settled) if (!outcomes.has(outcome.id)) outcomes.set(outcome.id, outcome);
  } finally {
    clearInterval(heartbeat);
    flushBookkeeping();
  }
  if (bookkeepingError !== undefined) throw writeFailure(bookkeepingError);
  const states = [...outcomes.values()].map((o) => o.state);
  const status = states.includes('failed') ? 'failed' : states.includes('interrupted') || options.drain.aborted ? 'interrupted' : 'ok';
  const budgetSpent = [...outcomes.values()].some((o) => o.items.budgetSpent);
  const tooManyFailed = [...outcomes.values()].filter((o) => o.state === 'partial' && !failuresAllowed(o)).map((o) => o.id);
  return { outcomes, status: status === 'ok' && tooManyFailed.length > 0 ? 'failed' : status, budgetSpent, tooManyFailed };
}

type Row = { [key: string]: Json };

/** Failed items as a share of the items the node had (0 when it had none). */
export function failureShare(items: ItemTotals): number {
  const total = items.cached + items.ran + items.failed;
  return total === 0 ? 0 : items.failed / total;
}

function percent(share: number): string {
  return `${Number((share * 100).toFixed(1))}%`;
}

function failedItemsMessage(outcome: NodeOutcome, allowed: number): string {
  const share = failureShare(outcome.items);
  const verdict = share <= allowed ? `within its max_failed of ${percent(allowed)}` : `more than its max_failed of ${percent(allowed)}: nodes that read it do not run`;
  return `${outcome.items.failed} item(s) failed (${percent(share)}, ${verdict}).`;
}

function usableRun(store: Store, runs: RunStore, key: NodeKey) {
  const run = runs.getCompleted(key);
  if (!run) return undefined;
  for (const output of Object.values(run.outputs)) if (!outputPresent(store, output)) return undefined;
  return run;
}

/** The nodes to consider: all, or the --only nodes and everything upstream of them. */
function selectNodes(graph: PipelineGraph, only: readonly string[] | undefined): Set<string> {
  if (!only || only.length === 0) return new Set(graph.order);
  const unknown = only.filter((id) => !graph.nodes.has(id));
  if (unknown.length > 0) {
    throw new DiagnosticError([
      { severity: 'error', reason: 'usage', message: `--only names unknown node(s): ${unknown.join(', ')}.`, origin: 'command line', hint: `Nodes: ${graph.order.join(', ')}.` },
    ]);
  }
  const selected = new Set<string>();
  const visit = (id: string) => {
    if (selected.has(id)) return;
    selected.add(id);
    for (const input of graph.nodes.get(id)!.inputs) visit(input.from);
  };
  only.forEach(visit);
  return selected;
}

function progressHandle(node: string, label: string, total: number, emit: (e: EngineEvent) => void, llm?: () => LlmProgress): ProgressHandle {
  let done = 0;
  let lastEmit = 0;
  const send = (force: boolean) => {
    const now = Date.now();
    if (!force && now - lastEmit < 100) return;
    lastEmit = now;
    emit({ type: 'progress', node, label, done, total, ...(llm ? { llm: llm() } : {}) });
  };
  return {
    tick(n = 1) {
      done += n;
      send(done >= total);
    },
    setTotal(t) {
      total = t;
      send(true);
    },
    done() {
      if (done < total) send(true);
    },
  };
}

function checkpointStore(store: Store, key: NodeKey): CheckpointStore {
  return {
    load(name) {
      const row = store.sql('SELECT digest FROM checkpoints WHERE node_key = ? AND name = ?').get(key, name) as { digest: Digest } | undefined;
      if (!row) return undefined;
      try {
        return store.getBytes(row.digest);
      } catch {
        return undefined; // a damaged checkpoint means starting that phase again, not failing
      }
    },
    save(name, data) {
      const digest = store.putBytes(data);
      store.sql('INSERT OR REPLACE INTO checkpoints (node_key, name, digest, at) VALUES (?, ?, ?, ?)').run(key, name, digest, Date.now());
    },
  };
}

/** Whether memoFile(memoKey) is in the cache (for `plan`: which downloads are done already). */
export function memoFileCached(store: Store, memoKey: Json): boolean {
  return memoFileLookup(store, digestJson(memoKey)) !== undefined;
}

function memoFileLookup(store: Store, key: Digest): string | undefined {
  const row = store.sql('SELECT digest FROM memo_files WHERE key = ?').get(key) as { digest: Digest } | undefined;
  if (!row) return undefined;
  try {
    return store.verifiedFilePath(row.digest);
  } catch {
    return undefined;
  }
}

/** A file built once per key into the store (see NodeContext.memoFile); also used by commands outside a run. */
export async function memoFile(store: Store, runs: RunStore, memoKey: Json, build: (outPath: string) => Promise<void>, tmpRoot: string): Promise<string> {
  const key = digestJson(memoKey);
  const lookup = () => memoFileLookup(store, key);
  const found = lookup();
  if (found) return found;
  const lockName = `memo:${key}`;
  while (!runs.tryLock(lockName)) {
    await sleep(LOCK_POLL_MS);
    const done = lookup();
    if (done) return done;
  }
  try {
    const again = lookup();
    if (again) return again;
    mkdirSync(tmpRoot, { recursive: true });
    const dir = mkdtempSync(join(tmpRoot, 'memo-'));
    try {
      const out = join(dir, 'artifact');
      await build(out);
      const digest = await hashFile(out);
      store.putFile(out, digest);
      store.sql('INSERT OR REPLACE INTO memo_files (key, digest) VALUES (?, ?)').run(key, digest);
      return store.verifiedFilePath(digest);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    runs.unlock(lockName);
  }
}

function nodeDiagnostic(graph: PipelineGraph, node: PlannedNode, message: string, param?: readonly (string | number)[], hint?: string): Diagnostic {
  return {
    severity: 'error',
    reason: 'node-failed',
    message: `Node "${node.id}" (${node.type.type}@${node.type.version}): ${message}`,
    location: graph.pipeline.locations.find(['nodes', node.id, ...(param ? ['with', ...param] : [])]),
    hint,
  };
}

function errorDiagnostic(graph: PipelineGraph, node: PlannedNode, error: unknown): Diagnostic {
  if (error instanceof NodeUserError) return nodeDiagnostic(graph, node, error.message, error.param, error.hint);
  if (error instanceof LlmEndpointError) return { ...nodeDiagnostic(graph, node, error.message, undefined, error.hint), reason: 'llm-unreachable' };
  if (error instanceof StoreError) return { ...nodeDiagnostic(graph, node, error.message, undefined, error.hint), reason: 'cache-problem' };
  if (error instanceof DiagnosticError) return error.diagnostics[0]!;
  const err = error as NodeJS.ErrnoException;
  if (isWriteFailure(err)) {
    return { ...nodeDiagnostic(graph, node, `the cache could not be written (${err.code}): ${err.message}`, undefined, WRITE_FAILURE_HINT), reason: 'cache-problem' };
  }
  if (err && (err.code === 'EACCES' || err.code === 'EROFS')) {
    return {
      ...nodeDiagnostic(graph, node, `cannot write: ${err.message}`, undefined, 'Check the permissions of the cache directory, then run again.'),
      reason: 'cache-problem',
    };
  }
  const message = err instanceof Error ? err.message : String(error);
  const detail = process.env.SYNTHCSE_DEBUG ? `\n${(err as Error)?.stack ?? ''}` : '';
  return nodeDiagnostic(graph, node, `${message}${detail}`, undefined, process.env.SYNTHCSE_DEBUG ? undefined : 'This looks like a bug in the node type; set SYNTHCSE_DEBUG=1 for the stack trace and report it.');
}

function writeFailure(error: unknown): StoreError {
  const err = error as NodeJS.ErrnoException;
  return new StoreError('write-failed', `The cache could not be written (${err.code ?? 'error'}): ${err.message}`, WRITE_FAILURE_HINT);
}

class Semaphore {
  private waiting: (() => void)[] = [];
  constructor(private free: number) {}
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
