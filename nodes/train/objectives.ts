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
  /** Contrastive: additive logit mask [B, (sides−1)B], −1e4 where a candidate is masked out. */
  logitMask?: Float32Array;
}

export interface ObjectiveConfig {
  temperature: number;
  /** Added to the logit of each anchor's own hard negative (SimCSE's hard_negative_weight, log-space). */
  hardNegativeWeight: number;
}

export const MASKED_LOGIT = -1e4;

/**
 * tfjs's cpu backend runs broadcasting element-wise ops through a very slow per-element index path, so these losses
 * avoid broadcasts: row norms are combined by an outer product (a matMul) and the softmax needs no max-shift
 * because logits are cosines / τ, bounded by 1/τ (masked logits are −1e4, whose exp is 0).
 */
function inverseNorms(tf: Tf, z: Tensor2D): Tensor1D {
  return tf.rsqrt(tf.add(tf.sum(tf.square(z), 1), 1e-12)) as Tensor1D;
}

/** InfoNCE: anchor i against every positive and hard negative in the batch; target is positive i. */
function contrastiveLoss(tf: Tf, z: Tensor2D, b: DenseBatch, cfg: ObjectiveConfig): Scalar {
  const B = b.batch;
  const width = (b.sides - 1) * B;
  const anchors = tf.slice(z, [0, 0], [B, -1]);
  const candidates = tf.slice(z, [B, 0], [width, -1]);
  const inv = inverseNorms(tf, z);
  const invAnchors = tf.reshape(tf.slice(inv, [0], [B]), [B, 1]);
  const invCandidates = tf.reshape(tf.slice(inv, [B], [width]), [1, width]);
  const cosines = tf.mul(tf.matMul(anchors, candidates, false, true), tf.matMul(invAnchors, invCandidates));
  const offsets = new Float32Array(B * width);
  if (b.sides === 3 && cfg.hardNegativeWeight !== 0) for (let i = 0; i < B; i++) offsets[i * width + B + i] = cfg.hardNegativeWeight;
  if (b.logitMask) for (let k = 0; k < offsets.length; k++) offsets[k]! += b.logitMask[k]!;
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

export function objectiveLoss(tf: Tf, name: ObjectiveName, z: Tensor2D, b: DenseBatch, cfg: ObjectiveConfig): Scalar {
  return name === 'cosine-regression' ? cosineRegressionLoss(tf, z, b) : contrastiveLoss(tf, z, b, cfg);
}
