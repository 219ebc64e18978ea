/**
 * The BERT/RoBERTa encoder's forward pass in TensorFlow.js, written once for training (dropout on) and encoding
 * (dropout off): embeddings (word rows + positions + token type 0, LayerNorm), L × [self-attention with the padding
 * mask, residual LayerNorm, GELU (erf) feed-forward, residual LayerNorm], then pooling (cls, mean or max over the
 * mask) and optionally SimCSE's MLP (dense + tanh).
 *
 * The word-embedding lookup happens outside: callers pass the gathered rows [n, L, H] as a tensor, so the taped
 * graph has no gather (the wasm backend has no gradient for it) and its gradient arrives per token row.
 */
import type { GradSaveFunc, Tensor, Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs';
import type { Tf } from '../train/tf-backend.js';
import type { TransformerConfig } from './checkpoint.js';
import type { TensorMap } from './safetensors.js';

export type SentencePooling = 'cls' | 'mean' | 'max';

/** The attention mask's additive value for padding (masked probabilities are exactly 0 after softmax in float32). */
export const MASK_VALUE = -1e4;

export const MLP_WEIGHT = 'mlp.dense.weight';
export const MLP_BIAS = 'mlp.dense.bias';

export interface ForwardBatch {
  n: number;
  seq: number;
  /** Word-embedding rows of each token, [n, seq, hidden]. */
  embedded: Tensor3D;
  /** 1 for tokens, 0 for padding, [n × seq]. */
  mask: Float32Array;
}

export interface ForwardOptions {
  pooling: SentencePooling;
  mlp: boolean;
  /** Dropout on (training) with masks drawn from this seed; undefined: off. */
  dropoutSeed?: number;
}

/** Trainable tensors of the encoder except the word-embedding table, in a fixed order. */
export function denseParameterNames(config: TransformerConfig, mlp: boolean): string[] {
  const names = ['embeddings.position_embeddings.weight', 'embeddings.token_type_embeddings.weight', 'embeddings.LayerNorm.weight', 'embeddings.LayerNorm.bias'];
  for (let l = 0; l < config.layers; l++) {
    const p = `encoder.layer.${l}.`;
    for (const d of ['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense']) names.push(`${p}${d}.weight`, `${p}${d}.bias`);
    names.push(`${p}attention.output.LayerNorm.weight`, `${p}attention.output.LayerNorm.bias`);
    for (const d of ['intermediate.dense', 'output.dense']) names.push(`${p}${d}.weight`, `${p}${d}.bias`);
    names.push(`${p}output.LayerNorm.weight`, `${p}output.LayerNorm.bias`);
  }
  if (mlp) names.push(MLP_WEIGHT, MLP_BIAS);
  return names;
}

export function parameterTensors(tf: Tf, weights: TensorMap, names: readonly string[]): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const name of names) {
    const w = weights.get(name);
    if (!w) throw new Error(`Internal error: weight ${name} missing`);
    out.set(name, tf.tensor(w.data, w.shape));
  }
  return out;
}

/**
 * x · y (rank 2, or batched rank 4) with a gradient made of untransposed products too: the wasm backend runs a
 * matMul with a transposed operand about 20× slower than a plain one (measured: 1,072 ms vs 58 ms for
 * 2048×256 · 256×1024), and tfjs's own matMul gradient uses transposed operands. Explicit transposes are cheap.
 */
export function plainMatMul<T extends Tensor2D | Tensor4D>(tf: Tf, x: T, y: T): T {
  const swapLast = (t: Tensor): Tensor => tf.transpose(t, t.rank === 2 ? [1, 0] : [0, 1, 3, 2]);
  const f = tf.customGrad(((a: Tensor, b: Tensor, save: GradSaveFunc) => {
    save([a, b]);
    return {
      value: tf.matMul(a as Tensor2D, b as Tensor2D),
      gradFunc: (dy: Tensor, saved: Tensor[]) => [tf.matMul(dy as Tensor2D, swapLast(saved[1]!) as Tensor2D), tf.matMul(swapLast(saved[0]!) as Tensor2D, dy as Tensor2D)],
    };
  }) as unknown as Parameters<Tf['customGrad']>[0]);
  return f(x, y) as T;
}

/**
 * x · Wᵀ + b for PyTorch-layout W [out, in], with a gradient of plain matMuls only: besides transposed operands
 * (see plainMatMul), tfjs sums the bias gradient over rows, which the wasm backend does by transposing the whole
 * [rows, out] gradient first; a ones-row matMul gives the same sum without it.
 */
export function linear(tf: Tf, x: Tensor2D, weight: Tensor2D, bias: Tensor): Tensor2D {
  const f = tf.customGrad(((a: Tensor, w: Tensor, b: Tensor, save: GradSaveFunc) => {
    save([a, w]);
    return {
      // tidy: the transposed weight and the product before the bias are not kept until the gradient.
      value: tf.tidy(() => tf.add(tf.matMul(a as Tensor2D, tf.transpose(w) as Tensor2D), b)),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [input, kernel] = saved as [Tensor2D, Tensor2D];
        const rows = input.shape[0];
        const ones = tf.ones([1, rows]) as Tensor2D;
        return [
          tf.matMul(dy as Tensor2D, kernel),
          // dW = dyᵀ · x, as (xᵀ · dy)ᵀ: one transpose of the (small) result instead of the activations.
          tf.transpose(tf.matMul(tf.transpose(input) as Tensor2D, dy as Tensor2D)),
          tf.reshape(tf.matMul(ones, dy as Tensor2D), [kernel.shape[0]]),
        ];
      },
    };
  }) as unknown as Parameters<Tf['customGrad']>[0]);
  return f(x, weight, bias) as Tensor2D;
}

/**
 * GELU (erf form) keeping only its input for the gradient: tfjs would keep the four intermediate tensors of
 * x·½·(1 + erf(x/√2)), which at the feed-forward width dominate the memory of a step (the wasm backend's tensors fail
 * past about 2 GB). d/dx = Φ(x) + x·φ(x).
 */
export function gelu(tf: Tf, x: Tensor2D): Tensor2D {
  const f = tf.customGrad(((a: Tensor, save: GradSaveFunc) => {
    save([a]);
    return {
      value: tf.tidy(() => tf.mul(tf.mul(a, 0.5), tf.add(tf.erf(tf.mul(a, Math.SQRT1_2)), 1))),
      gradFunc: (dy: Tensor, saved: Tensor[]) =>
        tf.tidy(() => {
          const input = saved[0]!;
          const cdf = tf.mul(tf.add(tf.erf(tf.mul(input, Math.SQRT1_2)), 1), 0.5);
          const pdf = tf.mul(tf.exp(tf.mul(tf.square(input), -0.5)), 1 / Math.sqrt(2 * Math.PI));
          return [tf.mul(dy, tf.add(cdf, tf.mul(input, pdf)))];
        }),
    };
  }) as unknown as Parameters<Tf['customGrad']>[0]);
  return f(x) as Tensor2D;
}

/**
 * LayerNorm over the last axis keeping only its input for the gradient (statistics are recomputed), with the
 * γ and β gradients as ones-row matMuls (see linear). dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·γ.
 */
export function layerNorm(tf: Tf, x: Tensor2D, gamma: Tensor, beta: Tensor, eps: number): Tensor2D {
  const normalise = (input: Tensor): { xhat: Tensor; rstd: Tensor } => {
    const centered = tf.sub(input, tf.mean(input, -1, true));
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(centered), -1, true), eps));
    return { xhat: tf.mul(centered, rstd), rstd };
  };
  const f = tf.customGrad(((a: Tensor, g: Tensor, b: Tensor, save: GradSaveFunc) => {
    save([a, g]);
    return {
      value: tf.tidy(() => tf.add(tf.mul(normalise(a).xhat, g), b)),
      gradFunc: (dy: Tensor, saved: Tensor[]) =>
        tf.tidy(() => {
          const [input, scale] = saved as [Tensor2D, Tensor];
          const { xhat, rstd } = normalise(input);
          const gx = tf.mul(dy, scale);
          const dx = tf.mul(rstd, tf.sub(tf.sub(gx, tf.mean(gx, -1, true)), tf.mul(xhat, tf.mean(tf.mul(gx, xhat), -1, true))));
          const ones = tf.ones([1, input.shape[0]]) as Tensor2D;
          const width = input.shape[1];
          return [dx, tf.reshape(tf.matMul(ones, tf.mul(dy, xhat) as Tensor2D), [width]), tf.reshape(tf.matMul(ones, dy as Tensor2D), [width])];
        }),
    };
  }) as unknown as Parameters<Tf['customGrad']>[0]);
  return f(x, gamma, beta) as Tensor2D;
}

class Dropout {
  private site = 0;
  constructor(
    private readonly tf: Tf,
    private readonly seed: number | undefined,
  ) {}

  apply<T extends Tensor>(x: T, rate: number): T {
    if (this.seed === undefined || rate <= 0) return x;
    const { tf } = this;
    // One deterministic stream per call site and step: the same seed gives the same masks on resume.
    const seed = this.seed + 7919 * ++this.site;
    // tidy: only the mask is kept for the gradient, not the uniform draws and the comparison.
    const keep = tf.tidy(() => tf.mul(tf.cast(tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, 'float32', seed), rate), 'float32'), 1 / (1 - rate)));
    return tf.mul(x, keep) as T;
  }
}

export function transformerForward(tf: Tf, config: TransformerConfig, p: Map<string, Tensor>, batch: ForwardBatch, options: ForwardOptions): Tensor2D {
  const { n, seq } = batch;
  const H = config.hidden;
  const heads = config.heads;
  const d = H / heads;
  const w = (name: string): Tensor => {
    const t = p.get(name);
    if (!t) throw new Error(`Internal error: parameter ${name} not given`);
    return t;
  };
  const dropout = new Dropout(tf, options.dropoutSeed);
  const norm = (x: Tensor2D, prefix: string): Tensor2D => layerNorm(tf, x, w(`${prefix}.weight`), w(`${prefix}.bias`), config.layerNormEps);
  // Dense layers keep PyTorch's [out, in] weights: x · Wᵀ + b.
  const dense = (x: Tensor2D, prefix: string): Tensor2D => linear(tf, x, w(`${prefix}.weight`) as Tensor2D, w(`${prefix}.bias`));

  if (seq + config.positionOffset > config.maxPositions) throw new Error(`sequence of ${seq} tokens exceeds max_position_embeddings ${config.maxPositions}`);
  // Positions of padding differ from PyTorch's RoBERTa (which gives them padding_idx), but padding never reaches a
  // real token's state (masked keys) nor the pooled vector, so the sentence embedding is the same.
  const positions = tf.slice(w('embeddings.position_embeddings.weight'), [config.positionOffset, 0], [seq, H]);
  const tokenType = tf.slice(w('embeddings.token_type_embeddings.weight'), [0, 0], [1, H]);
  let x = tf.reshape(tf.add(tf.add(batch.embedded, positions), tokenType), [n * seq, H]) as Tensor2D;
  x = dropout.apply(norm(x, 'embeddings.LayerNorm'), config.hiddenDropout);

  const additive = new Float32Array(n * seq);
  for (let i = 0; i < additive.length; i++) additive[i] = batch.mask[i]! > 0 ? 0 : MASK_VALUE;
  const maskAdd = tf.tensor4d(additive, [n, 1, 1, seq]);
  const scale = 1 / Math.sqrt(d);
  const splitHeads = (t: Tensor2D): Tensor4D => tf.transpose(tf.reshape(t, [n, seq, heads, d]), [0, 2, 1, 3]);
  for (let l = 0; l < config.layers; l++) {
    const prefix = `encoder.layer.${l}`;
    const q = splitHeads(dense(x, `${prefix}.attention.self.query`));
    const k = splitHeads(dense(x, `${prefix}.attention.self.key`));
    const v = splitHeads(dense(x, `${prefix}.attention.self.value`));
    const scores = tf.add(tf.mul(plainMatMul(tf, q, tf.transpose(k, [0, 1, 3, 2])), scale), maskAdd);
    const probs = dropout.apply(tf.softmax(scores), config.attentionDropout) as Tensor4D;
    const context = tf.reshape(tf.transpose(plainMatMul(tf, probs, v), [0, 2, 1, 3]), [n * seq, H]) as Tensor2D;
    const attention = dropout.apply(dense(context, `${prefix}.attention.output.dense`), config.hiddenDropout);
    x = norm(tf.add(attention, x), `${prefix}.attention.output.LayerNorm`);
    const inner = dense(x, `${prefix}.intermediate.dense`);
    const out = dropout.apply(dense(gelu(tf, inner), `${prefix}.output.dense`), config.hiddenDropout);
    x = norm(tf.add(out, x), `${prefix}.output.LayerNorm`);
  }

  const tokens = tf.reshape(x, [n, seq, H]) as Tensor3D;
  let pooled: Tensor2D;
  if (options.pooling === 'cls') pooled = tf.reshape(tf.slice(tokens, [0, 0, 0], [n, 1, H]), [n, H]);
  else {
    const mask3 = tf.tensor3d(batch.mask, [n, seq, 1]);
    if (options.pooling === 'mean') {
      const counts = new Float32Array(n);
      for (let i = 0; i < n; i++) for (let j = 0; j < seq; j++) counts[i]! += batch.mask[i * seq + j]!;
      for (let i = 0; i < n; i++) counts[i] = 1 / Math.max(counts[i]!, 1e-9);
      pooled = tf.mul(tf.sum(tf.mul(tokens, mask3), 1), tf.tensor2d(counts, [n, 1])) as Tensor2D;
    } else {
      // Padding gets −1e9 (sentence-transformers' max pooling does the same).
      pooled = tf.max(tf.add(tokens, tf.mul(tf.sub(1, mask3), -1e9)), 1) as Tensor2D;
    }
  }
  if (options.mlp) pooled = tf.tanh(dense(pooled, 'mlp.dense')) as Tensor2D;
  return pooled;
}
