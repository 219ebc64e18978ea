/**
 * Item-level memoization. Each item of a mapped dataset has its own key; results are looked up in bulk and written
 * in small transactions as items finish: finished items are committed at the next turn of the event loop, together
 * with whatever else finished in the same turn, so a killed run loses only the items in flight while cheap items
 * still share transactions.
 */
import type { Store } from '../cache/store.js';
import type { ItemKey, Json } from './json.js';
import { itemKeyFromPrefix, itemKeyPrefix, type ItemScope } from './keys.js';
import type { ItemFailure, ItemMapResult, ItemMapSpec, ProgressHandle } from './node-type.js';
import { LlmCallError, LlmEndpointError } from './llm/types.js';

const LOOKUP_CHUNK = 500;
// Cheap items finish in one synchronous burst; committing a random-keyed index dirties a page per item, so
// commits are large when many items finish without the event loop turning in between.
const FLUSH_EVERY_ITEMS = 8192;

export interface ItemTotals {
  cached: number;
  ran: number;
  failed: number;
  skipped: number;
  failureReasons: Record<string, number>;
  /** Items were left unstarted because the run's LLM budget was spent (not because of Ctrl-C). */
  budgetSpent: boolean;
}

export function emptyTotals(): ItemTotals {
  return { cached: 0, ran: 0, failed: 0, skipped: 0, failureReasons: {}, budgetSpent: false };
}

interface PendingWrite {
  key: ItemKey;
  ok: 0 | 1;
  value: string | null;
  reason: string | null;
}

export class ItemStore {
  constructor(private readonly store: Store) {}

  /** Successful results for the given keys. Failed items are not hits: a rerun retries them. */
  lookup(keys: readonly ItemKey[]): Map<ItemKey, string> {
    const found = new Map<ItemKey, string>();
    for (let start = 0; start < keys.length; start += LOOKUP_CHUNK) {
      const chunk = keys.slice(start, start + LOOKUP_CHUNK);
      const stmt = this.store.sql(`SELECT key, value FROM items WHERE ok = 1 AND key IN (${chunk.map(() => '?').join(',')})`);
      for (const row of stmt.all(...chunk) as { key: ItemKey; value: string }[]) found.set(row.key, row.value);
    }
    return found;
  }

  write(batch: readonly PendingWrite[]): void {
    if (batch.length === 0) return;
    const now = Date.now();
    this.store.transaction(() => {
      const insert = this.store.sql('INSERT OR REPLACE INTO items (key, ok, value, reason, at) VALUES (?, ?, ?, ?, ?)');
      for (const w of batch) insert.run(w.key, w.ok, w.value, w.reason, now);
    });
  }
}

export async function mapItems<I, R extends Json>(
  items: readonly I[],
  spec: ItemMapSpec<I, R>,
  deps: { itemStore: ItemStore; scope: ItemScope; signal: AbortSignal; progress: (label: string, total: number) => ProgressHandle; totals: ItemTotals },
): Promise<ItemMapResult<R>> {
  const keys: ItemKey[] = new Array(items.length);
  const prefix = itemKeyPrefix(deps.scope, spec.namespace);
  for (let i = 0; i < items.length; i++) keys[i] = itemKeyFromPrefix(prefix, spec.key(items[i]!, i, 0));
  const attempts = Math.max(1, spec.attempts ?? 1);
  const hits = deps.itemStore.lookup(keys);
  const results: (R | undefined)[] = new Array(items.length);
  const todo: number[] = [];
  let cached = 0;
  for (let i = 0; i < items.length; i++) {
    const hit = hits.get(keys[i]!);
    if (hit === undefined) {
      todo.push(i);
      continue;
    }
    try {
      results[i] = JSON.parse(hit) as R;
      cached++;
    } catch {
      todo.push(i); // an unreadable entry is a miss
    }
  }
  const progress = deps.progress(spec.label ?? spec.namespace, items.length);
  progress.tick(cached);

  const failures: ItemFailure[] = [];
  let stopScheduling = false;
  let ran = 0;
  let skipped = 0;
  let pending: PendingWrite[] = [];
  let flushScheduled = false;
  // A failed commit (disk full, I/O error) stops the map; it is rethrown once in-flight items have settled.
  let writeError: unknown;
  let fatalError: unknown;
  const flush = () => {
    flushScheduled = false;
    const batch = pending;
    pending = [];
    try {
      deps.itemStore.write(batch);
    } catch (error) {
      writeError ??= error;
      stopScheduling = true;
    }
  };
  const scheduleFlush = () => {
    if (pending.length >= FLUSH_EVERY_ITEMS) flush();
    else if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  };
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      if (stopScheduling || deps.signal.aborted) return;
      const index = todo[next++]!;
      let key = keys[index]!;
      let settled = true;
      for (let attempt = 0; ; ) {
        try {
          const value = await spec.run(items[index]!, index, deps.signal, attempt);
          results[index] = value;
          pending.push({ key, ok: 1, value: JSON.stringify(value), reason: null });
          ran++;
          break;
        } catch (error) {
          if (error instanceof LlmCallError && (error.reason === 'budget-exceeded' || error.reason === 'aborted')) {
            // Not the item's fault: leave it unattempted and stop starting new ones.
            if (error.reason === 'budget-exceeded') deps.totals.budgetSpent = true;
            stopScheduling = true;
            settled = false;
            break;
          }
          if (error instanceof LlmEndpointError) {
            // The endpoint itself is unusable: every other item would fail the same way.
            fatalError ??= error;
            stopScheduling = true;
            settled = false;
            break;
          }
          const reason = describeFailure(error);
          pending.push({ key, ok: 0, value: null, reason });
          if (attempt + 1 < attempts && !(error instanceof LlmCallError)) {
            attempt++;
            key = itemKeyFromPrefix(prefix, spec.key(items[index]!, index, attempt));
            const hit = deps.itemStore.lookup([key]).get(key);
            if (hit !== undefined) {
              results[index] = JSON.parse(hit) as R;
              ran++;
              break;
            }
            continue;
          }
          failures.push({ index, key, reason });
          break;
        }
      }
      if (!settled) continue;
      progress.tick(1);
      scheduleFlush();
    }
  };
  const concurrency = Math.max(1, Math.min(spec.concurrency ?? 1, todo.length || 1));
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    flush();
    progress.done();
  }
  if (writeError !== undefined) throw writeError;
  if (fatalError !== undefined) throw fatalError;
  skipped = todo.length - ran - failures.length;
  deps.totals.cached += cached;
  deps.totals.ran += ran;
  deps.totals.failed += failures.length;
  deps.totals.skipped += skipped;
  for (const f of failures) deps.totals.failureReasons[f.reason] = (deps.totals.failureReasons[f.reason] ?? 0) + 1;
  return { results, failures, cached, ran, skipped };
}

/** A short, stable reason to count failures by (no stack, no item-specific text past the first line). */
function describeFailure(error: unknown): string {
  if (error instanceof LlmCallError) return error.reason;
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.slice(0, 200) || 'failed';
}
