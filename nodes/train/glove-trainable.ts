/**
 * The glove-avg encoder as a TrainableEncoder. Sentence vectors (weighted means of word rows) are computed sparsely
 * in JS; tfjs handles the dense part (projection, common-component removal, the objective) and returns gradients
 * w.r.t. the sentence vectors and the projection; those are pushed back into only the word rows seen in the batch,
 * updated with lazy Adam.
 */
import type { Scalar, Tensor, Tensor2D } from '@tensorflow/tfjs';
import type { Json } from '../../engine/json.js';
import { encodeIds, tokenIds, type GloveAvgModel } from '../encoders/glove-avg.js';
import { adamDense, adamRows, DEFAULT_ADAM } from './adam.js';
import type { SectionArray } from './checkpoint-format.js';
import type { EmbedSentences } from './selection.js';
import type { LoadedTf } from './tf-backend.js';
import type { TrainableEncoder } from './trainer.js';

export class GloveTrainable implements TrainableEncoder {
  readonly unsupervisedViews = 'word-dropout';
  readonly fingerprint: Json;
  private readonly dim: number;
  private readonly mWords: Float32Array;
  private readonly vWords: Float32Array;
  private readonly gradWords: Float32Array;
  private readonly touched: Uint8Array;
  private touchedRows: number[] = [];
  private readonly mProj: Float32Array | null;
  private readonly vProj: Float32Array | null;

  constructor(
    private readonly tfx: LoadedTf,
    /** Trained in place; its word rows must start equal to `baseVectors`. */
    readonly model: GloveAvgModel,
    /** The untrained word matrix (not modified): rows restored from it when the best snapshot predates their update. */
    private readonly baseVectors: Float32Array,
    private readonly lr: { projection: number; words: number },
  ) {
    this.dim = model.dim;
    const size = model.vectors.length;
    this.mWords = new Float32Array(size);
    this.vWords = new Float32Array(size);
    this.gradWords = new Float32Array(size);
    this.touched = new Uint8Array(model.words.length);
    this.mProj = model.projection ? new Float32Array(model.projection.length) : null;
    this.vProj = model.projection ? new Float32Array(model.projection.length) : null;
    this.fingerprint = {
      encoder: 'glove-avg',
      vocab: model.words.length,
      dim: this.dim,
      outDim: model.outDim,
      projection: model.projection !== undefined,
      commonComponent: model.commonComponent ? Array.from(model.commonComponent) : null,
      lr: this.lr.projection,
      wordLr: this.lr.words,
    };
  }

  private readonly tokens = new Map<string, Int32Array>();

  /** The model being trained as a sentence embedder (token ids cached: the selection sets are scored many times). */
  readonly embed: EmbedSentences = (sentences) =>
    sentences.map((s) => {
      let ids = this.tokens.get(s);
      if (!ids) this.tokens.set(s, (ids = tokenIds(this.model, s)));
      return encodeIds(this.model, ids);
    });

  trainStep(sentences: readonly Int32Array[], lossOf: (z: Tensor2D) => Scalar, progress: { step: number }): number {
    const t = progress.step;
    const { tf } = this.tfx;
    const { model, dim } = this;
    const n = sentences.length;
    const X = new Float32Array(n * dim);
    const totals = new Float64Array(n);
    for (let r = 0; r < n; r++) {
      let total = 0;
      for (const row of sentences[r]!) {
        const w = model.tokenWeights[row]!;
        total += w;
        const base = row * dim;
        for (let k = 0; k < dim; k++) X[r * dim + k]! += w * model.vectors[base + k]!;
      }
      if (total > 0) for (let k = 0; k < dim; k++) X[r * dim + k]! /= total;
      totals[r] = total;
    }

    let loss = 0;
    let dX: Float32Array = new Float32Array(0);
    let dP: Float32Array | null = null;
    tf.tidy(() => {
      const x = tf.tensor2d(X, [n, dim]);
      const args: Tensor[] = [x];
      if (model.projection) args.push(tf.tensor2d(model.projection, [dim, model.outDim]));
      const u = model.commonComponent ? tf.tensor2d(model.commonComponent, [model.outDim, 1]) : null;
      const f = (...inputs: Tensor[]): Tensor => {
        let z = inputs[0] as Tensor2D;
        if (inputs.length > 1) z = tf.matMul(z, inputs[1] as Tensor2D);
        if (u) z = tf.sub(z, tf.matMul(tf.matMul(z, u), u, false, true));
        return lossOf(z);
      };
      const { value, grads } = tf.valueAndGrads(f)(args);
      loss = value.dataSync()[0]!;
      dX = grads[0]!.dataSync() as Float32Array;
      if (grads.length > 1) dP = grads[1]!.dataSync() as Float32Array;
    });

    // Back-propagate into the word rows: d mean / d e_row = w_row / total.
    const rowsThisStep: number[] = [];
    const g = this.gradWords;
    for (let r = 0; r < n; r++) {
      const total = totals[r]!;
      if (total === 0) continue;
      for (const row of sentences[r]!) {
        if (this.touched[row] !== 2) {
          // 2 marks "seen this step"; restored to 1 (seen before) below.
          if (this.touched[row] === 0) this.touchedRows.push(row);
          this.touched[row] = 2;
          rowsThisStep.push(row);
        }
        const c = model.tokenWeights[row]! / total;
        const base = row * dim;
        for (let k = 0; k < dim; k++) g[base + k]! += c * dX[r * dim + k]!;
      }
    }
    // Sorted so the update order (irrelevant numerically, but kept canonical) does not depend on batch order.
    rowsThisStep.sort((a, b) => a - b);
    adamRows(model.vectors, g, this.mWords, this.vWords, rowsThisStep, dim, t, { ...DEFAULT_ADAM, lr: this.lr.words });
    for (const row of rowsThisStep) {
      g.fill(0, row * dim, row * dim + dim);
      this.touched[row] = 1;
    }
    if (model.projection && dP) adamDense(model.projection, dP, this.mProj!, this.vProj!, t, { ...DEFAULT_ADAM, lr: this.lr.projection });
    return loss;
  }

  private gatherTouched(source: Float32Array): { rows: Int32Array; values: Float32Array } {
    const { dim } = this;
    const rows = Int32Array.from(this.touchedRows);
    const values = new Float32Array(rows.length * dim);
    rows.forEach((row, i) => values.set(source.subarray(row * dim, row * dim + dim), i * dim));
    return { rows, values };
  }

  state(): Record<string, SectionArray> {
    const { rows, values } = this.gatherTouched(this.model.vectors);
    const sections: Record<string, SectionArray> = { rows, vectors: values, m: this.gatherTouched(this.mWords).values, v: this.gatherTouched(this.vWords).values };
    if (this.model.projection) {
      sections.projection = this.model.projection;
      sections.mProj = this.mProj!;
      sections.vProj = this.vProj!;
    }
    return sections;
  }

  restoreState(sections: Record<string, SectionArray>): void {
    const { dim } = this;
    const rows = sections.rows as Int32Array;
    this.touchedRows = Array.from(rows);
    rows.forEach((row, i) => {
      this.touched[row] = 1;
      this.model.vectors.set(sections.vectors!.subarray(i * dim, i * dim + dim) as Float32Array, row * dim);
      this.mWords.set(sections.m!.subarray(i * dim, i * dim + dim) as Float32Array, row * dim);
      this.vWords.set(sections.v!.subarray(i * dim, i * dim + dim) as Float32Array, row * dim);
    });
    if (this.model.projection) {
      this.model.projection.set(sections.projection as Float32Array);
      this.mProj!.set(sections.mProj as Float32Array);
      this.vProj!.set(sections.vProj as Float32Array);
    }
  }

  snapshot(): Record<string, SectionArray> {
    const { rows, values } = this.gatherTouched(this.model.vectors);
    const sections: Record<string, SectionArray> = { rows, vectors: values };
    if (this.model.projection) sections.projection = this.model.projection.slice();
    return sections;
  }

  restoreSnapshot(sections: Record<string, SectionArray>): void {
    const { dim } = this;
    for (const row of this.touchedRows) this.model.vectors.set(this.baseVectors.subarray(row * dim, row * dim + dim), row * dim);
    const rows = sections.rows as Int32Array;
    rows.forEach((row, i) => this.model.vectors.set(sections.vectors!.subarray(i * dim, i * dim + dim) as Float32Array, row * dim));
    if (sections.projection && this.model.projection) this.model.projection.set(sections.projection as Float32Array);
  }
}
