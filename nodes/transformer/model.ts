/**
 * A transformer sentence encoder in memory: checkpoint weights (mutable, trained in place), its tokenizer and the
 * sentence pooling. `embedIds` runs the tfjs forward pass with dropout off; batches are padded to their longest
 * sentence.
 */
import type { Tensor } from '@tensorflow/tfjs';
import type { LoadedTf } from '../train/tf-backend.js';
import { Rng } from '../train/rng.js';
import type { TransformerCheckpoint, TransformerConfig, TransformerPooling } from './checkpoint.js';
import { denseParameterNames, MLP_BIAS, MLP_WEIGHT, parameterTensors, transformerForward, type SentencePooling } from './forward.js';
import type { TensorMap } from './safetensors.js';
import { TransformerTokenizer } from './tokenize.js';

export const WORD_EMBEDDINGS = 'embeddings.word_embeddings.weight';

export interface TransformerModel {
  config: TransformerConfig;
  weights: TensorMap;
  tokenizer: TransformerTokenizer;
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  pooling: SentencePooling;
  /** SimCSE's MLP (dense + tanh) after pooling at training time (weights "mlp.dense.*"). */
  mlpTrain: boolean;
  /** …and when encoding (false for cls_before_pooler: unsupervised SimCSE drops it at test). */
  mlpTest: boolean;
}

/** What the user asks for; 'checkpoint' takes the sentence-transformers pooling of the checkpoint (else mean). */
export type PoolingChoice = TransformerPooling | 'checkpoint';

export function resolvePooling(choice: PoolingChoice, checkpoint: TransformerCheckpoint): { pooling: SentencePooling; mlpTrain: boolean; mlpTest: boolean } {
  if (choice === 'checkpoint') {
    // The checkpoint's own sentence-transformers modules: its pooling, and its Dense layer (SimCSE's MLP) if any.
    const hasMlp = checkpoint.weights.has(MLP_WEIGHT);
    const own = checkpoint.pooling ?? 'mean';
    return { pooling: own === 'cls_before_pooler' || own === 'cls' ? 'cls' : own, mlpTrain: hasMlp, mlpTest: hasMlp };
  }
  switch (choice) {
    case 'cls':
      return { pooling: 'cls', mlpTrain: true, mlpTest: true };
    case 'cls_before_pooler':
      return { pooling: 'cls', mlpTrain: true, mlpTest: false };
    case 'mean':
    case 'max':
      return { pooling: choice, mlpTrain: false, mlpTest: false };
  }
}

/** SimCSE's MLP starts like BERT's Linear layers: N(0, initializer_range²) weights, zero bias, from the seed. */
function initialMlp(config: TransformerConfig, seed: number): TensorMap {
  const H = config.hidden;
  const std = typeof config.raw.initializer_range === 'number' ? config.raw.initializer_range : 0.02;
  const rng = new Rng(seed ^ 0x6d6c70);
  const weight = new Float32Array(H * H);
  for (let i = 0; i < weight.length; i++) weight[i] = rng.nextGaussian() * std;
  return new Map([
    [MLP_WEIGHT, { shape: [H, H], data: weight }],
    [MLP_BIAS, { shape: [H], data: new Float32Array(H) }],
  ]);
}

export function modelFromCheckpoint(checkpoint: TransformerCheckpoint, choice: PoolingChoice, maxSeqLength: number, seed: number): TransformerModel {
  const { pooling, mlpTrain, mlpTest } = resolvePooling(choice, checkpoint);
  const weights: TensorMap = new Map();
  // Copies: training mutates the model, never the loaded checkpoint.
  for (const [name, t] of checkpoint.weights) weights.set(name, { shape: t.shape, data: t.data.slice() });
  if (mlpTrain && !weights.has(MLP_WEIGHT)) for (const [name, t] of initialMlp(checkpoint.config, seed)) weights.set(name, t);
  const maxLength = Math.min(maxSeqLength, checkpoint.config.maxPositions - checkpoint.config.positionOffset);
  return {
    config: checkpoint.config,
    weights,
    tokenizer: new TransformerTokenizer(checkpoint.tokenizerJson, checkpoint.tokenizerConfig, maxLength),
    tokenizerJson: checkpoint.tokenizerJson,
    tokenizerConfig: checkpoint.tokenizerConfig,
    pooling,
    mlpTrain,
    mlpTest,
  };
}

export interface PaddedBatch {
  n: number;
  seq: number;
  ids: Int32Array;
  mask: Float32Array;
  /** Word-embedding rows per token, [n × seq × hidden] (padding gets the pad token's row). */
  embedded: Float32Array;
}

export function padBatch(model: TransformerModel, sentences: readonly Int32Array[]): PaddedBatch {
  const n = sentences.length;
  const seq = Math.max(1, ...sentences.map((s) => s.length));
  const H = model.config.hidden;
  const table = model.weights.get(WORD_EMBEDDINGS)!.data;
  const ids = new Int32Array(n * seq).fill(model.config.padTokenId);
  const mask = new Float32Array(n * seq);
  sentences.forEach((s, i) => {
    ids.set(s, i * seq);
    mask.fill(1, i * seq, i * seq + s.length);
  });
  const embedded = new Float32Array(n * seq * H);
  for (let t = 0; t < ids.length; t++) embedded.set(table.subarray(ids[t]! * H, ids[t]! * H + H), t * H);
  return { n, seq, ids, mask, embedded };
}

/** Sentence vectors with dropout off, in input order; batches sorted by length to limit padding. */
export function embedIds(tfx: LoadedTf, model: TransformerModel, sentences: readonly Int32Array[], batchSize = 64): Float32Array[] {
  const { tf } = tfx;
  const out = new Array<Float32Array>(sentences.length);
  const order = sentences.map((_, i) => i).sort((a, b) => sentences[a]!.length - sentences[b]!.length || a - b);
  const names = denseParameterNames(model.config, model.mlpTest);
  const H = model.config.hidden;
  tf.tidy(() => {
    const params: Map<string, Tensor> = parameterTensors(tf, model.weights, names);
    for (let start = 0; start < order.length; start += batchSize) {
      const slice = order.slice(start, start + batchSize);
      const b = padBatch(model, slice.map((i) => sentences[i]!));
      const pooled = tf.tidy(() =>
        transformerForward(tf, model.config, params, { n: b.n, seq: b.seq, embedded: tf.tensor3d(b.embedded, [b.n, b.seq, H]), mask: b.mask }, { pooling: model.pooling, mlp: model.mlpTest }),
      );
      const data = pooled.dataSync() as Float32Array;
      const width = pooled.shape[1];
      pooled.dispose();
      slice.forEach((i, k) => (out[i] = data.slice(k * width, (k + 1) * width)));
    }
  });
  return out;
}

export function embedTexts(tfx: LoadedTf, model: TransformerModel, texts: readonly string[], batchSize = 64): Float32Array[] {
  return embedIds(tfx, model, texts.map((t) => model.tokenizer.encode(t)), batchSize);
}
