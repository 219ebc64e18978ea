/**
 * The NodeContext a running node gets: logging and progress as engine events, item memoization scoped to the node's
 * type, version, LLM service and code, memoized files, checkpoints scoped to the node's key, private temp folders.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import type { Store } from '../cache/store.js';
import type { EngineEvent, LlmProgress } from './events.js';
import { mapItems, streamItems, type ItemStore, type ItemTotals } from './items.js';
import { digestJson, type Digest, type Json, type NodeKey } from './json.js';
import { hashFile, itemKeyFromPrefix, itemKeyPrefix, type ItemScope } from './keys.js';
import { LlmCallError } from './llm/types.js';
import type { LlmProvision } from './executor.js';
import { NodeUserError, type CheckpointStore, type ItemWorkSpec, type NodeContext, type NodeStats, type ProgressHandle } from './node-type.js';
import type { PipelineGraph, PlannedNode } from './pipeline/graph.js';
import type { RunStore } from './run-store.js';
import { sleep, LOCK_POLL_MS } from './scheduler.js';
import type { ItemJobData, ItemJobResult } from './workers/item-job.js';
import type { JobQueue } from './workers/job-queue.js';

export interface ContextDeps {
  store: Store;
  runs: RunStore;
  itemStore: ItemStore;
  graph: PipelineGraph;
  drain: AbortSignal;
  emit: (event: EngineEvent) => void;
  llm?: LlmProvision;
  plan?: boolean;
  /** With --redis: the queue of item work for `synthcse worker` processes (connected on first use). */
  remoteItems?: () => Promise<JobQueue<ItemJobData, ItemJobResult>>;
}

export function makeContext(
  deps: ContextDeps,
  node: PlannedNode,
  key: NodeKey,
  scope: ItemScope,
  totals: ItemTotals,
  stats: NodeStats,
): { ctx: NodeContext<unknown>; cleanup: () => void } {
  const { store, runs, emit } = deps;
  const temps: string[] = [];
  const tmpRoot = join(store.dir, 'tmp');
  const llmProgress = node.type.uses?.llm && deps.llm?.progress ? deps.llm.progress.bind(deps.llm) : undefined;
  const progress = (label: string, total: number) => progressHandle(node.id, label, total, emit, llmProgress);
  const ctx: NodeContext<unknown> = {
    nodeId: node.id,
    options: node.options,
    signal: deps.drain,
    cacheDir: store.dir,
    stats,
    log: {
      info: (message) => emit({ type: 'log', node: node.id, level: 'info', message }),
      warn: (message) => emit({ type: 'log', node: node.id, level: 'warn', message }),
    },
    progress,
    resolvePath: (path) => resolvePath(deps.graph.pipeline.dir, path),
    tempDir: () => {
      mkdirSync(tmpRoot, { recursive: true });
      const dir = mkdtempSync(join(tmpRoot, `${node.id}-`));
      temps.push(dir);
      return dir;
    },
    mapItems: (items, spec) => mapItems(items, spec, { itemStore: deps.itemStore, scope, signal: deps.drain, progress, totals }),
    mapItemWork: async <I>(items: readonly I[], spec: ItemWorkSpec<I>) => {
      const run = await itemWorkRunner(deps, node, scope, spec);
      return mapItems(items, { ...spec, run }, { itemStore: deps.itemStore, scope, signal: deps.drain, progress, totals });
    },
    streamItems: (items, spec) => streamItems(items, spec, { itemStore: deps.itemStore, scope, signal: deps.drain, progress, totals }),
    memoFile: (memoKey, build) => memoFile(store, runs, memoKey, build, tmpRoot),
    memoFileExists: (memoKey) => memoFileCached(store, memoKey),
    planning: deps.plan === true,
    llm: (overrides) => {
      if (!deps.llm) throw new NodeUserError('This node calls an LLM, but the pipeline has no `llm:` section.', undefined, 'Add an llm: section (provider, model) to the pipeline.');
      // Planning only prices requests, so it works before a key is set.
      const problem = deps.plan ? undefined : deps.llm.problem();
      if (problem) throw new NodeUserError(problem);
      return deps.llm.client(node.id, overrides);
    },
    checkpoints: checkpointStore(store, key),
  };
  return { ctx, cleanup: () => temps.forEach((dir) => rmSync(dir, { recursive: true, force: true })) };
}

/** How one item of a mapItemWork runs: the node type's itemWork here, or a job for the workers (job id = item key). */
async function itemWorkRunner<I>(deps: ContextDeps, node: PlannedNode, scope: ItemScope, spec: ItemWorkSpec<I>) {
  const implementation = await deps.graph.implementation(node.type.type);
  const work = implementation.itemWork?.[spec.namespace];
  if (work === undefined) throw new Error(`Internal error: node type "${node.type.type}" calls mapItemWork("${spec.namespace}") but has no itemWork["${spec.namespace}"]`);
  if (deps.remoteItems === undefined) return (item: I, index: number, signal: AbortSignal, attempt: number) => work(spec.data(item, index, attempt), signal);
  const queue = await deps.remoteItems();
  const prefix = itemKeyPrefix(scope, spec.namespace);
  const plugins = deps.graph.pipeline.plugins;
  return async (item: I, index: number, signal: AbortSignal, attempt: number) => {
    const key = itemKeyFromPrefix(prefix, spec.key(item, index, attempt));
    const { value } = await queue.run(key, { scope, plugins, namespace: spec.namespace, data: spec.data(item, index, attempt) }, signal);
    // mapItems commits the value before the queue's next upkeep, which removes the job.
    queue.committed(key);
    return value;
  };
}

/** Item work stopped by the run (not the item's fault): mapItems leaves such items unattempted, as it does LLM calls. */
export function itemWorkAborted(message: string): Error {
  return new LlmCallError('aborted', message);
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
