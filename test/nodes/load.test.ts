import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from '../../nodes/load.js';
import { sha256 } from '../../engine/json.js';
import { NodeUserError } from '../../engine/node-type.js';
import { fakeContext, runNode } from './fake-context.js';
import { sharedData } from './paths.js';
import { testProbe } from '../support/probe.js';
import { unlessPresent } from '../support/prerequisite.js';

function dir(files: Record<string, string | Uint8Array>): string {
  const d = mkdtempSync(join(tmpdir(), 'synthcse-load-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(d, name), content);
  return d;
}
async function loadRows(baseDir: string, params: Record<string, unknown>) {
  const ctx = fakeContext({ options: {}, baseDir });
  const out = await runNode(load, {}, params, ctx);
  return { out, ctx };
}

test('txt: one sentence per line; empty lines skipped and counted', async () => {
  const d = dir({ 's.txt': 'One.\n\nTwo.\r\n  \nThree.\n' });
  const { out, ctx } = await loadRows(d, { path: 's.txt' });
  assert.deepEqual(out['sentences'], [{ text: 'One.' }, { text: 'Two.' }, { text: 'Three.' }]);
  assert.deepEqual(out['triplets'], []);
  assert.deepEqual(ctx.stats.removed, { 'empty-line': 2 });
});

test('tsv: columns by name map to kind fields; TAB only, quotes are literal', async () => {
  const d = dir({ 't.tsv': 'premise\tentailment\tcontradiction\nA "quoted" man.\tA man.\tA woman.\n' });
  const { out } = await loadRows(d, { path: 't.tsv', kind: 'triplets', columns: { anchor: 'premise', positive: 'entailment', negative: 'contradiction' } });
  assert.deepEqual(out['triplets'], [{ anchor: 'A "quoted" man.', positive: 'A man.', negative: 'A woman.' }]);
});

test('sentences from several columns: one sentence per column of each record, in order (DINO\'s STS-B reader)', async () => {
  const d = dir({ 'sts.tsv': 'sentence1\tsentence2\tscore\nA man runs.\tA man is running.\t4.5\nA cat.\tA dog.\t1\n' });
  const { out } = await loadRows(d, { path: 'sts.tsv', columns: { text: ['sentence1', 'sentence2'] } });
  assert.deepEqual(out['sentences'], [{ text: 'A man runs.' }, { text: 'A man is running.' }, { text: 'A cat.' }, { text: 'A dog.' }]);
  await assert.rejects(loadRows(d, { path: 'sts.tsv', columns: { text: ['sentence1', 'sentence3'] } }), /no column "sentence3" for field text/);
  await assert.rejects(loadRows(d, { path: 'sts.tsv', kind: 'pairs', columns: { text_a: ['sentence1', 'sentence2'] } }), /only sentences' text can list several columns/);
});

test('tsv: wrong field count is an error with file and line, or a counted skip', async () => {
  const d = dir({ 'p.tsv': 'text_a\ttext_b\tlabel\na\tb\t1\nbroken\t0.5\nc\td\t0\n' });
  await assert.rejects(loadRows(d, { path: 'p.tsv', kind: 'pairs' }), (e: Error) => e instanceof NodeUserError && /p\.tsv:3: expected 3 fields, found 2/.test(e.message));
  const { out, ctx } = await loadRows(d, { path: 'p.tsv', kind: 'pairs', on_bad_row: 'skip' });
  assert.deepEqual(out['pairs'], [{ text_a: 'a', text_b: 'b', label: 1 }, { text_a: 'c', text_b: 'd', label: 0 }]);
  assert.deepEqual(ctx.stats.removed, { 'wrong-field-count': 1 });
});

test('tsv: non-numeric label and missing column are user errors', async () => {
  const d = dir({ 'p.tsv': 'text_a\ttext_b\tlabel\na\tb\thigh\n', 'q.tsv': 'x\ty\n1\t2\n' });
  await assert.rejects(loadRows(d, { path: 'p.tsv', kind: 'pairs' }), /p\.tsv:2: field label .* not a number/);
  await assert.rejects(loadRows(d, { path: 'q.tsv', kind: 'pairs' }), /no column "text_a"/);
  await assert.rejects(loadRows(d, { path: 'q.tsv', kind: 'pairs', columns: { text_c: 'x' } }), /not a field of pairs/);
});

test('csv: RFC 4180 quoting, escaped quotes and quoted newlines', async () => {
  const d = dir({ 'c.csv': 'sent0,sent1,hard_neg\n"A man, tall.","He said ""hi"".","Line\none"\nx,y,z\n' });
  const { out } = await loadRows(d, { path: 'c.csv', kind: 'triplets', columns: { anchor: 'sent0', positive: 'sent1', negative: 'hard_neg' } });
  assert.deepEqual(out['triplets'], [
    { anchor: 'A man, tall.', positive: 'He said "hi".', negative: 'Line\none' },
    { anchor: 'x', positive: 'y', negative: 'z' },
  ]);
  const bad = dir({ 'b.csv': 'a,b\n"open,x\n' });
  await assert.rejects(loadRows(bad, { path: 'b.csv', format: 'csv', kind: 'sentences', columns: { text: 'a' } }), /b\.csv:2: unterminated/);
});

test('jsonl: objects per line, keep extra columns, invalid JSON reported with line', async () => {
  const d = dir({ 'j.jsonl': '{"text":"One.","id":1}\n{"text":"Two.","id":2}\n', 'bad.jsonl': '{"text":"One."}\n{nope\n' });
  const { out } = await loadRows(d, { path: 'j.jsonl', keep: ['id'] });
  assert.deepEqual(out['sentences'], [{ text: 'One.', id: 1 }, { text: 'Two.', id: 2 }]);
  await assert.rejects(loadRows(d, { path: 'bad.jsonl' }), /bad\.jsonl:2: invalid JSON/);
});

test('invalid UTF-8 is reported with its line', async () => {
  const d = dir({ 'u.txt': Buffer.concat([Buffer.from('ok\nstill ok\nbad '), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]) });
  await assert.rejects(loadRows(d, { path: 'u.txt' }), /u\.txt:3: invalid UTF-8/);
});

test('limit keeps the first rows; sample is seeded, deterministic, in file order and stable under appends', async () => {
  const lines = Array.from({ length: 50 }, (_, i) => `Sentence ${i}.`);
  const d = dir({ 'a.txt': lines.join('\n'), 'b.txt': [...lines, 'Extra one.', 'Extra two.'].join('\n') });
  const first = await loadRows(d, { path: 'a.txt', limit: 3 });
  assert.deepEqual(first.out['sentences'], [{ text: 'Sentence 0.' }, { text: 'Sentence 1.' }, { text: 'Sentence 2.' }]);
  const s1 = (await loadRows(d, { path: 'a.txt', sample: 10, seed: 1 })).out['sentences'] as { text: string }[];
  const s1again = (await loadRows(d, { path: 'a.txt', sample: 10, seed: 1 })).out['sentences'];
  const s2 = (await loadRows(d, { path: 'a.txt', sample: 10, seed: 2 })).out['sentences'];
  assert.equal(s1.length, 10);
  assert.deepEqual(s1, s1again);
  assert.notDeepEqual(s1, s2);
  const idx = s1.map((r) => lines.indexOf(r.text));
  assert.deepEqual(idx, [...idx].sort((a, b) => a - b));
  // Two appended rows can displace at most two of the ten chosen rows.
  const grown = (await loadRows(d, { path: 'b.txt', sample: 10, seed: 1 })).out['sentences'] as { text: string }[];
  const kept = s1.filter((r) => grown.some((g) => g.text === r.text)).length;
  assert.ok(kept >= 8, `kept ${kept}`);
});

test('files() declares the local path so its content joins the node key', () => {
  assert.deepEqual(load.files!(load.params.parse({ path: 'data/x.txt' }), {}, testProbe()), ['data/x.txt']);
  assert.deepEqual(load.files!(load.params.parse({ url: 'https://example.org/x.txt' }), {}, testProbe()), []);
  assert.deepEqual(load.files!(load.params.parse({ path: '/nonexistent/x.txt', url: 'https://example.org/x.txt' }), {}, testProbe()), []);
  assert.throws(() => load.params.parse({}));
});

test('url: downloaded once into the cache and verified by sha256; path falls back to url', async () => {
  const body = 'From the web.\nSecond line.\n';
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    if (req.url === '/s.txt') res.end(body);
    else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/s.txt`;
  try {
    const d = dir({});
    const ctx = fakeContext({ options: {}, baseDir: d });
    const p = { path: join(d, 'missing.txt'), url, sha256: sha256(body) };
    const out1 = await runNode(load, {}, p, ctx);
    const out2 = await runNode(load, {}, p, ctx);
    assert.deepEqual(out1['sentences'], [{ text: 'From the web.' }, { text: 'Second line.' }]);
    assert.deepEqual(out2['sentences'], out1['sentences']);
    assert.equal(hits, 1);
    await assert.rejects(runNode(load, {}, { url, sha256: '0'.repeat(64) }, fakeContext({ options: {}, baseDir: d })), /expected 0000/);
    await assert.rejects(runNode(load, {}, { url: url.replace('s.txt', 'x.txt'), format: 'txt' }, fakeContext({ options: {}, baseDir: d })), /HTTP 404/);
    await assert.rejects(runNode(load, {}, { path: join(d, 'missing.txt') }, fakeContext({ options: {}, baseDir: d })), (e: Error) => e instanceof NodeUserError && /no file at/.test(e.message) && /SYNTHCSE_DATA/.test(e.hint ?? ''));
  } finally {
    server.close();
  }
});

test('shared data: SNLI premises and human triplets load in the shapes the pipelines use', { skip: unlessPresent(existsSync(join(sharedData, 'unlabeled/snli_premises.txt')), `no shared data at ${sharedData}`) }, async () => {
  const { out } = await loadRows(sharedData, { path: 'unlabeled/snli_premises.txt', sample: 1000, seed: 0 });
  assert.equal((out['sentences'] as unknown[]).length, 1000);
  const t = await loadRows(sharedData, {
    path: 'nli/snli_triplets.tsv',
    kind: 'triplets',
    columns: { anchor: 'premise', positive: 'entailment', negative: 'contradiction' },
    limit: 5,
  });
  assert.equal((t.out['triplets'] as unknown[]).length, 5);
  const s = await loadRows(sharedData, { path: 'synthetic/dino_x2.tsv', kind: 'pairs' });
  assert.equal((s.out['pairs'] as unknown[]).length, 2400);
});
