/** Golden tests: one per filter rule, on hand-made rows. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Row } from '../../engine/json.js';
import { FilterRule, applyRule, type RuleEnv } from '../../nodes/filters/index.js';
import { filter, filterHooks } from '../../nodes/filter.js';
import type { FileValue } from '../../engine/node-type.js';
import { fakeContext, rowsValue, runNode } from './fake-context.js';

const env = (kind: RuleEnv['kind'], model?: FileValue): RuleEnv => ({
  kind,
  model,
  log: { info() {}, warn() {} },
  signal: new AbortController().signal,
});
const run = (rows: Row[], rule: unknown, kind: RuleEnv['kind'], model?: FileValue) => applyRule(rows, FilterRule.parse(rule), env(kind, model));

test('trim strips and collapses whitespace and drops rows left empty', async () => {
  const out = await run([{ text: '  a  b \n' }, { text: '   ' }, { text: 'c', id: 1 }], { rule: 'trim' }, 'sentences');
  assert.deepEqual(out.rows, [{ text: 'a b' }, { text: 'c', id: 1 }]);
  assert.deepEqual(out.removed, { trim: 1 });
});

test('refusals drops LLM-written fields with refusal phrases, never the human anchor', async () => {
  const rows = [
    { anchor: "I'm sorry, I can't make it tonight.", positive: 'I cannot come tonight, apologies.', negative: 'I will be there tonight.' },
    { anchor: 'A dog runs.', positive: 'I cannot generate a paraphrase for this input.', negative: 'A cat sleeps.' },
    { anchor: 'A dog runs.', positive: 'A dog is running.', negative: 'As an AI language model, I can\u2019t do that.' },
    { anchor: 'A dog runs.', positive: 'A dog is running.', negative: 'CUSTOM FAILURE' },
  ];
  const out = await run(rows, { rule: 'refusals', patterns: ['custom failure'] }, 'triplets');
  assert.deepEqual(out.rows, [rows[0]]);
  assert.deepEqual(out.removed, { refusals: 3 });
});

test("refusals catches SynCSE's own documented failure and its variants", async () => {
  const failures = [
    'I can not generate a paraphrased sentence because the input is ambiguous.',
    'I can\u2019t generate a contradictory sentence because the input is ambiguous.',
    'I could not generate a paraphrase: the input sentence is ambiguous.',
    'Sorry, the sentence is ambiguous, so it cannot be paraphrased.',
    'I am  unable to generate a hard negative for this input.',
  ];
  const rows = failures.map((f) => ({ anchor: 'A dog runs.', positive: 'A dog is running.', negative: f }));
  const kept = { anchor: 'A dog runs.', positive: 'A dog is running.', negative: 'Nobody can not see the dog.' };
  const out = await run([...rows, kept], { rule: 'refusals' }, 'triplets');
  assert.deepEqual(out.rows, [kept]);
  assert.deepEqual(out.removed, { refusals: failures.length });
});

test('identical drops identical and near-identical pairs (case and punctuation folded)', async () => {
  const pairs = [
    { text_a: 'A man is cooking.', text_b: 'a man is cooking', label: 1 },
    { text_a: 'A man is cooking.', text_b: 'A man is cooking!', label: 1 },
    { text_a: 'A man is cooking.', text_b: 'A woman is cooking.', label: 0.5 },
  ];
  assert.deepEqual((await run(pairs, { rule: 'identical' }, 'pairs')).rows, [pairs[2]]);
  assert.deepEqual((await run(pairs, { rule: 'identical', fold: false }, 'pairs')).rows, pairs);
  const triplets = [
    { anchor: 'A b.', positive: 'A c.', negative: 'a, b' },
    { anchor: 'A b.', positive: 'A c.', negative: 'A d.' },
  ];
  const out = await run(triplets, { rule: 'identical' }, 'triplets');
  assert.deepEqual(out.rows, [triplets[1]]);
  assert.deepEqual(out.removed, { identical: 1 });
});

test('dedupe keeps the first of duplicate rows, optionally folded or by chosen fields', async () => {
  const rows = [
    { anchor: 'A', positive: 'B', negative: 'C', n: 1 },
    { anchor: 'A', positive: 'B', negative: 'C', n: 2 },
    { anchor: 'a', positive: 'b.', negative: 'c', n: 3 },
    { anchor: 'A', positive: 'X', negative: 'Y', n: 4 },
  ];
  assert.deepEqual((await run(rows, { rule: 'dedupe' }, 'triplets')).rows.map((r) => r['n']), [1, 3, 4]);
  assert.deepEqual((await run(rows, { rule: 'dedupe', fold: true }, 'triplets')).rows.map((r) => r['n']), [1, 4]);
  assert.deepEqual((await run(rows, { rule: 'dedupe', fields: ['anchor'] }, 'triplets')).rows.map((r) => r['n']), [1, 3]);
  const pairs = [
    { text_a: 'x', text_b: 'y', label: 1 },
    { text_a: 'x', text_b: 'y', label: 0 },
    { text_a: 'x', text_b: 'y', label: 1 },
  ];
  assert.deepEqual((await run(pairs, { rule: 'dedupe' }, 'pairs')).removed, { dedupe: 1 });
});

test('words drops rows over max (SynCSE: 32) or under min words in any field', async () => {
  const long = Array.from({ length: 33 }, (_, i) => `w${i}`).join(' ');
  const exactly32 = Array.from({ length: 32 }, (_, i) => `w${i}`).join(' ');
  const rows = [
    { anchor: 'a b c', positive: exactly32, negative: 'x y' },
    { anchor: 'a b c', positive: long, negative: 'x y' },
    { anchor: 'a', positive: 'b c', negative: 'x y' },
  ];
  const out = await run(rows, { rule: 'words', min: 2, max: 32 }, 'triplets');
  assert.deepEqual(out.rows, [rows[0]]);
  assert.deepEqual(out.removed, { 'words:too-short': 1, 'words:too-long': 1 });
  assert.throws(() => FilterRule.parse({ rule: 'words' }));
});

test('dino-postprocess: smoothing 0→0.1, 0.5→0.5, 1→0.9, cap 2 per (x1, label), 2 random pairs per x1 (golden)', async () => {
  const rows: Row[] = [
    { text_a: 'x1', text_b: 'same a', label: 1 },
    { text_a: 'x1', text_b: 'same b', label: 1 },
    { text_a: 'x1', text_b: 'same c', label: 1 },
    { text_a: 'x1', text_b: 'same a', label: 1 },
    { text_a: 'x1', text_b: 'x1', label: 1 },
    { text_a: 'x1', text_b: 'similar', label: 0.5 },
    { text_a: 'x1', text_b: 'other', label: 0 },
    { text_a: 'x2', text_b: 'para', label: 1 },
    { text_a: 'x2', text_b: 'topic', label: 0 },
  ];
  const out = await run(rows, { rule: 'dino-postprocess' }, 'pairs');
  assert.deepEqual(out.removed, { 'dino-postprocess:duplicate': 1, 'dino-postprocess:identical': 1, 'dino-postprocess:over-cap': 1 });
  assert.equal(out.added, 4);
  const kept = out.rows.slice(0, out.rows.length - 4);
  const added = out.rows.slice(out.rows.length - 4);
  // Labels after smoothing.
  const labelOf = (b: string) => kept.find((r) => r['text_b'] === b)?.['label'];
  assert.equal(labelOf('similar'), 0.5);
  assert.equal(labelOf('other'), 0.1);
  assert.equal(labelOf('para'), 0.9);
  assert.equal(labelOf('topic'), 0.1);
  // Two of the three distinct label-1 x2 of x1 survive the cap.
  assert.equal(kept.filter((r) => r['text_a'] === 'x1' && r['label'] === 0.9).length, 2);
  assert.equal(kept.length, 6);
  // Random pairs: label 0 (unsmoothed, as DINO), two per x1, text_b drawn from kept rows.
  assert.deepEqual(added.map((r) => [r['text_a'], r['label']]), [
    [added[0]!['text_a'], 0],
    [added[0]!['text_a'], 0],
    [added[2]!['text_a'], 0],
    [added[2]!['text_a'], 0],
  ]);
  assert.deepEqual(new Set(added.map((r) => r['text_a'])), new Set(['x1', 'x2']));
  for (const r of added) assert.ok(kept.some((k) => k['text_b'] === r['text_b']));
  // Golden: the exact output for seed 42 (pins the hash order; a change here is a visible decision).
  assert.deepEqual(out.rows, [
    { text_a: 'x2', text_b: 'topic', label: 0.1 },
    { text_a: 'x1', text_b: 'other', label: 0.1 },
    { text_a: 'x1', text_b: 'same a', label: 0.9 },
    { text_a: 'x1', text_b: 'same c', label: 0.9 },
    { text_a: 'x2', text_b: 'para', label: 0.9 },
    { text_a: 'x1', text_b: 'similar', label: 0.5 },
    { text_a: 'x2', text_b: 'same c', label: 0 },
    { text_a: 'x2', text_b: 'same c', label: 0 },
    { text_a: 'x1', text_b: 'same a', label: 0 },
    { text_a: 'x1', text_b: 'other', label: 0 },
  ]);
  // The order does not depend on the input order.
  const reversed = await run([...rows].reverse(), { rule: 'dino-postprocess' }, 'pairs');
  assert.deepEqual(reversed.rows, out.rows);
  // Another seed gives another order but the same multiset of kept labels.
  const other = await run(rows, { rule: 'dino-postprocess', seed: 7 }, 'pairs');
  assert.deepEqual(other.rows.map((r) => r['label']).sort(), out.rows.map((r) => r['label']).sort());
});

test('self-curation: swap when the negative scores higher, keep pos ≥ α, neg ≤ β, pos > neg (default 3/3/gap)', async () => {
  const t = (id: number, ps: number, ns: number) => ({ anchor: `a${id}`, positive: `p${id}`, negative: `n${id}`, positive_score: ps, negative_score: ns });
  const rows = [t(1, 4.5, 1.0), t(2, 2.5, 1.0), t(3, 4.0, 3.5), t(4, 1.0, 4.2), t(5, 3.0, 3.0), t(6, 3.0, 2.9)];
  const out = await run(rows, { rule: 'self-curation' }, 'triplets');
  assert.deepEqual(out.rows, [
    t(1, 4.5, 1.0),
    { anchor: 'a4', positive: 'n4', negative: 'p4', positive_score: 4.2, negative_score: 1.0 },
    t(6, 3.0, 2.9),
  ]);
  assert.deepEqual(out.removed, { 'self-curation': 3 });
  // Preset 2 (α 4, β 3, no gap) and explicit overrides.
  assert.deepEqual((await run(rows, { rule: 'self-curation', preset: 2 }, 'triplets')).rows.map((r) => r['anchor']), ['a1', 'a4']);
  assert.deepEqual((await run(rows, { rule: 'self-curation', gap: false }, 'triplets')).rows.map((r) => r['anchor']), ['a1', 'a4', 'a5', 'a6']);
  assert.deepEqual((await run(rows, { rule: 'self-curation', swap: false }, 'triplets')).rows.map((r) => r['anchor']), ['a1', 'a6']);
  await assert.rejects(run([{ anchor: 'a', positive: 'p', negative: 'n' }], { rule: 'self-curation' }, 'triplets'), /positive_score/);
});

test('embedding drops triplets whose negative is closer to the anchor than the positive', async () => {
  const vectors: Record<string, number[]> = { a: [1, 0], p: [0.9, 0.1], n: [0, 1], close: [1, 0.05], far: [0.2, 1] };
  filterHooks.encoderLoader = (path) => {
    assert.equal(path, '/models/enc.onnx');
    return { encode: (s: string[]) => s.map((x) => vectors[x] ?? [0, 0]) };
  };
  try {
    const model: FileValue = { form: 'file', path: '/models/enc.onnx', meta: {}, digest: 'd' as never };
    const rows = [
      { anchor: 'a', positive: 'p', negative: 'n' },
      { anchor: 'a', positive: 'far', negative: 'close' },
    ];
    const ctx = fakeContext({ options: {} });
    const out = await runNode(filter, { triplets: rowsValue(rows), model }, { rules: [{ rule: 'embedding' }] }, ctx);
    assert.deepEqual(out['triplets'], [rows[0]]);
    assert.deepEqual(ctx.stats.removed, { '1.embedding': 1 });
    await assert.rejects(runNode(filter, { triplets: rowsValue(rows) }, { rules: [{ rule: 'embedding' }] }, fakeContext({ options: {} })), /model/);
  } finally {
    delete filterHooks.encoderLoader;
  }
});

test('filter node composes rules in order and records removals per step', async () => {
  const rows = [
    { anchor: ' A dog runs. ', positive: 'A dog is running.', negative: 'A cat sleeps.' },
    { anchor: 'A dog runs.', positive: 'A dog is running.', negative: 'A cat sleeps.' },
    { anchor: 'A dog runs.', positive: "I'm sorry, I can't help with that.", negative: 'A cat sleeps.' },
  ];
  const ctx = fakeContext({ options: {} });
  const out = await runNode(filter, { triplets: rowsValue(rows) }, { rules: [{ rule: 'trim' }, { rule: 'refusals' }, { rule: 'dedupe' }] }, ctx);
  assert.deepEqual(out['triplets'], [rows[1]]);
  assert.deepEqual(out['pairs'], []);
  assert.deepEqual(ctx.stats.removed, { '1.trim': 0, '2.refusals': 1, '3.dedupe': 1 });
  await assert.rejects(runNode(filter, {}, { rules: [{ rule: 'trim' }] }, fakeContext({ options: {} })), /exactly one/);
  assert.throws(() => filter.params.parse({ rules: [{ rule: 'nope' }] }));
});
