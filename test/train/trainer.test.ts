import assert from 'node:assert/strict';
import { test } from 'node:test';
import { trainingSetFromRows } from '../../nodes/train/data.js';
import { OBJECTIVES, type ObjectiveName } from '../../nodes/train/objectives.js';
import { DEFAULT_TRAIN_OPTIONS, prepareTraining, type GloveEncoderSpec } from '../../nodes/train/train-glove.js';
import { TrainInterrupted, type TrainOptions } from '../../nodes/train/trainer.js';
import { Rng } from '../../nodes/train/rng.js';
import { selectionSet } from '../../nodes/train/selection.js';
import { sha256 } from '../../engine/json.js';
import { syntheticDev, syntheticTriplets, syntheticVectors } from './synthetic.js';

const wv = syntheticVectors();
const rows = syntheticTriplets(150);
const dev = [selectionSet('stsb-dev', syntheticDev(60))];
const spec: GloveEncoderSpec = { weighting: 'sif', commonComponent: true, projection: 12, maxVocab: null };
const options: TrainOptions = { ...DEFAULT_TRAIN_OPTIONS, batchSize: 16, epochs: 3, evalEvery: 4, checkpointEvery: 3, wordLr: 0.01, seed: 7 };

function modelDigest(model: { vectors: Float32Array; projection?: Float32Array }): string {
  const p = model.projection ?? new Float32Array(0);
  return sha256(Buffer.concat([Buffer.from(model.vectors.buffer), Buffer.from(p.buffer)]));
}

test('the PRNG is deterministic and restorable from its state', () => {
  const a = new Rng(42);
  a.nextUint32();
  const b = new Rng(a.state);
  assert.deepEqual([a.nextUint32(), a.nextFloat()], [b.nextUint32(), b.nextFloat()]);
  assert.notDeepEqual(new Rng(1).permutation(10), new Rng(2).permutation(10));
});

test('training twice with the same seed gives the same model; another seed does not', async () => {
  const set = trainingSetFromRows(rows, 'simcse-sup');
  const one = await prepareTraining(wv, set, dev, spec, options);
  await one.trainer.run();
  const two = await prepareTraining(wv, set, dev, spec, options);
  await two.trainer.run();
  assert.equal(modelDigest(one.model), modelDigest(two.model));
  const other = await prepareTraining(wv, set, dev, spec, { ...options, seed: 8 });
  await other.trainer.run();
  assert.notEqual(modelDigest(one.model), modelDigest(other.model));
});

test('a run killed after a checkpoint resumes from it and ends with the same model, bytes for bytes', async () => {
  const set = trainingSetFromRows(rows, 'simcse-sup');
  const whole = await prepareTraining(wv, set, dev, spec, options);
  const wholeSummary = await whole.trainer.run();

  // Interrupted run: keep the checkpoints it saves (every 3 steps and at epoch ends), "kill" it at step 11.
  const saved: { step: number; bytes: Uint8Array }[] = [];
  const first = await prepareTraining(wv, set, dev, spec, options);
  await assert.rejects(
    () =>
      first.trainer.run({
        onCheckpoint: (bytes, step) => saved.push({ step, bytes }),
        onStep: (step) => {
          if (step === 11) throw new Error('killed');
        },
      }),
    /killed/,
  );
  const last = saved.filter((c) => c.step <= 11).at(-1)!;
  assert.ok(last.step >= 9 && last.step < 11, `last checkpoint at step ${last.step}`);

  const resumed = await prepareTraining(wv, set, dev, spec, options);
  assert.equal(resumed.trainer.restore(last.bytes), true);
  const resumedSummary = await resumed.trainer.run();
  assert.equal(modelDigest(resumed.model), modelDigest(whole.model));
  assert.deepEqual(resumedSummary.curves, wholeSummary.curves);
  assert.equal(resumedSummary.bestStep, wholeSummary.bestStep);
  assert.equal(sha256(resumed.trainer.serialize()), sha256(whole.trainer.serialize()));
});

test('an aborted run saves a checkpoint and stops with TrainInterrupted', async () => {
  const set = trainingSetFromRows(rows, 'simcse-sup');
  const abort = new AbortController();
  const p = await prepareTraining(wv, set, dev, spec, options);
  let checkpoint: Uint8Array | undefined;
  await assert.rejects(
    () => p.trainer.run({ signal: abort.signal, onStep: (s) => s === 5 && abort.abort(), onCheckpoint: (b) => (checkpoint = b) }),
    TrainInterrupted,
  );
  const resumed = await prepareTraining(wv, set, dev, spec, options);
  assert.equal(resumed.trainer.restore(checkpoint!), true);
  await resumed.trainer.run();
  const whole = await prepareTraining(wv, set, dev, spec, options);
  await whole.trainer.run();
  assert.equal(modelDigest(resumed.model), modelDigest(whole.model));
});

test('a checkpoint from another configuration is refused', async () => {
  const set = trainingSetFromRows(rows, 'simcse-sup');
  const a = await prepareTraining(wv, set, dev, spec, options);
  const b = await prepareTraining(wv, set, dev, spec, { ...options, temperature: 0.1 });
  assert.equal(b.trainer.restore(a.trainer.serialize()), false);
});

const rowsFor = (objective: ObjectiveName) =>
  objective === 'cosine-regression'
    ? rows.map((r, i) => ({ text_a: r.anchor, text_b: i % 2 ? r.positive : r.negative, label: i % 2 ? 1 : 0 }))
    : objective === 'simcse-unsup'
      ? rows.map((r) => ({ text: r.anchor }))
      : rows;

for (const objective of OBJECTIVES) {
  test(`${objective}: the training loss goes down and dev selection keeps the best step`, async () => {
    const set = trainingSetFromRows(rowsFor(objective), objective);
    const p = await prepareTraining(wv, set, dev, { ...spec, projection: null }, { ...options, objective, epochs: 6, wordLr: 0.05, maskThreshold: 0.9 });
    const summary = await p.trainer.run();
    const losses = summary.curves.loss.map(([, l]) => l);
    assert.ok(losses.at(-1)! < losses[0]!, `loss ${losses[0]} → ${losses.at(-1)}`);
    assert.ok(Math.abs(Math.max(...summary.curves.dev.map(([, s]) => s)) - summary.bestDev) < 1e-3);
  });
}

test('bad rows are user errors naming the field', () => {
  assert.throws(() => trainingSetFromRows([{ anchor: 'a', positive: 'b' }, { anchor: 'c', positive: 'd' }], 'simcse-sup'), /field "negative"/);
  assert.throws(() => trainingSetFromRows([{ text: 'a' }, { text: 'b' }], 'cosine-regression'), /text_a/);
});
