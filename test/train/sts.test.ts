import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { SentenceEncoder } from '../../nodes/encoders/types.js';
import { evaluateEncoder } from '../../nodes/sts/evaluate.js';
import { loadSentEvalSts, loadSickTxt, loadSimpleTsv, loadStsbCsv, loadStsFile } from '../../nodes/sts/loaders.js';
import { spearman } from '../../nodes/sts/spearman.js';
import { markdownTable } from '../../nodes/sts/table.js';
import { discoverTasks } from '../../nodes/sts/tasks.js';

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-sts-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

test('loaders: simple tsv (by header name), SentEval pairs with empty gold lines, STS-B csv, SICK txt', () => {
  const dir = folder({
    'a.tsv': 'score\tsentence2\tsentence1\n4.5\tB "quoted"\tA\n1\tD\tC\n',
    'noheader.tsv': 'x\ty\t2.5\n',
    'STS.input.news.txt': 'a b\tc d\ne f\tg h\ni j\tk l\n',
    'STS.gs.news.txt': '3.2\n\n1.0\n',
    'sts-test.csv': 'main-captions\tMSRvid\t2012test\t0001\t2.500\tA man.\tA woman.\textra\n',
    'SICK_test_annotated.txt': 'pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment\n1\tA dog.\tA cat.\t3.3\tNEUTRAL\n',
  });
  assert.deepEqual(loadSimpleTsv(join(dir, 'a.tsv')), [
    { sentence1: 'A', sentence2: 'B "quoted"', score: 4.5 },
    { sentence1: 'C', sentence2: 'D', score: 1 },
  ]);
  assert.deepEqual(loadSimpleTsv(join(dir, 'noheader.tsv')), [{ sentence1: 'x', sentence2: 'y', score: 2.5 }]);
  assert.deepEqual(loadSentEvalSts(join(dir, 'STS.input.news.txt'), join(dir, 'STS.gs.news.txt')), [
    { sentence1: 'a b', sentence2: 'c d', score: 3.2 },
    { sentence1: 'i j', sentence2: 'k l', score: 1 },
  ]);
  assert.deepEqual(loadStsbCsv(join(dir, 'sts-test.csv')), [{ sentence1: 'A man.', sentence2: 'A woman.', score: 2.5 }]);
  assert.deepEqual(loadSickTxt(join(dir, 'SICK_test_annotated.txt')), [{ sentence1: 'A dog.', sentence2: 'A cat.', score: 3.3 }]);
  assert.deepEqual(loadStsFile(join(dir, 'SICK_test_annotated.txt')), loadSickTxt(join(dir, 'SICK_test_annotated.txt')));
});

/** An encoder whose "embedding" is a 2-d vector read from the sentence: "v x y" → [x, y]. */
const fakeEncoder: SentenceEncoder = {
  kind: 'onnx',
  dim: 2,
  async encode(sentences) {
    return sentences.map((s) => Float32Array.from(s.split(' ').slice(1, 3).map(Number)));
  },
  async close() {},
};

const tsv = (rows: [string, string, number][]): string => 'sentence1\tsentence2\tscore\n' + rows.map((r) => r.join('\t')).join('\n') + '\n';

test('tasks: STS13 drops SMT, a year is one correlation over all its subsets, missing tasks are reported', async () => {
  const sub1: [string, string, number][] = [['v 1 0', 'v 1 0', 5], ['v 1 0', 'v 1 1', 3], ['v 1 0', 'v 0 1', 0]];
  const sub2: [string, string, number][] = [['v 1 0', 'v 2 1', 4], ['v 1 0', 'v -1 1', 1]];
  const dir = folder({
    'sts13/headlines.tsv': tsv(sub1),
    'sts13/FNWN.tsv': tsv(sub2),
    'sts13/SMT.tsv': tsv([['v 1 0', 'v 1 0', 0], ['v 1 0', 'v 0 1', 5]]),
    'stsb/dev.tsv': tsv(sub1),
  });
  const { tasks, missing } = discoverTasks(dir);
  assert.deepEqual(tasks.map((t) => t.name), ['STS13', 'stsb-dev']);
  assert.deepEqual(tasks[0]!.subsets.map((s) => s.name).sort(), ['FNWN', 'headlines']);
  assert.deepEqual(missing, ['STS12', 'STS14', 'STS15', 'STS16', 'STS-B', 'SICK-R', 'sickr-dev']);

  const skipped: string[] = [];
  const result = await evaluateEncoder(fakeEncoder, dir, { modelName: 'fake', onSkip: (t) => skipped.push(t) });
  assert.deepEqual(skipped, missing);
  const sts13 = result.metrics.find((m) => m.task === 'STS13')!;
  // "all": the five pairs pooled. Cosines: 1, 0.7071, 0, 0.8944, -0.7071 vs gold 5, 3, 0, 4, 1.
  const cos = [1, Math.SQRT1_2, 0, 2 / Math.sqrt(5), -Math.SQRT1_2];
  assert.equal(sts13.pairs, 5);
  assert.ok(Math.abs(sts13.spearman - spearman(cos, [5, 3, 0, 4, 1]) * 100) < 1e-3);
  assert.ok(!result.metrics.some((m) => m.task === 'Avg.'), 'no average without all 7 tasks');
});

test('the average appears only with all seven tasks, and the table has the papers\' columns', async () => {
  const rows: [string, string, number][] = [['v 1 0', 'v 1 0', 5], ['v 1 0', 'v 1 1', 3], ['v 1 0', 'v 0 1', 0]];
  const files: Record<string, string> = { 'stsb/test.tsv': tsv(rows), 'sick/test.tsv': tsv(rows), 'stsb/dev.tsv': tsv(rows) };
  for (const y of ['sts12', 'sts13', 'sts14', 'sts15', 'sts16']) files[`${y}/x.tsv`] = tsv(rows);
  const result = await evaluateEncoder(fakeEncoder, folder(files), { modelName: 'm' });
  const avg = result.metrics.find((m) => m.task === 'Avg.');
  assert.equal(avg?.spearman, 100);
  const table = markdownTable([...result.metrics, ...result.metrics.map((m) => ({ ...m, model: 'base' }))]);
  const lines = table.split('\n');
  assert.equal(lines[0], '| Model | STS12 | STS13 | STS14 | STS15 | STS16 | STS-B | SICK-R | Avg. | stsb-dev |');
  assert.equal(lines.length, 4);
  assert.match(lines[2]!, /^\| m \| 100\.00 \|/);
});
