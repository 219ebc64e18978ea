/**
 * Item-level memoization. Each item of a mapped dataset has its own key. Items are taken from their source a window
 * at a time: keyed and looked up in bulk as they arrive, run with bounded concurrency, committed in small
 * transactions as they finish (finished items are committed at the next turn of the event loop, together with
 * whatever else finished in the same turn, so a killed run loses only the items in flight while cheap items still
 * share transactions), and given to the caller in input order. Memory holds one window of items, keys and results,
 * whatever the number of items.
 */
import type { Store } from '../cache/store.js';
import type { ItemKey, Json } from './json.js';
import { itemKeyFromPrefix, itemKeyPrefix, type ItemScope } from './keys.js';
import type { ItemCounts, ItemFailure, ItemMapResult, ItemMapSpec, ItemOutcome, ItemStream, ProgressHandle } from './node-type.js';
import { LlmCallError, LlmEndpointError } from './llm/types.js';

const LOOKUP_CHUNK = 500;
// Cheap items finish in one synchronous burst; committing a random-keyed index dirties a page per item, so
// commits are large when many items finish without the event loop turning in between.
const FLUSH_EVERY_ITEMS = 8192;
/**
 * Items taken from the source ahead of the first one not yet given to the caller: twice the concurrency, so
 * workers are not starved while a slow item holds the head of the window, and at least enough to look keys up in
 * large chunks.
 */
const MIN_WINDOW_ITEMS = 4096;

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

export interface ItemMapDeps {
  itemStore: ItemStore;
  scope: ItemScope;
  signal: AbortSignal;
  progress: (label: string, total: number) => ProgressHandle;
  totals: ItemTotals;
}

/** The array form of streamItems: every item at once in, every result out (for nodes that need them all). */
export async function mapItems<I, R extends Json>(items: readonly I[], spec: ItemMapSpec<I, R>, deps: ItemMapDeps): Promise<ItemMapResult<R>> {
  const results: (R | undefined)[] = new Array(items.length);
  const failures: ItemFailure[] = [];
  const stream = streamItems(items, { ...spec, total: items.length }, deps);
  for await (const outcome of stream) {
    results[outcome.index] = outcome.result;
    if (outcome.failure) failures.push(outcome.failure);
  }
  const { cached, ran, skipped } = stream.counts;
  return { results, failures, cached, ran, skipped };
}

type SlotState = 'todo' | 'running' | 'done' | 'failed' | 'stopped';

interface Slot<I, R> {
  index: number;
  item: I;
  key: ItemKey;
  state: SlotState;
  result?: R;
  failure?: ItemFailure;
}

export function streamItems<I, R extends Json>(source: Iterable<I> | AsyncIterable<I>, spec: ItemMapSpec<I, R>, deps: ItemMapDeps): ItemStream<I, R> {
  const counts: ItemCounts = { cached: 0, ran: 0, failed: 0, skipped: 0 };
  return {
    counts,
    [Symbol.asyncIterator]: () => new ItemWindow(source, spec, deps, counts).outcomes(),
  };
}

/** One pass of streamItems: the window of items between the source and the caller. */
class ItemWindow<I, R extends Json> {
  private readonly prefix: string;
  private readonly attempts: number;
  private readonly concurrency: number;
  private readonly windowItems: number;
  private readonly source: Iterator<I> | AsyncIterator<I>;
  private readonly progress: ProgressHandle;
  /** Slots from the first not yet given to the caller, in input order (`head` is the first live entry). */
  private slots: Slot<I, R>[] = [];
  private head = 0;
  private todo: Slot<I, R>[] = [];
  private todoHead = 0;
  private pulled = 0;
  private sourceDone = false;
  private filling: Promise<void> | undefined;
  private running = 0;
  private stopScheduling = false;
  private pending: PendingWrite[] = [];
  private flushScheduled = false;
  // A failed commit (disk full, I/O error) stops the map; it is rethrown once in-flight items have settled.
  private writeError: unknown;
  private fatalError: unknown;
  private sourceError: unknown;
  private wake: (() => void) | undefined;
  private readonly failureReasons = new Map<string, number>();

  constructor(
    source: Iterable<I> | AsyncIterable<I>,
    private readonly spec: ItemMapSpec<I, R>,
    private readonly deps: ItemMapDeps,
    private readonly counts: ItemCounts,
  ) {
    this.prefix = itemKeyPrefix(deps.scope, spec.namespace);
    this.attempts = Math.max(1, spec.attempts ?? 1);
    this.concurrency = Math.max(1, spec.concurrency ?? 1);
    this.windowItems = Math.max(MIN_WINDOW_ITEMS, 2 * this.concurrency);
    this.source = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
    this.progress = deps.progress(spec.label ?? spec.namespace, spec.total ?? 0);
  }

  async *outcomes(): AsyncGenerator<ItemOutcome<I, R>> {
    try {
      this.pump();
      for (;;) {
        const slot = this.slots[this.head];
        if (slot !== undefined && (slot.state === 'done' || slot.state === 'failed')) {
          this.slots[this.head++] = undefined as unknown as Slot<I, R>;
          if (this.head >= 1024 && this.head * 2 >= this.slots.length) {
            this.slots = this.slots.slice(this.head);
            this.head = 0;
          }
          this.pump();
          yield { index: slot.index, item: slot.item, result: slot.result, ...(slot.failure ? { failure: slot.failure } : {}) };
          continue;
        }
        if (this.sourceError !== undefined) throw this.sourceError;
        const stopped = this.stopScheduling || this.deps.signal.aborted;
        if (stopped && this.running === 0 && this.filling === undefined) break;
        if (!stopped && slot === undefined && this.sourceDone && this.filling === undefined) break;
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      // Whether the caller finished, stopped early or failed: let in-flight items settle, commit them, count.
      this.stopScheduling = true;
      while (this.running > 0 || this.filling !== undefined) await new Promise<void>((resolve) => (this.wake = resolve));
      this.flush();
      this.progress.done();
      await this.countSkipped();
    }
    if (this.writeError !== undefined) throw this.writeError;
    if (this.fatalError !== undefined) throw this.fatalError;
    this.addToTotals();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Starts queued items up to the concurrency, and takes more items from the source while the window has room. */
  private pump(): void {
    while (this.running < this.concurrency && this.todoHead < this.todo.length && !this.stopScheduling && !this.deps.signal.aborted) {
      const slot = this.todo[this.todoHead++]!;
      this.running++;
      this.runSlot(slot)
        .catch((error: unknown) => {
          // A bug outside the item's own run (its key for a re-sample threw): stop the map and report it.
          this.fatalError ??= error;
          this.stopScheduling = true;
          slot.state = 'stopped';
        })
        .finally(() => {
          this.running--;
          this.pump();
          this.notify();
        });
    }
    if (this.todoHead >= 1024 && this.todoHead * 2 >= this.todo.length) {
      this.todo = this.todo.slice(this.todoHead);
      this.todoHead = 0;
    }
    const queued = this.todo.length - this.todoHead;
    const inWindow = this.slots.length - this.head;
    if (this.filling === undefined && !this.sourceDone && !this.stopScheduling && !this.deps.signal.aborted && queued < this.concurrency && inWindow < this.windowItems) {
      this.filling = this.fill().then(
        () => {
          this.filling = undefined;
          this.pump();
          this.notify();
        },
        (error: unknown) => {
          this.filling = undefined;
          this.sourceError ??= error;
          this.stopScheduling = true;
          this.notify();
        },
      );
    }
  }

  /** Takes up to LOOKUP_CHUNK items, keys them and looks them up in one query; hits are done at once. */
  private async fill(): Promise<void> {
    const chunk: Slot<I, R>[] = [];
    while (chunk.length < LOOKUP_CHUNK) {
      const next = await this.source.next();
      if (next.done) {
        this.sourceDone = true;
        break;
      }
      const index = this.pulled++;
      chunk.push({ index, item: next.value, key: itemKeyFromPrefix(this.prefix, this.spec.key(next.value, index, 0)), state: 'todo' });
    }
    if (this.spec.total === undefined) this.progress.setTotal(this.pulled);
    const hits = this.deps.itemStore.lookup(chunk.map((slot) => slot.key));
    let cached = 0;
    for (const slot of chunk) {
      this.slots.push(slot);
      const hit = hits.get(slot.key);
      if (hit !== undefined) {
        try {
          slot.result = JSON.parse(hit) as R;
          slot.state = 'done';
          cached++;
          continue;
        } catch {
          // an unreadable entry is a miss
        }
      }
      this.todo.push(slot);
    }
    this.counts.cached += cached;
    if (cached > 0) this.progress.tick(cached);
  }

  private async runSlot(slot: Slot<I, R>): Promise<void> {
    slot.state = 'running';
    const { spec, deps } = this;
    let key = slot.key;
    for (let attempt = 0; ; ) {
      try {
        const value = await spec.run(slot.item, slot.index, deps.signal, attempt);
        slot.result = value;
        slot.state = 'done';
        this.pending.push({ key, ok: 1, value: JSON.stringify(value), reason: null });
        this.counts.ran++;
        break;
      } catch (error) {
        if (error instanceof LlmCallError && (error.reason === 'budget-exceeded' || error.reason === 'aborted')) {
          // Not the item's fault: leave it unattempted and stop starting new ones.
          if (error.reason === 'budget-exceeded') deps.totals.budgetSpent = true;
          this.stopScheduling = true;
          slot.state = 'stopped';
          return;
        }
        if (error instanceof LlmEndpointError) {
          // The endpoint itself is unusable: every other item would fail the same way.
          this.fatalError ??= error;
          this.stopScheduling = true;
          slot.state = 'stopped';
          return;
        }
        const reason = describeFailure(error);
        this.pending.push({ key, ok: 0, value: null, reason });
        if (attempt + 1 < this.attempts && !(error instanceof LlmCallError)) {
          attempt++;
          key = itemKeyFromPrefix(this.prefix, spec.key(slot.item, slot.index, attempt));
          const hit = deps.itemStore.lookup([key]).get(key);
          if (hit !== undefined) {
            slot.result = JSON.parse(hit) as R;
            slot.state = 'done';
            this.counts.ran++;
            break;
          }
          continue;
        }
        slot.failure = { index: slot.index, key, reason };
        slot.state = 'failed';
        this.counts.failed++;
        this.failureReasons.set(reason, (this.failureReasons.get(reason) ?? 0) + 1);
        break;
      }
    }
    this.progress.tick(1);
    this.scheduleFlush();
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    try {
      this.deps.itemStore.write(batch);
    } catch (error) {
      this.writeError ??= error;
      this.stopScheduling = true;
    }
  }

  private scheduleFlush(): void {
    if (this.pending.length >= FLUSH_EVERY_ITEMS) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * Items that were never settled: those in the window and, when the map stopped short, the rest of the source
   * (known from `total`, else counted by reading on without running anything).
   */
  private async countSkipped(): Promise<void> {
    if (this.spec.total !== undefined) {
      this.counts.skipped = Math.max(0, this.spec.total - this.counts.cached - this.counts.ran - this.counts.failed);
      return;
    }
    let rest = 0;
    if (!this.sourceDone && this.sourceError === undefined) {
      try {
        for (let next = await this.source.next(); !next.done; next = await this.source.next()) rest++;
      } catch {
        // the count is only for the message; an unreadable rest is counted as what was read
      }
    }
    this.counts.skipped = this.pulled + rest - this.counts.cached - this.counts.ran - this.counts.failed;
  }

  private addToTotals(): void {
    const totals = this.deps.totals;
    totals.cached += this.counts.cached;
    totals.ran += this.counts.ran;
    totals.failed += this.counts.failed;
    totals.skipped += this.counts.skipped;
    for (const [reason, n] of this.failureReasons) totals.failureReasons[reason] = (totals.failureReasons[reason] ?? 0) + n;
  }
}

/** A short, stable reason to count failures by (no stack, no item-specific text past the first line). */
function describeFailure(error: unknown): string {
  if (error instanceof LlmCallError) return error.reason;
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.slice(0, 200) || 'failed';
}
