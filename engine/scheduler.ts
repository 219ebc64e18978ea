/**
 * Scheduling: which nodes a run considers (--only), how many run at once, and the cross-process lock on a node key
 * (another synthcse process computing the same node is waited for, and its result used).
 */
import { DiagnosticError } from './diagnostics.js';
import type { PipelineGraph } from './pipeline/graph.js';
import type { RunStore } from './run-store.js';

export const LOCK_POLL_MS = 200;

/** The nodes to consider: all, or the --only nodes and everything upstream of them. */
export function selectNodes(graph: PipelineGraph, only: readonly string[] | undefined): Set<string> {
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

/**
 * Holds the lock named `name` while `work` runs. While another process holds it, `whileWaiting` is asked after
 * each poll whether waiting can end with a result (the other process finished); `stop` ends the wait early.
 */
export async function withLock<T>(
  runs: RunStore,
  held: Set<string>,
  name: string,
  hooks: { onWait(): void; whileWaiting(): T | undefined; stop(): T | undefined },
  work: () => Promise<T>,
): Promise<T> {
  let waited = false;
  while (!runs.tryLock(name)) {
    if (!waited) hooks.onWait();
    waited = true;
    await sleep(LOCK_POLL_MS);
    const done = hooks.whileWaiting() ?? hooks.stop();
    if (done !== undefined) return done;
  }
  held.add(name);
  try {
    return await work();
  } finally {
    held.delete(name);
    runs.unlock(name);
  }
}

export class Semaphore {
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

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
