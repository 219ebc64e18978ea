/** The train node's `select`: which step is kept, and what picks it, apart from the reported figures. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { NodeUserError } from '../../engine/node-type.js';
import { trainingSetFromRows } from '../../nodes/train/data.js';
import { holdoutSplit, selectionScore, selectionSet } from '../../nodes/train/selection.js';
import { DEFAULT_TRAIN_OPTIONS, prepareTraining } from '../../nodes/train/train-glove.js';
import { train } from '../../nodes/train.js';
import { syntheticDev, syntheticTriplets, syntheticVectors } from './synthetic.js';
import { testProbe } from '../support/probe.js';

const pairs = Array.from({ length: 200 }, (_, i) => ({ text_a: `a${i}`, text_b: `b${i}`, label: [0, 0.5, 1][i % 3 === 0 ? 0 : i % 5 === 0 ? 1 : 2]! }));

test('holdout: a seeded, label-stratified 10% of the rows, out of training, scored with the rows\' own labels', () => {
  const { train: kept, heldOut } = holdoutSplit(pairs, 'cosine-regression', 42);
  assert.equal(kept.length + heldOut.gold.length, pairs.length);
  const heldTexts = new Set(heldOut.sentence1);
  assert.ok(kept.every((r) => !heldTexts.has(String(r.text_a))), 'held-out rows are not trained on');
  for (const label of [0, 0.5, 1]) {
    const stratum = pairs.filter((r) => r.label === label).length;
    const held = Array.from(heldOut.gold).filter((g) => g === label).length;
    assert.equal(held, Math.round(stratum * 0.1), `label ${label}: ${held} of ${stratum}`);
  }
  heldOut.sentence1.forEach((a, i) => assert.equal(heldOut.gold[i], pairs.find((r) => r.text_a === a)!.label));
  assert.deepEqual(holdoutSplit(pairs, 'cosine-regression', 42).heldOut, heldOut, 'same seed, same split');
  assert.notDeepEqual(holdoutSplit(pairs, 'cosine-regression', 43).heldOut.sentence1, heldOut.sentence1);
});

test('holdout on triplets scores (anchor, positive) as 1 and (anchor, hard negative) as 0; sentences have no labels', () => {
  const rows = syntheticTriplets(50);
  const { train: kept, heldOut } = holdoutSplit(rows, 'simcse-sup', 1);
  assert.equal(kept.length, 45);
  assert.equal(heldOut.gold.length, 10);
  const first = rows.find((r) => r.anchor === heldOut.sentence1[0])!;
  assert.deepEqual([heldOut.sentence2[0], heldOut.gold[0], heldOut.sentence2[1], heldOut.gold[1]], [first.positive, 1, first.negative, 0]);
  assert.throws(() => holdoutSplit(rows.map((r) => ({ text: r.anchor })), 'simcse-unsup', 1), (e: unknown) => e instanceof NodeUserError && /select: holdout/.test(e.message));
  const oneLabel = pairs.map((p) => ({ ...p, label: 1 }));
  assert.throws(() => holdoutSplit(oneLabel, 'cosine-regression', 1), /every held-out pair has the label 1/);
});

test('the trainer keeps the step the selection scores best, whatever the encoder: it only needs an embed function', async () => {
  const wv = syntheticVectors();
  const rows = syntheticTriplets(120);
  const dev = syntheticDev(60);
  const options = { ...DEFAULT_TRAIN_OPTIONS, batchSize: 16, epochs: 3, evalEvery: 2, wordLr: 0.05, seed: 3 };
  const spec = { weighting: 'sif' as const, commonComponent: false, projection: null, maxVocab: null };
  const { train: kept, heldOut } = holdoutSplit(rows, 'simcse-sup', 3);
  const p = await prepareTraining(wv, trainingSetFromRows(kept, 'simcse-sup'), [heldOut], spec, options);
  assert.equal(p.trainer.examples, kept.length);
  const summary = await p.trainer.run();
  assert.ok(Math.abs(Math.max(...summary.curves.dev.map(([, s]) => s)) - summary.bestDev) < 1e-3);
  assert.notEqual(summary.bestDev, selectionScore([selectionSet('stsb-dev', dev)], (s) => s.map(() => new Float32Array([1, 0]))));

  const last = await prepareTraining(wv, trainingSetFromRows(kept, 'simcse-sup'), undefined, spec, options);
  const lastSummary = await last.trainer.run();
  assert.deepEqual(lastSummary.curves.dev, [], 'select: last scores nothing');
  assert.equal(lastSummary.bestStep, lastSummary.steps);
});

test('the train node keys only the files its selection reads', () => {
  const data = mkdtempSync(join(tmpdir(), 'synthcse-select-'));
  mkdirSync(join(data, 'stsb'));
  mkdirSync(join(data, 'sick'));
  writeFileSync(join(data, 'stsb', 'dev.tsv'), 'sentence1\tsentence2\tscore\na\tb\t1\n');
  writeFileSync(join(data, 'sick', 'trial.tsv'), 'sentence1\tsentence2\tscore\na\tb\t1\n');
  const files = (select: string) => train.files!(train.params.parse({ data, select }), {}, testProbe()).map((f) => f.slice(data.length + 1));
  assert.deepEqual(files('stsb-dev'), ['stsb/dev.tsv']);
  assert.deepEqual(files('stsb-sickr-dev'), ['stsb/dev.tsv', 'sick/trial.tsv']);
  assert.deepEqual(files('holdout'), [], 'a change to STS-B dev does not rerun a holdout-selected training');
  assert.deepEqual(files('last'), []);
  assert.throws(() => train.params.parse({ select: 'stsb-test' }));
});
