/**
 * A transformer encoder as a TrainableEncoder: the tfjs forward pass (forward.ts) with dropout, gradients from
 * tf.valueAndGrads, gradient clipping at max_grad_norm and AdamW with a linear warm-up/decay schedule, all in the
 * float32 arrays of the model (the source of truth, uploaded each step).
 *
 * The word-embedding lookup stays out of the tape: the gathered rows enter as an input tensor, and its gradient
 * (one row per token) is added into a full-size gradient of the table in JS. AdamW then updates the whole table, as
 * PyTorch does (rows not in the batch still move with their moments and the weight decay).
 */
import type { Scalar, Tensor, Tensor2D, Tensor3D } from '@tensorflow/tfjs';
import type { Json } from '../../engine/json.js';
import { adamW, DEFAULT_ADAM, linearScheduleFactor } from '../train/adam.js';
import type { SectionArray } from '../train/checkpoint-format.js';
import type { Rng } from '../train/rng.js';
import type { EmbedSentences } from '../train/selection.js';
import type { LoadedTf } from '../train/tf-backend.js';
import type { TrainableEncoder } from '../train/trainer.js';
import { denseParameterNames, transformerForward } from './forward.js';
import { embedIds, padBatch, WORD_EMBEDDINGS, type TransformerModel } from './model.js';

export interface TransformerOptimizer {
  lr: number;
  /** Fraction of the steps over which the learning rate rises from 0 (transformers' warmup_ratio). */
  warmupRatio: number;
  /** AdamW's decoupled weight decay, not applied to biases and LayerNorm weights (transformers' convention). */
  weightDecay: number;
  /** Clip the global gradient norm to this (transformers' Trainer: 1.0); 0: no clipping. */
  maxGradNorm: number;
}

function decays(name: string): boolean {
  return !(name.endsWith('.bias') || name.includes('LayerNorm'));
}

export class TransformerTrainable implements TrainableEncoder {
  readonly unsupervisedViews = 'model-dropout';
  readonly fingerprint: Json;
  /** Every trained tensor: the word-embedding table first, then forward.ts's dense parameters. */
  private readonly names: string[];
  private readonly denseNames: string[];
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();
  private readonly wordGrad: Float32Array;

  constructor(
    private readonly tfx: LoadedTf,
    readonly model: TransformerModel,
    private readonly optimizer: TransformerOptimizer,
    /** Digests of the initial weights and tokenizer (the checkpoint's files), so a checkpoint of other weights is refused. */
    initialFiles: Record<string, string>,
  ) {
    this.denseNames = denseParameterNames(model.config, model.mlpTrain);
    this.names = [WORD_EMBEDDINGS, ...this.denseNames];
    for (const name of this.names) {
      const size = model.weights.get(name)!.data.length;
      this.m.set(name, new Float32Array(size));
      this.v.set(name, new Float32Array(size));
    }
    this.wordGrad = new Float32Array(model.weights.get(WORD_EMBEDDINGS)!.data.length);
    const { raw: _raw, ...config } = model.config;
    this.fingerprint = {
      encoder: 'transformer',
      config: config as unknown as Json,
      files: initialFiles,
      pooling: model.pooling,
      mlpTrain: model.mlpTrain,
      mlpTest: model.mlpTest,
      maxLength: model.tokenizer.maxLength,
      optimizer: { ...optimizer },
    };
  }

  private readonly tokens = new Map<string, Int32Array>();

  /** Sentence vectors with dropout off (token ids cached: the selection sets are scored many times). */
  readonly embed: EmbedSentences = (sentences) =>
    embedIds(
      this.tfx,
      this.model,
      sentences.map((s) => {
        let ids = this.tokens.get(s);
        if (!ids) this.tokens.set(s, (ids = this.model.tokenizer.encode(s)));
        return ids;
      }),
    );

  /** Loss and gradients (word-embedding table gradient in this.wordGrad, the rest by name), weights unchanged. */
  lossAndGradients(sentences: readonly Int32Array[], lossOf: (z: Tensor2D) => Scalar, dropoutSeed: number | undefined): { loss: number; grads: Map<string, Float32Array> } {
    const { tf } = this.tfx;
    const { model } = this;
    const H = model.config.hidden;
    const b = padBatch(model, sentences);
    let loss = 0;
    const grads = new Map<string, Float32Array>();
    let dEmbedded: Float32Array = new Float32Array(0);
    tf.tidy(() => {
      const args: Tensor[] = [tf.tensor3d(b.embedded, [b.n, b.seq, H])];
      for (const name of this.denseNames) {
        const w = model.weights.get(name)!;
        args.push(tf.tensor(w.data, w.shape));
      }
      const f = (...inputs: Tensor[]): Scalar => {
        const params = new Map<string, Tensor>(this.denseNames.map((name, i) => [name, inputs[i + 1]!]));
        const options = { pooling: model.pooling, mlp: model.mlpTrain, ...(dropoutSeed === undefined ? {} : { dropoutSeed }) };
        const z = transformerForward(tf, model.config, params, { n: b.n, seq: b.seq, embedded: inputs[0] as Tensor3D, mask: b.mask }, options);
        return lossOf(z);
      };
      const { value, grads: g } = tf.valueAndGrads(f)(args);
      loss = value.dataSync()[0]!;
      dEmbedded = g[0]!.dataSync() as Float32Array;
      this.denseNames.forEach((name, i) => grads.set(name, g[i + 1]!.dataSync() as Float32Array));
    });
    const table = this.wordGrad;
    table.fill(0);
    for (let t = 0; t < b.ids.length; t++) {
      if (b.mask[t] === 0) continue; // padding's gradient is exactly zero
      const base = b.ids[t]! * H;
      for (let k = 0; k < H; k++) table[base + k]! += dEmbedded[t * H + k]!;
    }
    grads.set(WORD_EMBEDDINGS, table);
    return { loss, grads };
  }

  trainStep(sentences: readonly Int32Array[], lossOf: (z: Tensor2D) => Scalar, progress: { step: number; total: number }, rng: Rng): number {
    const { loss, grads } = this.lossAndGradients(sentences, lossOf, rng.nextUint32());
    const { maxGradNorm } = this.optimizer;
    if (maxGradNorm > 0) {
      let sq = 0;
      for (const g of grads.values()) for (let i = 0; i < g.length; i++) sq += g[i]! * g[i]!;
      const coef = maxGradNorm / (Math.sqrt(sq) + 1e-6);
      if (coef < 1) for (const g of grads.values()) for (let i = 0; i < g.length; i++) g[i]! *= coef;
    }
    const warmup = Math.ceil(this.optimizer.warmupRatio * progress.total);
    const lr = this.optimizer.lr * linearScheduleFactor(progress.step - 1, warmup, progress.total);
    for (const name of this.names) {
      const config = { ...DEFAULT_ADAM, lr, weightDecay: decays(name) ? this.optimizer.weightDecay : 0 };
      adamW(this.model.weights.get(name)!.data, grads.get(name)!, this.m.get(name)!, this.v.get(name)!, progress.step, config);
    }
    return loss;
  }

  state(): Record<string, SectionArray> {
    const out: Record<string, SectionArray> = {};
    for (const name of this.names) {
      out[`w:${name}`] = this.model.weights.get(name)!.data;
      out[`m:${name}`] = this.m.get(name)!;
      out[`v:${name}`] = this.v.get(name)!;
    }
    return out;
  }

  restoreState(sections: Record<string, SectionArray>): void {
    for (const name of this.names) {
      this.model.weights.get(name)!.data.set(sections[`w:${name}`] as Float32Array);
      this.m.get(name)!.set(sections[`m:${name}`] as Float32Array);
      this.v.get(name)!.set(sections[`v:${name}`] as Float32Array);
    }
  }

  snapshot(): Record<string, SectionArray> {
    return Object.fromEntries(this.names.map((name) => [name, this.model.weights.get(name)!.data.slice()]));
  }

  restoreSnapshot(sections: Record<string, SectionArray>): void {
    for (const name of this.names) this.model.weights.get(name)!.data.set(sections[name] as Float32Array);
  }
}
