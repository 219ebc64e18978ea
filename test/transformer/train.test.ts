/** Training a tiny random transformer: gradients, every objective, selection, determinism and resume. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sha256 } from '../../engine/json.js';
import { trainingSetFromRows } from '../../nodes/train/data.js';
import { OBJECTIVES, objectiveLoss, type DenseBatch, type ObjectiveName } from '../../nodes/train/objectives.js';
import { selectionSet } from '../../nodes/train/selection.js';
import { loadTf } from '../../nodes/train/tf-backend.js';
import { DEFAULT_TRAIN_OPTIONS } from '../../nodes/train/train-glove.js';
import type { TrainOptions } from '../../nodes/train/trainer.js';
import { loadCheckpoint } from '../../nodes/transformer/checkpoint.js';
import type { TransformerModel } from '../../nodes/transformer/model.js';
import { prepareTransformerTraining, type TransformerSpec } from '../../nodes/transformer/prepare.js';
import type { TransformerOptimizer } from '../../nodes/transformer/trainable.js';
import { tinyCheckpoint, tinyDev, tinyTriplets, type TinyArchitecture } from './tiny.js';

const triplets = tinyTriplets(48);
const dev = tinyDev(40);
const optimizer: TransformerOptimizer = { lr: 1e-3, warmupRatio: 0.1, weightDecay: 0.01, maxGradNorm: 1 };
const options: TrainOptions = { ...DEFAULT_TRAIN_OPTIONS, batchSize: 8, epochs: 2, evalEvery: 3, checkpointEvery: 2, seed: 5, maskThreshold: 0.5 };
const spec: TransformerSpec = { pooling: 'cls', maxSeqLength: 32 };

function rowsFor(objective: ObjectiveName): Record<string, string | number>[] {
  if (objective === 'cosine-regression') return triplets.map((r, i) => ({ text_a: r.anchor, text_b: i % 2 ? r.positive : r.negative, label: i % 2 ? 1 : 0 }));
  if (objective === 'simcse-unsup') return triplets.map((r) => ({ text: r.anchor }));
  return triplets;
}

function modelDigest(model: TransformerModel): string {
  const names = [...model.weights.keys()].sort();
  return sha256(Buffer.concat(names.map((n) => Buffer.from(model.weights.get(n)!.data.buffer))));
}

async function prepared(architecture: TinyArchitecture, objective: ObjectiveName, overrides: Partial<TrainOptions> = {}, initStd = 0.02) {
  const checkpoint = loadCheckpoint(tinyCheckpoint(architecture, 1, initStd));
  const set = trainingSetFromRows(rowsFor(objective), objective);
  return prepareTransformerTraining(checkpoint, set, [selectionSet('stsb-dev', dev)], spec, { ...options, objective, ...overrides }, optimizer);
}

/** The batch's dense description, as the Trainer builds it for each objective. */
function denseBatch(objective: ObjectiveName, B: number): { sides: number; dense: DenseBatch } {
  const sides = objective === 'simcse-sup' ? 3 : 2;
  const dense: DenseBatch = { batch: B, sides };
  if (objective === 'cosine-regression') dense.labels = Float32Array.from({ length: B }, (_, i) => (i % 2 ? 0.9 : 0.1));
  if (objective === 'multicsr-masked') {
    dense.keep = new Float32Array(B * B).fill(1);
    dense.keep[1] = 0; // anchor 0's candidate 1 is masked
  }
  return { sides, dense };
}

for (const objective of OBJECTIVES) {
  test(`${objective}: gradients of the loss match finite differences`, async () => {
    // Larger initial weights than BERT's 0.02 give gradients well above float32's finite-difference noise.
    const { encoder, model } = await prepared('bert', objective, {}, 0.3);
    const { tf } = await loadTf();
    const B = 3;
    const { sides, dense } = denseBatch(objective, B);
    const texts = [...triplets.slice(0, B).map((t) => t.anchor), ...triplets.slice(0, B).map((t) => t.positive), ...triplets.slice(0, B).map((t) => t.negative)];
    const sentences = texts.slice(0, sides * B).map((t) => model.tokenizer.encode(t));
    if (objective === 'simcse-unsup') sentences.splice(B, B, ...sentences.slice(0, B));
    const lossOf = (z: Parameters<typeof objectiveLoss>[2]) => objectiveLoss(tf, objective, z, dense, { temperature: 0.05, hardNegativeWeight: 0.5 });
    // Dropout off, so the loss is a deterministic function of the weights.
    const { grads } = encoder.lossAndGradients(sentences, lossOf, undefined);
    const probe = [
      'embeddings.word_embeddings.weight',
      'embeddings.position_embeddings.weight',
      'embeddings.LayerNorm.weight',
      'encoder.layer.0.attention.self.key.weight',
      'encoder.layer.0.output.LayerNorm.bias',
      'encoder.layer.1.attention.output.dense.bias',
      'encoder.layer.1.intermediate.dense.weight',
      'mlp.dense.weight',
    ];
    for (const name of probe) {
      const g = grads.get(name)!;
      // The weight with the largest gradient of this tensor: finite differences are meaningful there.
      let at = 0;
      for (let i = 0; i < g.length; i++) if (Math.abs(g[i]!) > Math.abs(g[at]!)) at = i;
      const w = model.weights.get(name)!.data;
      const h = 1e-2;
      const original = w[at]!;
      w[at] = original + h;
      const up = encoder.lossAndGradients(sentences, lossOf, undefined).loss;
      w[at] = original - h;
      const down = encoder.lossAndGradients(sentences, lossOf, undefined).loss;
      w[at] = original;
      const numeric = (up - down) / (2 * h);
      assert.ok(Math.abs(g[at]!) > 1e-4, `${name}: gradient ${g[at]} too small to check`);
      assert.ok(Math.abs(numeric - g[at]!) <= 2e-4 + 0.02 * Math.abs(g[at]!), `${name}[${at}]: analytic ${g[at]} vs numeric ${numeric}`);
    }
  });
}

for (const [architecture, objective] of [['bert', 'simcse-sup'], ['roberta', 'simcse-unsup'], ['bert', 'cosine-regression'], ['roberta', 'multicsr-masked']] as const) {
  test(`${architecture} ${objective}: the loss falls and selection keeps the best dev step`, async () => {
    // A random tiny encoder's [CLS] vectors all have cosine ≈ 0.99999, so any φ below that masks every candidate and
    // the loss starts at 0: φ 1 keeps them (masking itself is covered by the gradient check above).
    const { trainer } = await prepared(architecture, objective, { epochs: 4, ...(objective === 'multicsr-masked' ? { maskThreshold: 1 } : {}) });
    const summary = await trainer.run();
    const losses = summary.curves.loss.map(([, l]) => l);
    assert.ok(losses.at(-1)! < losses[0]!, `loss ${losses[0]} → ${losses.at(-1)}`);
    const best = Math.max(...summary.curves.dev.map(([, s]) => s));
    assert.ok(Math.abs(best - summary.bestDev) < 1e-3);
    assert.equal(summary.backend, (await loadTf()).backend);
  });
}

test('the same seed trains the same model; a run killed mid-training resumes to the identical model', async () => {
  const whole = await prepared('roberta', 'simcse-sup');
  const wholeSummary = await whole.trainer.run();
  const again = await prepared('roberta', 'simcse-sup');
  await again.trainer.run();
  assert.equal(modelDigest(again.model), modelDigest(whole.model));

  const saved: { step: number; bytes: Uint8Array }[] = [];
  const first = await prepared('roberta', 'simcse-sup');
  await assert.rejects(
    () =>
      first.trainer.run({
        onCheckpoint: (bytes, step) => saved.push({ step, bytes }),
        onStep: (step) => {
          if (step === 9) throw new Error('killed');
        },
      }),
    /killed/,
  );
  const resumed = await prepared('roberta', 'simcse-sup');
  assert.equal(resumed.trainer.restore(saved.at(-1)!.bytes), true);
  const resumedSummary = await resumed.trainer.run();
  assert.equal(modelDigest(resumed.model), modelDigest(whole.model));
  assert.equal(resumedSummary.bestStep, wholeSummary.bestStep);
  assert.deepEqual(resumedSummary.curves, wholeSummary.curves);

  const otherSeed = await prepared('roberta', 'simcse-sup', { seed: 6 });
  assert.equal(otherSeed.trainer.restore(saved.at(-1)!.bytes), false);
});
