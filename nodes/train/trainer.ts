/**
 * Contrastive / regression training of a sentence encoder (glove-avg or a transformer), one loop for both.
 *
 * The Trainer owns what every encoder shares: data order, the views of each example, multicsr's logit mask, the
 * objective (a tfjs function of the batch's sentence vectors, objectives.ts), dev evaluation and best-step
 * selection, and checkpoints. The encoder (a TrainableEncoder) owns its forward/backward pass and optimizer.
 * All state (weights, moments, PRNG, data order, best snapshot, curves) serialises into a checkpoint, and a run
 * restored from a checkpoint continues bit-for-bit like an uninterrupted one.
 */
import type { Scalar, Tensor2D } from '@tensorflow/tfjs';
import { digestJson, type JsonObject, type Json } from '../../engine/json.js';
import { cosineSimilarity } from '../encoders/cosine.js';
import { spearman } from '../sts/spearman.js';
import { packCheckpoint, unpackCheckpoint, type SectionArray } from './checkpoint-format.js';
import { multicsrKeepWeights, objectiveLoss, type DenseBatch, type ObjectiveName } from './objectives.js';
import { Rng } from './rng.js';
import { selectionScore, type EmbedSentences, type SelectionSet } from './selection.js';
import type { LoadedTf } from './tf-backend.js';

/** An encoder the Trainer can optimise. Its sentences are token-id rows; its state is typed-array sections. */
export interface TrainableEncoder {
  /** What a checkpoint must agree with besides the options (sizes, architecture, initial-weight digests). */
  readonly fingerprint: Json;
  /**
   * How simcse-unsup makes its two views: 'word-dropout' drops tokens (the Trainer does it), 'model-dropout'
   * encodes the same tokens twice and relies on the encoder's own dropout (SimCSE).
   */
  readonly unsupervisedViews: 'word-dropout' | 'model-dropout';
  /**
   * One optimisation step: encode `sentences` (side-major, B per side) into z, take `lossOf(z)`, back-propagate and
   * update. `progress.step` is 1-based, of `progress.total`; `rng` is the Trainer's (for dropout masks). Returns the loss.
   */
  trainStep(sentences: readonly Int32Array[], lossOf: (z: Tensor2D) => Scalar, progress: { step: number; total: number }, rng: Rng): number;
  /** Sentence vectors with training noise off (the encoder tokenizes; selection scores the same sets many times). */
  embed: EmbedSentences;
  /** Everything that changes during training (weights and optimizer moments), for checkpoints. */
  state(): Record<string, SectionArray>;
  restoreState(sections: Record<string, SectionArray>): void;
  /** The weights alone, for the best-step snapshot (SimCSE keeps the best checkpoint). */
  snapshot(): Record<string, SectionArray>;
  /** Puts a snapshot's weights back (training is over). */
  restoreSnapshot(sections: Record<string, SectionArray>): void;
}

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
  /** 'dropout': one side; two noisy views of it are made per step (see TrainableEncoder.unsupervisedViews). */
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

/** STS-B dev Spearman × 100 of cosine similarities, for an encoder of token-id rows. */
export function devSpearman(embedIds: (sentences: readonly Int32Array[]) => Float32Array[], dev: DevSet): number {
  const a = embedIds(dev.a);
  const b = embedIds(dev.b);
  const predicted = new Float64Array(dev.gold.length);
  for (let i = 0; i < predicted.length; i++) predicted[i] = cosineSimilarity(a[i]!, b[i]!);
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
  private readonly sidesCount: number;

  private step = 0;
  private epoch = 0;
  private pos = 0;
  private perm: Int32Array | null = null;
  private rng: Rng;
  private lossSum = 0;
  private lossCount = 0;
  private lastEvalStep = -1;
  private curves: TrainCurves = { loss: [], dev: [] };
  private readonly selection: readonly SelectionSet[] | undefined;
  private best: { score: number; step: number; weights: Record<string, SectionArray> } | null = null;

  constructor(
    private readonly tfx: LoadedTf,
    /** Trained in place. */
    readonly encoder: TrainableEncoder,
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
    this.sidesCount = data.views === 'dropout' ? 2 : data.sides.length;
    this.rng = new Rng(options.seed);
  }

  /** Identifies everything a checkpoint must agree with to be resumable. */
  private configDigest(): string {
    return digestJson({
      // checkpointEvery only decides how much work a kill loses, never the result.
      options: { ...this.options, checkpointEvery: null } as unknown as JsonObject,
      examples: this.examples,
      selection: this.selection ? this.selection.map((set) => [set.name, set.gold.length]) : null,
      encoder: this.encoder.fingerprint,
    });
  }

  private viewsFor(batch: Int32Array): Int32Array[][] {
    if (this.data.views === 'given') return this.data.sides.map((side) => Array.from(batch, (i) => side[i]!));
    const source = this.data.sides[0]!;
    if (this.encoder.unsupervisedViews === 'model-dropout') {
      const same = Array.from(batch, (i) => source[i]!);
      return [same, same];
    }
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
    const views = this.viewsFor(batch);
    const B = batch.length;
    const dense: DenseBatch = { batch: B, sides: views.length };
    if (this.data.labels) dense.labels = Float32Array.from(batch, (i) => this.data.labels![i]!);
    const keep = this.keepWeights(batch);
    if (keep) dense.keep = keep;
    const lossOf = (z: Tensor2D): Scalar => objectiveLoss(this.tfx.tf, this.options.objective, z, dense, this.options);
    return this.encoder.trainStep(views.flat(), lossOf, { step: this.step + 1, total: this.totalSteps }, this.rng);
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
    const score = selectionScore(this.selection, this.encoder.embed);
    this.curves.dev.push([this.epochPosition(), round(score, 4)]);
    hooks.onEval?.(this.step, this.epochPosition(), score);
    if (this.best === null || score > this.best.score) this.best = { score, step: this.step, weights: this.encoder.snapshot() };
  }

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

  /** Puts the best-scoring snapshot's weights into the encoder (SimCSE keeps the best checkpoint). */
  private restoreBest(): void {
    if (this.best) this.encoder.restoreSnapshot(this.best.weights);
  }

  serialize(): Uint8Array {
    const sections: Record<string, SectionArray> = { rng: this.rng.state };
    if (this.perm) sections.perm = this.perm;
    for (const [name, a] of Object.entries(this.encoder.state())) sections[`encoder.${name}`] = a;
    if (this.best) for (const [name, a] of Object.entries(this.best.weights)) sections[`best.${name}`] = a;
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
    this.step = header.step as number;
    this.epoch = header.epoch as number;
    this.pos = header.pos as number;
    this.lossSum = header.lossSum as number;
    this.lossCount = header.lossCount as number;
    this.lastEvalStep = header.lastEvalStep as number;
    this.curves = header.curves as unknown as TrainCurves;
    this.rng = new Rng(sections.rng as Uint32Array);
    this.perm = (sections.perm as Int32Array | undefined) ?? null;
    const withPrefix = (prefix: string): Record<string, SectionArray> =>
      Object.fromEntries(Object.entries(sections).filter(([name]) => name.startsWith(prefix)).map(([name, a]) => [name.slice(prefix.length), a]));
    this.encoder.restoreState(withPrefix('encoder.'));
    const best = header.best as { score: number; step: number } | null;
    this.best = best ? { score: best.score, step: best.step, weights: withPrefix('best.') } : null;
    return true;
  }
}
