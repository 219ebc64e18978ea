/**
 * Contrastive / regression training of a glove-avg encoder.
 *
 * Sentence vectors (weighted means of word rows) are computed sparsely in JS; tfjs handles the dense part
 * (projection, common-component removal, similarities, loss) and returns gradients w.r.t. the sentence vectors and
 * the projection; those are pushed back into only the word rows seen in the batch, updated with lazy Adam.
 * All state (word rows, moments, PRNG, data order, best snapshot, curves) serialises into a checkpoint, and a run
 * restored from a checkpoint continues bit-for-bit like an uninterrupted one.
 */
import type { Tensor, Tensor2D } from '@tensorflow/tfjs';
import { digestJson, type JsonObject } from '../../engine/json.js';
import { cosineSimilarity } from '../encoders/cosine.js';
import { encodeIds, tokenIds, type GloveAvgModel } from '../encoders/glove-avg.js';
import { spearman } from '../sts/spearman.js';
import { adamDense, adamRows, DEFAULT_ADAM } from './adam.js';
import { packCheckpoint, unpackCheckpoint, type SectionArray } from './checkpoint-format.js';
import { multicsrKeepWeights, objectiveLoss, type DenseBatch, type ObjectiveName } from './objectives.js';
import { Rng } from './rng.js';
import { selectionScore, type EmbedSentences, type SelectionSet } from './selection.js';
import type { LoadedTf } from './tf-backend.js';

export interface TrainOptions {
  objective: ObjectiveName;
  batchSize: number;
  /** Learning rate of the projection. */
  lr: number;
  /** Learning rate of the word vectors. */
  wordLr: number;
  epochs: number;
  seed: number;
  temperature: number;
  hardNegativeWeight: number;
  /** Probability of dropping each token when making the two views of simcse-unsup (and sentence-only multicsr). */
  wordDropout: number;
  /** multicsr-masked: candidates whose frozen-encoder cosine with the anchor exceeds this are masked. */
  maskThreshold: number;
  /** Score the selection sets every this many steps (and always at the end of each epoch); 0: epoch ends only. */
  evalEvery: number;
  /** Save a checkpoint every this many steps (and always at the end of each epoch); 0: epoch ends only. */
  checkpointEvery: number;
}

/** Token rows per side: sides[k][i] is example i's sentence on side k. */
export interface TokenizedSet {
  sides: Int32Array[][];
  labels?: Float32Array;
  views: 'given' | 'dropout';
  /** multicsr-masked: unit-length frozen-encoder vectors per side, aligned with `sides`. */
  frozen?: Float32Array[][];
}

export interface DevSet {
  a: Int32Array[];
  b: Int32Array[];
  gold: Float64Array;
}

export interface TrainHooks {
  onCheckpoint?(bytes: Uint8Array, step: number): void;
  onStep?(step: number, totalSteps: number): void;
  /** Called after each selection evaluation (score: mean Spearman × 100 over the selection sets). */
  onEval?(step: number, epoch: number, spearman: number): void;
  signal?: AbortSignal;
}

export interface TrainCurves {
  /** [epoch (fractional), mean loss since the previous point]. */
  loss: [number, number][];
  /** [epoch (fractional), selection score (Spearman × 100)]. */
  dev: [number, number][];
}

export interface TrainSummary {
  steps: number;
  bestStep: number;
  /** Best selection score, Spearman × 100 (NaN without selection sets: the last step is kept). */
  bestDev: number;
  finalDev: number;
  curves: TrainCurves;
  backend: string;
  seconds: number;
  examplesPerSecond: number;
}

const YIELD_EVERY_MS = 50;

export class TrainInterrupted extends Error {
  constructor(readonly step: number) {
    super(`training interrupted at step ${step}; the last checkpoint is kept`);
    this.name = 'TrainInterrupted';
  }
}


export function devSpearman(model: GloveAvgModel, dev: DevSet): number {
  const predicted = new Float64Array(dev.gold.length);
  for (let i = 0; i < predicted.length; i++) predicted[i] = cosineSimilarity(encodeIds(model, dev.a[i]!), encodeIds(model, dev.b[i]!));
  return spearman(predicted, dev.gold) * 100;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export class Trainer {
  readonly examples: number;
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  private readonly dim: number;
  private readonly sidesCount: number;

  private step = 0;
  private epoch = 0;
  private pos = 0;
  private perm: Int32Array | null = null;
  private rng: Rng;
  private readonly mWords: Float32Array;
  private readonly vWords: Float32Array;
  private readonly gradWords: Float32Array;
  private readonly touched: Uint8Array;
  private touchedRows: number[] = [];
  private mProj: Float32Array | null;
  private vProj: Float32Array | null;
  private lossSum = 0;
  private lossCount = 0;
  private lastEvalStep = -1;
  private curves: TrainCurves = { loss: [], dev: [] };
  private readonly selection: readonly SelectionSet[] | undefined;
  private readonly selectionTokens = new Map<string, Int32Array>();
  private best: { score: number; step: number; rows: Int32Array; vectors: Float32Array; projection: Float32Array | null } | null = null;

  constructor(
    private readonly tfx: LoadedTf,
    /** Trained in place; its word rows must start equal to `baseVectors`. */
    readonly model: GloveAvgModel,
    /** The untrained word matrix (not modified): rows restored from it when the best snapshot predates their update. */
    private readonly baseVectors: Float32Array,
    private readonly data: TokenizedSet,
    /** What picks the kept step; undefined or empty: the last step is kept. */
    selection: readonly SelectionSet[] | undefined,
    readonly options: TrainOptions,
  ) {
    this.selection = selection && selection.length > 0 ? selection : undefined;
    this.examples = data.sides[0]!.length;
    const B = options.batchSize;
    if (!(B >= 2)) throw new Error('batch size must be at least 2');
    this.stepsPerEpoch = Math.floor(this.examples / B) + (this.examples % B >= 2 ? 1 : 0);
    this.totalSteps = this.stepsPerEpoch * options.epochs;
    this.dim = model.dim;
    this.sidesCount = data.views === 'dropout' ? 2 : data.sides.length;
    this.rng = new Rng(options.seed);
    const size = model.vectors.length;
    this.mWords = new Float32Array(size);
    this.vWords = new Float32Array(size);
    this.gradWords = new Float32Array(size);
    this.touched = new Uint8Array(model.words.length);
    this.mProj = model.projection ? new Float32Array(model.projection.length) : null;
    this.vProj = model.projection ? new Float32Array(model.projection.length) : null;
  }

  /** Identifies everything a checkpoint must agree with to be resumable. */
  private configDigest(): string {
    return digestJson({
      // checkpointEvery only decides how much work a kill loses, never the result.
      options: { ...this.options, checkpointEvery: null } as unknown as JsonObject,
      examples: this.examples,
      selection: this.selection ? this.selection.map((set) => [set.name, set.gold.length]) : null,
      vocab: this.model.words.length,
      dim: this.dim,
      outDim: this.model.outDim,
      projection: this.model.projection !== undefined,
      commonComponent: this.model.commonComponent ? Array.from(this.model.commonComponent) : null,
    });
  }

  private viewsFor(batch: Int32Array): Int32Array[][] {
    if (this.data.views === 'given') return this.data.sides.map((side) => Array.from(batch, (i) => side[i]!));
    const source = this.data.sides[0]!;
    const p = this.options.wordDropout;
    const view = (ids: Int32Array): Int32Array => {
      const kept: number[] = [];
      for (const id of ids) if (this.rng.nextFloat() >= p) kept.push(id);
      // Never leave a view empty: keep one token (chosen deterministically from the PRNG).
      if (kept.length === 0 && ids.length > 0) kept.push(ids[this.rng.nextInt(ids.length)]!);
      return Int32Array.from(kept);
    };
    const first = Array.from(batch, (i) => view(source[i]!));
    const second = Array.from(batch, (i) => view(source[i]!));
    return [first, second];
  }

  /** multicsr-masked: which similarities stay, from the frozen encoder's vectors (see multicsrKeepWeights). */
  private keepWeights(batch: Int32Array): Float32Array | undefined {
    if (this.options.objective !== 'multicsr-masked' || !this.data.frozen) return undefined;
    const frozen = this.data.frozen;
    const anchors = Array.from(batch, (i) => frozen[0]![i]!);
    const candidateSides: Float32Array[][] = [];
    for (let s = 1; s < this.sidesCount; s++) {
      // Two dropout views of one sentence share its frozen vector.
      const side = this.data.views === 'dropout' ? frozen[0]! : frozen[s]!;
      candidateSides.push(Array.from(batch, (i) => side[i]!));
    }
    return multicsrKeepWeights(anchors, candidateSides, this.options.maskThreshold);
  }

  /** One optimisation step on the examples `batch`; returns the loss. */
  private trainStep(batch: Int32Array): number {
    const { tf } = this.tfx;
    const { model, dim } = this;
    const views = this.viewsFor(batch);
    const B = batch.length;
    const n = views.length * B;
    const X = new Float32Array(n * dim);
    const totals = new Float64Array(n);
    const sentences: Int32Array[] = [];
    for (let s = 0; s < views.length; s++) {
      for (let i = 0; i < B; i++) {
        const r = s * B + i;
        const ids = views[s]![i]!;
        sentences.push(ids);
        let total = 0;
        for (const row of ids) {
          const w = model.tokenWeights[row]!;
          total += w;
          const base = row * dim;
          for (let k = 0; k < dim; k++) X[r * dim + k]! += w * model.vectors[base + k]!;
        }
        if (total > 0) for (let k = 0; k < dim; k++) X[r * dim + k]! /= total;
        totals[r] = total;
      }
    }
    const dense: DenseBatch = { batch: B, sides: views.length };
    if (this.data.labels) dense.labels = Float32Array.from(batch, (i) => this.data.labels![i]!);
    const keep = this.keepWeights(batch);
    if (keep) dense.keep = keep;

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
        return objectiveLoss(tf, this.options.objective, z, dense, this.options);
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
    const t = this.step + 1;
    adamRows(model.vectors, g, this.mWords, this.vWords, rowsThisStep, dim, t, { ...DEFAULT_ADAM, lr: this.options.wordLr });
    for (const row of rowsThisStep) {
      g.fill(0, row * dim, row * dim + dim);
      this.touched[row] = 1;
    }
    if (model.projection && dP) adamDense(model.projection, dP, this.mProj!, this.vProj!, t, { ...DEFAULT_ADAM, lr: this.options.lr });
    return loss;
  }

  private epochPosition(): number {
    return round(this.step / this.stepsPerEpoch, 4);
  }

  private evaluate(hooks: TrainHooks): void {
    if (this.lastEvalStep === this.step) return;
    this.lastEvalStep = this.step;
    if (this.lossCount > 0) this.curves.loss.push([this.epochPosition(), round(this.lossSum / this.lossCount, 6)]);
    this.lossSum = 0;
    this.lossCount = 0;
    if (!this.selection) return;
    const score = selectionScore(this.selection, this.embed);
    this.curves.dev.push([this.epochPosition(), round(score, 4)]);
    hooks.onEval?.(this.step, this.epochPosition(), score);
    if (this.best === null || score > this.best.score) {
      const rows = Int32Array.from(this.touchedRows);
      const vectors = new Float32Array(rows.length * this.dim);
      rows.forEach((row, i) => vectors.set(this.model.vectors.subarray(row * this.dim, row * this.dim + this.dim), i * this.dim));
      this.best = { score, step: this.step, rows, vectors, projection: this.model.projection ? this.model.projection.slice() : null };
    }
  }

  /** The model being trained as a sentence embedder (token ids cached: the selection sets are scored many times). */
  private readonly embed: EmbedSentences = (sentences) =>
    sentences.map((s) => {
      let ids = this.selectionTokens.get(s);
      if (!ids) this.selectionTokens.set(s, (ids = tokenIds(this.model, s)));
      return encodeIds(this.model, ids);
    });

  get done(): boolean {
    return this.step >= this.totalSteps;
  }

  /**
   * Trains until the end (or until the signal aborts, after saving a checkpoint). Yields to the event loop every
   * few tens of milliseconds so that Ctrl-C (the signal) and progress display are serviced during training.
   */
  async run(hooks: TrainHooks = {}): Promise<TrainSummary> {
    const started = performance.now();
    let lastYield = started;
    const startStep = this.step;
    if (this.step === 0 && this.selection && this.lastEvalStep < 0) this.evaluate(hooks);
    while (!this.done) {
      if (performance.now() - lastYield > YIELD_EVERY_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
      if (hooks.signal?.aborted) {
        hooks.onCheckpoint?.(this.serialize(), this.step);
        throw new TrainInterrupted(this.step);
      }
      if (this.perm === null) this.perm = this.rng.permutation(this.examples);
      const end = Math.min(this.pos + this.options.batchSize, this.examples);
      const batch = this.perm.subarray(this.pos, end);
      this.lossSum += this.trainStep(batch);
      this.lossCount++;
      this.step++;
      this.pos = end;
      const epochEnd = this.examples - this.pos < 2;
      if (epochEnd) {
        this.epoch++;
        this.pos = 0;
        this.perm = null;
      }
      if (epochEnd || (this.options.evalEvery > 0 && this.step % this.options.evalEvery === 0)) this.evaluate(hooks);
      hooks.onStep?.(this.step, this.totalSteps);
      if (epochEnd || (this.options.checkpointEvery > 0 && this.step % this.options.checkpointEvery === 0)) {
        hooks.onCheckpoint?.(this.serialize(), this.step);
      }
    }
    const finalDev = this.selection ? (this.curves.dev.at(-1)?.[1] ?? Number.NaN) : Number.NaN;
    this.restoreBest();
    const seconds = (performance.now() - started) / 1000;
    const trainedSteps = this.step - startStep;
    return {
      steps: this.step,
      bestStep: this.best?.step ?? this.step,
      bestDev: this.best?.score ?? Number.NaN,
      finalDev,
      curves: this.curves,
      backend: this.tfx.backend,
      seconds,
      examplesPerSecond: seconds > 0 ? (trainedSteps * this.options.batchSize) / seconds : 0,
    };
  }

  /** Puts the best-scoring snapshot's word rows and projection into the model (SimCSE keeps the best checkpoint). */
  private restoreBest(): void {
    if (!this.best) return;
    const { dim } = this;
    for (const row of this.touchedRows) this.model.vectors.set(this.baseVectors.subarray(row * dim, row * dim + dim), row * dim);
    this.best.rows.forEach((row, i) => this.model.vectors.set(this.best!.vectors.subarray(i * dim, i * dim + dim), row * dim));
    if (this.best.projection && this.model.projection) this.model.projection.set(this.best.projection);
  }

  serialize(): Uint8Array {
    const { dim } = this;
    const rows = Int32Array.from(this.touchedRows);
    const gather = (source: Float32Array): Float32Array => {
      const out = new Float32Array(rows.length * dim);
      rows.forEach((row, i) => out.set(source.subarray(row * dim, row * dim + dim), i * dim));
      return out;
    };
    const sections: Record<string, SectionArray> = {
      rng: this.rng.state,
      rows,
      vectors: gather(this.model.vectors),
      m: gather(this.mWords),
      v: gather(this.vWords),
    };
    if (this.perm) sections.perm = this.perm;
    if (this.model.projection) {
      sections.projection = this.model.projection;
      sections.mProj = this.mProj!;
      sections.vProj = this.vProj!;
    }
    if (this.best) {
      sections.bestRows = this.best.rows;
      sections.bestVectors = this.best.vectors;
      if (this.best.projection) sections.bestProjection = this.best.projection;
    }
    const header: JsonObject = {
      config: this.configDigest(),
      step: this.step,
      epoch: this.epoch,
      pos: this.pos,
      lossSum: this.lossSum,
      lossCount: this.lossCount,
      lastEvalStep: this.lastEvalStep,
      curves: this.curves as unknown as JsonObject,
      best: this.best ? { score: this.best.score, step: this.best.step } : null,
    };
    return packCheckpoint(header, sections);
  }

  /**
   * Restores a checkpoint into this fresh trainer (built like the one that saved it). Returns false, changing
   * nothing, when the checkpoint belongs to a different configuration.
   */
  restore(bytes: Uint8Array): boolean {
    const { header, sections } = unpackCheckpoint(bytes);
    if (header.config !== this.configDigest()) return false;
    const { dim } = this;
    this.step = header.step as number;
    this.epoch = header.epoch as number;
    this.pos = header.pos as number;
    this.lossSum = header.lossSum as number;
    this.lossCount = header.lossCount as number;
    this.lastEvalStep = header.lastEvalStep as number;
    this.curves = header.curves as unknown as TrainCurves;
    this.rng = new Rng(sections.rng as Uint32Array);
    this.perm = (sections.perm as Int32Array | undefined) ?? null;
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
    const best = header.best as { score: number; step: number } | null;
    this.best = best
      ? {
          score: best.score,
          step: best.step,
          rows: sections.bestRows as Int32Array,
          vectors: sections.bestVectors as Float32Array,
          projection: (sections.bestProjection as Float32Array | undefined) ?? null,
        }
      : null;
    return true;
  }
}
