/**
 * Rows and items in bounded memory: a rows value written a row at a time has the digest the whole-array form gives
 * (so keys and cached runs stay valid), reads back row by row across chunk boundaries, and a damaged artifact is
 * noticed; ctx.streamItems holds one window of items however many there are, gives outcomes in input order, and
 * commits every finished item, including those in flight when the caller stops early.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Store } from '../../cache/store.js';
import { emptyTotals, ItemStore, streamItems, type ItemMapDeps } from '../../engine/items.js';
import type { Row } from '../../engine/json.js';
import type { ItemOutcome } from '../../engine/node-type.js';
import { RunStore } from '../../engine/run-store.js';
import { loadValue, parseRowStream, RowsWriter, serializeRows, storeRows } from '../../engine/values.js';

function freshStore(): { store: Store; dir: string; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-stream-'));
  const store = new Store(join(dir, 'cache'));
  new RunStore(store); // creates the items table
  return { store, dir, done: () => (store.close(), rmSync(dir, { recursive: true, force: true })) };
}

/** Rows with multi-byte text, so UTF-8 sequences and lines straddle the reader's chunks. */
function someRows(n: number): Row[] {
  return Array.from({ length: n }, (_, i) => ({ text: `Ein Mädchen läuft am Fluss — ${i} ✓`, n: i, nested: { b: [i, null], a: 'x' } }));
}

test('rows written a row at a time have the digest and bytes of the whole-array form, small (blob) and large (file)', () => {
  const { store, dir, done } = freshStore();
  try {
    for (const n of [0, 3, 5000]) {
      const rows = someRows(n);
      const writer = new RowsWriter(store, join(dir, 'tmp'), `rows-${n}.jsonl`);
      for (const row of rows) writer.add(row);
      const finished = writer.finish();
      const expected = storeRows(store, rows);
      assert.deepEqual(finished.record, expected, `${n} rows`);
      finished.commit();
      assert.deepEqual(store.getBytes(expected.digest), serializeRows(rows));
    }
  } finally {
    done();
  }
});

test('a stored rows value streams back row by row across chunk boundaries, and counts without reading', async () => {
  const { store, done } = freshStore();
  try {
    const rows = someRows(5000);
    const record = storeRows(store, rows);
    const value = loadValue(store, record);
    assert.equal(value.form, 'rows');
    if (value.form !== 'rows') return;
    assert.equal(value.count, 5000);
    const streamed: Row[] = [];
    for await (const row of value.stream()) streamed.push(row);
    assert.deepEqual(streamed, rows);
    // Tiny chunks: every line and many characters are split between chunks.
    const bytes = serializeRows(rows.slice(0, 50));
    async function* chunks() {
      for (let i = 0; i < bytes.length; i += 7) yield bytes.subarray(i, i + 7);
    }
    const reparsed: Row[] = [];
    for await (const row of parseRowStream(chunks())) reparsed.push(row);
    assert.deepEqual(reparsed, rows.slice(0, 50));
  } finally {
    done();
  }
});

test('a damaged rows artifact ends its stream with an error instead of passing as the value', async () => {
  const { store, done } = freshStore();
  try {
    const record = storeRows(store, someRows(5000));
    const path = store.artifactPath(record.form === 'rows' ? record.digest : ('' as never));
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.replace('"n":17,', '"n":71,'));
    const value = loadValue(store, record);
    if (value.form !== 'rows') throw new Error('expected rows');
    await assert.rejects(async () => {
      for await (const _row of value.stream());
    }, /no longer matches its digest/);
  } finally {
    done();
  }
});

function deps(store: Store, signal = new AbortController().signal): ItemMapDeps & { progressTotal: () => number; ticks: () => number } {
  let total = 0;
  let ticks = 0;
  return {
    itemStore: new ItemStore(store),
    scope: { type: 'test', version: 1, llm: null, code: null },
    signal,
    totals: emptyTotals(),
    progress: (_label, t) => {
      total = t;
      return { tick: (n = 1) => void (ticks += n), setTotal: (t2) => void (total = t2), done() {} };
    },
    progressTotal: () => total,
    ticks: () => ticks,
  };
}

test('streamItems holds a bounded window however many items, and gives outcomes in input order', async () => {
  const { store, done } = freshStore();
  try {
    const n = 30_000;
    let pulled = 0;
    function* source() {
      for (let i = 0; i < n; i++) {
        pulled++;
        yield i;
      }
    }
    const d = deps(store);
    let seen = 0;
    let widest = 0;
    const stream = streamItems(source(), {
      namespace: 'window',
      concurrency: 64,
      key: (i) => ({ i }),
      // Finishing out of order: later items often end before earlier ones.
      run: async (i) => {
        await new Promise((resolve) => setTimeout(resolve, (i * 7919) % 3));
        return { double: 2 * i };
      },
    }, d);
    for await (const outcome of stream) {
      assert.equal(outcome.index, seen);
      assert.deepEqual(outcome.result, { double: 2 * seen });
      seen++;
      widest = Math.max(widest, pulled - seen);
    }
    assert.equal(seen, n);
    assert.ok(widest <= 4096 + 500, `at most one window (and one lookup chunk) ahead of the caller, was ${widest}`);
    assert.deepEqual(stream.counts, { cached: 0, ran: n, failed: 0, skipped: 0 });
    assert.equal(d.progressTotal(), n, 'the total grows as items are read when it is not given');
    assert.equal(d.ticks(), n);
    assert.equal(d.totals.ran, n);

    // A second pass finds every item cached.
    const again = deps(store);
    const second = streamItems(source(), { namespace: 'window', total: n, key: (i) => ({ i }), run: async () => assert.fail('cached items do not run') }, again);
    let count = 0;
    for await (const outcome of second) assert.deepEqual(outcome.result, { double: 2 * count++ });
    assert.deepEqual(second.counts, { cached: n, ran: 0, failed: 0, skipped: 0 });
  } finally {
    done();
  }
});

test('streamItems: failures are outcomes with their reasons; a caller that stops early leaves the rest skipped, and what finished is committed', async () => {
  const { store, done } = freshStore();
  try {
    const d = deps(store);
    const items = Array.from({ length: 20 }, (_, i) => i);
    const spec = {
      namespace: 'fail',
      total: items.length,
      concurrency: 4,
      key: (i: number) => ({ i }),
      run: async (i: number) => {
        if (i % 5 === 3) throw new Error(`item ${i} is odd\nwith a second line`);
        return { i };
      },
    };
    const outcomes: ItemOutcome<number, { i: number }>[] = [];
    for await (const outcome of streamItems(items, spec, d)) outcomes.push(outcome);
    assert.deepEqual(outcomes.filter((o) => o.failure).map((o) => [o.index, o.failure!.reason]), [
      [3, 'item 3 is odd'],
      [8, 'item 8 is odd'],
      [13, 'item 13 is odd'],
      [18, 'item 18 is odd'],
    ]);
    assert.equal(d.totals.failed, 4);
    assert.deepEqual(d.totals.failureReasons, { 'item 3 is odd': 1, 'item 8 is odd': 1, 'item 13 is odd': 1, 'item 18 is odd': 1 });

    // Stopping after 5 outcomes: items already started still finish and are committed; the rest are skipped.
    const early = deps(store);
    let started = 0;
    const stream = streamItems(Array.from({ length: 10_000 }, (_, i) => i), {
      namespace: 'early',
      concurrency: 8,
      key: (i) => ({ i }),
      run: async (i) => {
        started++;
        await new Promise((resolve) => setTimeout(resolve, 1));
        return { i };
      },
    }, early);
    let taken = 0;
    for await (const _outcome of stream) if (++taken === 5) break;
    assert.ok(started < 10_000, 'nothing new starts once the caller stops');
    assert.equal(stream.counts.ran, started);
    assert.equal(stream.counts.skipped, 10_000 - started);
    const committed = store.db.prepare('SELECT count(*) AS n FROM items WHERE ok = 1').get() as { n: number };
    assert.equal(committed.n, 16 + started, 'every finished item is in the cache');
  } finally {
    done();
  }
});
