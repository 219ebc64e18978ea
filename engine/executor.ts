/**
 * Runs (or plans) a validated pipeline graph: for each node, in dependency order and with bounded concurrency, plan
 * its key (node-key.ts), use the cached run when there is one, else take the node's lock (scheduler.ts) and run it
 * (node-runner.ts). A node is recorded as done only after its outputs are committed; a node key is locked while it
 * runs so two processes never compute (or pay for) the same node at once. docs/architecture.md describes the parts.
 */
import { setMaxListeners } from 'node:events';
import type { Store } from '../cache/store.js';
import type { EngineEvent, LlmProgress, Reporter } from './events.js';
import { emptyTotals, ItemStore } from './items.js';
import type { Digest, Json, NodeKey } from './json.js';
import { explainChange, FileDigests } from './keys.js';
import type { CallMode, LlmClient, LlmServiceKey, LlmSpend } from './llm/types.js';
import { planKey } from './node-key.js';
import { estimateNode, runNode, type RunnerDeps, type Upstream } from './node-runner.js';
import type { ContextDeps } from './node-context.js';
import { failureShare, percent, nodeDiagnostic, writeFailure, type KeyedOutcome, type NodeOutcome, type OutcomeState } from './outcome.js';
import type { PipelineGraph, PlannedNode } from './pipeline/graph.js';
import { RunStore, type NodeState } from './run-store.js';
import { selectNodes, Semaphore, withLock } from './scheduler.js';
import { outputPresent } from './values.js';

export type { NodeOutcome, OutcomeState } from './outcome.js';
export { memoFile, memoFileCached } from './node-context.js';
export { failureShare } from './outcome.js';

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
  /** With --redis: item work for `synthcse worker` processes. */
  remoteItems?: ContextDeps['remoteItems'];
  /** Plan only: run nothing but cheap nodes, estimate the rest. */
  plan?: boolean;
  /** Share of a node's items allowed to fail (0 to 1) when the node sets no `max_failed` of its own; default 0. */
  maxFailed?: number;
}

export interface ExecuteResult {
  outcomes: Map<string, NodeOutcome>;
  status: 'ok' | 'failed' | 'interrupted';
  /** The run stopped early because its LLM budget was spent. */
  budgetSpent: boolean;
  /** Nodes that left more failed items than they allow; the run's status is then 'failed'. */
  tooManyFailed: string[];
}

const HEARTBEAT_MS = 10_000;

export async function execute(options: ExecuteOptions): Promise<ExecuteResult> {
  const { store, graph, reporter } = options;
  const runs = new RunStore(store);
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
  const fileNamesOf = new Map<string, string[]>();
  const setLastKey = (node: PlannedNode, keyed: KeyedOutcome) =>
    runs.setLastKey(pipelinePath, options.variant, node.id, keyed.key, keyed.record, fileNamesOf.get(node.id) ?? []);
  const deps: RunnerDeps = { store, runs, itemStore: new ItemStore(store), graph, drain: options.drain, emit, llm: options.llm, plan: options.plan, setLastKey, allowedShare, ...(options.remoteItems ? { remoteItems: options.remoteItems } : {}) };
  const cachedRun = (node: PlannedNode, key: NodeKey) => (force.has(node.id) ? undefined : usableRun(store, runs, key));

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

  const finish = (outcome: NodeOutcome, message?: string): NodeOutcome => {
    outcomes.set(outcome.id, outcome);
    if (outcome.state !== 'cached') queueMicrotask(flushBookkeeping);
    const state = outcome.state as NodeState;
    emit({ type: 'node-end', node: outcome.id, nodeType: outcome.type, key: outcome.key ?? '', state, ms: outcome.ms, items: outcome.items, message: message ?? outcome.diagnostic?.message });
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
    return outcome;
  };

  /** The cached outcome of a node another process has just finished, or undefined. */
  const finishedElsewhere = (node: PlannedNode, keyed: KeyedOutcome): NodeOutcome | undefined => {
    const done = cachedRun(node, keyed.key);
    if (!done) return undefined;
    setLastKey(node, keyed);
    return finish({ ...keyed, state: 'cached', outputs: done.outputs, stats: done.stats, explain: [] });
  };

  const processNode = async (node: PlannedNode): Promise<NodeOutcome> => {
    const upstream: Upstream[] = await Promise.all(node.inputs.map(async (input) => ({ input, outcome: await promises.get(input.from)! })));
    const base = { id: node.id, type: node.type.type, explain: [] as string[], ms: 0, items: emptyTotals() };
    const unusable = upstream.find(({ outcome }) => !['cached', 'ran', 'partial'].includes(outcome.state));
    if (unusable) {
      if (!options.plan) return finish({ ...base, state: 'skipped' });
      const state: OutcomeState = unusable.outcome.state === 'will-run' || unusable.outcome.state === 'blocked' ? 'will-run' : 'blocked';
      return { ...base, state, explain: [`waits for ${unusable.input.from}`] };
    }
    const held = options.plan ? undefined : upstream.find(({ outcome }) => outcome.state === 'partial' && !failuresAllowed(outcome));
    if (held) {
      const { failed } = held.outcome.items;
      const message = `not run: ${held.input.from} left ${failed} failed item(s) (${percent(failureShare(held.outcome.items))}, more than its max_failed of ${percent(allowedShare(held.input.from))}).`;
      return finish({ ...base, state: 'skipped' }, message);
    }
    const inputDigests: Record<string, Digest> = {};
    for (const { input, outcome } of upstream) inputDigests[input.port] = outcome.outputs![input.fromPort]!.digest;
    const planned = await planKey(graph, node, inputDigests, fileDigests, options.llm?.key);
    if ('problem' in planned) {
      await graph.pipeline.locations.ready?.();
      const hint = 'Check the path (relative paths are relative to the pipeline file), or set SYNTHCSE_DATA to your data folder.';
      return finish({ ...base, state: 'failed', diagnostic: nodeDiagnostic(graph, node, planned.problem, undefined, hint) });
    }
    const { key, record, fileNames } = planned;
    fileNamesOf.set(node.id, fileNames);
    const last = lastKeys.get(node.id);

    const cached = cachedRun(node, key);
    if (cached) {
      const outcome: NodeOutcome = { ...base, key, record, state: 'cached', outputs: cached.outputs, stats: cached.stats };
      if (options.plan) return outcome;
      if (last?.key !== key) setLastKey(node, { ...outcome, key, record });
      return finish(outcome);
    }
    const explain = last?.key === key ? [] : explainChange(last?.record(), record, fileNames, last?.fileNames());
    const keyed: KeyedOutcome = { ...base, key, record, explain };
    if (options.plan && !node.type.cheap) {
      const estimate = await estimateNode(deps, node, upstream, keyed);
      return { ...keyed, state: 'will-run', estimate, explain: force.has(node.id) ? ['forced', ...explain] : explain };
    }

    await slots.acquire();
    try {
      const interrupted = () => (options.drain.aborted ? finish({ ...keyed, state: 'interrupted' }) : undefined);
      const stopped = interrupted();
      if (stopped) return stopped;
      return await withLock(
        runs,
        heldLocks,
        `node:${key}`,
        {
          onWait: () => emit({ type: 'log', node: node.id, level: 'info', message: 'another synthcse process is computing this node; waiting for it' }),
          whileWaiting: () => finishedElsewhere(node, keyed),
          stop: interrupted,
        },
        async () => {
          // Another process may have finished it between our check and the lock.
          const done = finishedElsewhere(node, keyed);
          if (done) return done;
          const { outcome, message } = await runNode(deps, node, upstream, keyed);
          // A cheap node that cannot run while planning (PlanDeferred) is estimated, not finished.
          return outcome.state === 'will-run' ? outcome : finish(outcome, message);
        },
      );
    } finally {
      slots.release();
    }
  };

  try {
    for (const id of graph.order) {
      if (!selected.has(id)) continue;
      promises.set(id, processNode(graph.nodes.get(id)!));
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

function usableRun(store: Store, runs: RunStore, key: NodeKey) {
  const run = runs.getCompleted(key);
  if (!run) return undefined;
  for (const output of Object.values(run.outputs)) if (!outputPresent(store, output)) return undefined;
  return run;
}
