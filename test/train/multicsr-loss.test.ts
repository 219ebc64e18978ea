/** multicsr-masked as MultiCSR's released cl_masked_forward: masked similarities ×0, BCE over softmax outputs. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Tensor, Tensor2D } from '@tensorflow/tfjs';
import { multicsrKeepWeights, multicsrMaskedLossFromCosines, objectiveLoss } from '../../nodes/train/objectives.js';
import { loadTf } from '../../nodes/train/tf-backend.js';

const unit = (...v: number[]): Float32Array => {
  const n = Math.hypot(...v);
  return Float32Array.from(v, (x) => x / n);
};

test('the keep weights mask any candidate above φ, the anchor\'s own hard negative included, never the positive diagonal', () => {
  // Frozen vectors: anchor 0 and 1 are near-duplicates; every sentence is its own positive and hard negative.
  const a = [unit(1, 0, 0), unit(1, 0.01, 0), unit(0, 0, 1)];
  const keep = multicsrKeepWeights(a, [a, a], 0.9);
  const width = 6;
  const at = (i: number, j: number) => keep[i * width + j];
  for (let i = 0; i < 3; i++) assert.equal(at(i, i), 1, `positive (${i}, ${i}) is kept`);
  assert.equal(at(0, 1), 0, 'in-batch positive of a near-duplicate is masked');
  assert.equal(at(1, 0), 0);
  assert.equal(at(0, 3), 0, "the anchor's own hard negative (cosine 1 here) is masked");
  assert.equal(at(0, 4), 0, "another anchor's hard negative above φ is masked");
  assert.equal(at(0, 2), 1, 'a dissimilar candidate is kept');
  assert.equal(at(2, 5), 0, 'row 2: its own hard negative is masked too');
  assert.equal(at(2, 0), 1);
});

test('a masked similarity stays in the softmax as e^0 with zero gradient, and BCE averages over every cell', async () => {
  const { tf } = await loadTf();
  const cos = [
    [0.9, 0.8, 0.1, 0.3],
    [0.2, 0.7, 0.4, 0.1],
  ];
  const keep = [
    [1, 0, 1, 1],
    [1, 1, 1, 1],
  ];
  const tau = 0.05;
  const loss = (k: number[][]) => tf.tidy(() => multicsrMaskedLossFromCosines(tf, tf.tensor2d(cos), tf.tensor2d(k), tau).dataSync()[0]!);

  // The released formula, written out by hand.
  const expected = (() => {
    let total = 0;
    cos.forEach((row, i) => {
      const logits = row.map((c, j) => (c / tau) * keep[i]![j]!);
      const z = logits.reduce((s, l) => s + Math.exp(l), 0);
      logits.forEach((l, j) => {
        const p = Math.exp(l) / z;
        total += j === i ? -Math.log(p) : -Math.log(1 - p);
      });
    });
    return total / 8;
  })();
  const masked = loss(keep);
  assert.ok(Math.abs(masked - expected) < 1e-4 * Math.max(1, Math.abs(expected)), `${masked} vs ${expected}`);
  const unmasked = loss(cos.map((row) => row.map(() => 1)));
  assert.ok(Math.abs(masked - unmasked) > 1e-3, `masking changes the loss (${masked} vs ${unmasked})`);

  const grads = tf.tidy(() =>
    tf.grad((c: Tensor) => multicsrMaskedLossFromCosines(tf, c as Tensor2D, tf.tensor2d(keep), tau))(tf.tensor2d(cos)).arraySync() as number[][],
  );
  assert.equal(grads[0]![1], 0, 'the masked cell gets no gradient');
  assert.notEqual(grads[0]![0], 0);
  assert.notEqual(grads[0]![2], 0);
});

test('through the objective: a hard negative masked for every anchor gets zero gradient; unmasked it does not', async () => {
  const { tf } = await loadTf();
  const B = 3;
  const d = 4;
  const z = Float32Array.from({ length: 3 * B * d }, (_, i) => Math.sin(i * 1.7) + 0.1 * i);
  const keep = new Float32Array(B * 2 * B).fill(1);
  for (let i = 0; i < B; i++) keep[i * 2 * B + B + 1] = 0; // hard negative 1, in every row
  const gradOf = (k: Float32Array) =>
    tf.tidy(() => {
      const f = (x: Tensor) => objectiveLoss(tf, 'multicsr-masked', x as Tensor2D, { batch: B, sides: 3, keep: k }, { temperature: 0.05, hardNegativeWeight: 0 });
      return tf.grad(f)(tf.tensor2d(z, [3 * B, d])).arraySync() as number[][];
    });
  const masked = gradOf(keep);
  const negativeRow = 2 * B + 1;
  assert.deepEqual(masked[negativeRow], [0, 0, 0, 0], 'no gradient reaches the masked hard negative');
  const unmasked = gradOf(new Float32Array(B * 2 * B).fill(1));
  assert.ok(unmasked[negativeRow]!.some((g) => Math.abs(g) > 1e-6), 'unmasked, it is pushed away');
});
