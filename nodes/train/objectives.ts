/**
 * The dense part of each training objective, as a tfjs function of the batch's sentence vectors.
 * Input z: [sides × B, d], side k occupying rows kB…(k+1)B−1 (anchors, positives, optional hard negatives).
 */
import type { Scalar, Tensor1D, Tensor2D } from '@tensorflow/tfjs';
import type { Tf } from './tf-backend.js';

export const OBJECTIVES = ['simcse-sup', 'simcse-unsup', 'cosine-regression', 'multicsr-masked'] as const;
export type ObjectiveName = (typeof OBJECTIVES)[number];

/** What a loss needs besides the vectors; all plain arrays so the batch can be built outside tfjs. */
export interface DenseBatch {
  batch: number;
  sides: number;
  /** cosine-regression: one target cosine per pair. */
  labels?: Float32Array;
  /** multicsr-masked: similarity weights [B, (sides−1)B], 0 where a candidate is masked, else 1. */
  keep?: Float32Array;
}

export interface ObjectiveConfig {
  temperature: number;
  /** Added to the logit of each anchor's own hard negative (SimCSE's hard_negative_weight, log-space). */
  hardNegativeWeight: number;
}

/**
 * tfjs's cpu backend runs broadcasting element-wise ops through a very slow per-element index path, so these losses
 * avoid broadcasts: row norms are combined by an outer product (a matMul) and the softmax needs no max-shift
 * because logits are cosines / τ, bounded by 1/τ.
 */
function inverseNorms(tf: Tf, z: Tensor2D): Tensor1D {
  return tf.rsqrt(tf.add(tf.sum(tf.square(z), 1), 1e-12)) as Tensor1D;
}

/** Cosine of each anchor (rows 0…B−1) with each candidate (positives, then hard negatives): [B, (sides−1)B]. */
function anchorCosines(tf: Tf, z: Tensor2D, b: DenseBatch): Tensor2D {
  const B = b.batch;
  const width = (b.sides - 1) * B;
  const anchors = tf.slice(z, [0, 0], [B, -1]);
  const candidates = tf.slice(z, [B, 0], [width, -1]);
  const inv = inverseNorms(tf, z);
  const invAnchors = tf.reshape(tf.slice(inv, [0], [B]), [B, 1]);
  const invCandidates = tf.reshape(tf.slice(inv, [B], [width]), [1, width]);
  return tf.mul(tf.matMul(anchors, candidates, false, true), tf.matMul(invAnchors, invCandidates));
}

/** InfoNCE: anchor i against every positive and hard negative in the batch; target is positive i. */
function contrastiveLoss(tf: Tf, z: Tensor2D, b: DenseBatch, cfg: ObjectiveConfig): Scalar {
  const B = b.batch;
  const width = (b.sides - 1) * B;
  const cosines = anchorCosines(tf, z, b);
  const offsets = new Float32Array(B * width);
  if (b.sides === 3 && cfg.hardNegativeWeight !== 0) for (let i = 0; i < B; i++) offsets[i * width + B + i] = cfg.hardNegativeWeight;
  const logits = tf.add(tf.div(cosines, cfg.temperature), tf.tensor2d(offsets, [B, width]));
  const target = tf.oneHot(tf.range(0, B, 1, 'int32'), width);
  const logPartition = tf.log(tf.sum(tf.exp(logits), 1));
  const positive = tf.sum(tf.mul(logits, target), 1);
  return tf.mean(tf.sub(logPartition, positive)) as Scalar;
}

/** DINO: mean squared error between each pair's cosine and its label. */
function cosineRegressionLoss(tf: Tf, z: Tensor2D, b: DenseBatch): Scalar {
  if (!b.labels) throw new Error('Internal error: cosine-regression batch without labels');
  const B = b.batch;
  const left = tf.slice(z, [0, 0], [B, -1]);
  const right = tf.slice(z, [B, 0], [B, -1]);
  const inv = inverseNorms(tf, z);
  const cos = tf.mul(tf.mul(tf.sum(tf.mul(left, right), 1), tf.slice(inv, [0], [B])), tf.slice(inv, [B], [B]));
  return tf.mean(tf.square(tf.sub(cos, tf.tensor1d(b.labels)))) as Scalar;
}

/**
 * MultiCSR stage 3 as its released code computes it (simcse/models.py, cl_masked_forward): the logits cos/τ of a
 * masked candidate are multiplied by 0, so it stays in the softmax as e^0; the softmax outputs p are scored with
 * binary cross-entropy against the one-hot positive, −(y log p + (1−y) log(1−p)), averaged over every cell.
 * There is no hard-negative weight in that loss.
 */
export function multicsrMaskedLossFromCosines(tf: Tf, cosines: Tensor2D, keep: Tensor2D, temperature: number): Scalar {
  const [B, width] = cosines.shape;
  const logits = tf.mul(tf.div(cosines, temperature), keep);
  const e = tf.exp(logits);
  const partition = tf.reshape(tf.sum(e, 1), [B, 1]);
  // e / Z without a broadcast (see above): an outer product spreads 1/Z over each row.
  const p = tf.mul(e, tf.matMul(tf.reciprocal(partition), tf.ones([1, width])));
  const y = tf.oneHot(tf.range(0, B, 1, 'int32'), width);
  // 1e-12 only keeps log finite where float32 rounds p to exactly 0 or 1.
  const positive = tf.mul(y, tf.log(tf.add(p, 1e-12)));
  const negative = tf.mul(tf.sub(1, y), tf.log(tf.add(tf.sub(1, p), 1e-12)));
  return tf.neg(tf.mean(tf.add(positive, negative))) as Scalar;
}

function multicsrMaskedLoss(tf: Tf, z: Tensor2D, b: DenseBatch, cfg: ObjectiveConfig): Scalar {
  const width = (b.sides - 1) * b.batch;
  const keep = b.keep ?? new Float32Array(b.batch * width).fill(1);
  return multicsrMaskedLossFromCosines(tf, anchorCosines(tf, z, b), tf.tensor2d(keep, [b.batch, width]), cfg.temperature);
}

/**
 * multicsr-masked's weights [B, (sides−1)B] from unit-length frozen-encoder vectors: 0 where the frozen cosine of
 * anchor i and candidate j exceeds the threshold φ, else 1. Every candidate can be masked, the anchor's own hard
 * negative included; only the positive diagonal (i, i) is always kept, as in the released code.
 */
export function multicsrKeepWeights(anchors: readonly Float32Array[], candidateSides: readonly (readonly Float32Array[])[], threshold: number): Float32Array {
  const B = anchors.length;
  const width = candidateSides.length * B;
  const keep = new Float32Array(B * width).fill(1);
  for (let i = 0; i < B; i++) {
    const anchor = anchors[i]!;
    candidateSides.forEach((side, s) => {
      for (let j = 0; j < B; j++) {
        if (s === 0 && j === i) continue;
        const c = side[j]!;
        let dot = 0;
        for (let k = 0; k < anchor.length; k++) dot += anchor[k]! * c[k]!;
        if (dot > threshold) keep[i * width + s * B + j] = 0;
      }
    });
  }
  return keep;
}

export function objectiveLoss(tf: Tf, name: ObjectiveName, z: Tensor2D, b: DenseBatch, cfg: ObjectiveConfig): Scalar {
  switch (name) {
    case 'cosine-regression':
      return cosineRegressionLoss(tf, z, b);
    case 'multicsr-masked':
      return multicsrMaskedLoss(tf, z, b, cfg);
    case 'simcse-sup':
    case 'simcse-unsup':
      return contrastiveLoss(tf, z, b, cfg);
  }
}
