/** Builds an initial glove-avg encoder and a Trainer from a training set: the library entry point of training. */
import { createGloveAvg, fitCommonComponent, tokenIds, type GloveAvgModel, type Weighting } from '../encoders/glove-avg.js';
import type { WordVectors } from '../encoders/glove-store.js';
import type { SentenceEncoder } from '../encoders/types.js';
import { allSentences, type TrainingSet } from './data.js';
import { Rng } from './rng.js';
import { loadTf } from './tf-backend.js';
import type { SelectionSet } from './selection.js';
import { GloveTrainable } from './glove-trainable.js';
import { Trainer, type DevSet, type TokenizedSet, type TrainOptions } from './trainer.js';

export interface GloveEncoderSpec {
  weighting: Weighting;
  /** Remove the first principal component of the reference corpus (the training sentences, for training). */
  commonComponent: boolean;
  /** Output width of a trainable linear projection; null: none. A square projection starts as the identity. */
  projection: number | null;
  /** Keep only the most frequent words (smaller model files); null: the whole vocabulary. */
  maxVocab: number | null;
}

export interface StsPair {
  sentence1: string;
  sentence2: string;
  score: number;
}

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  objective: 'simcse-sup',
  batchSize: 64,
  lr: 1e-3,
  wordLr: 1e-3,
  epochs: 5,
  seed: 42,
  temperature: 0.05,
  hardNegativeWeight: 0,
  wordDropout: 0.1,
  maskThreshold: 0.95,
  evalEvery: 0,
  checkpointEvery: 0,
};

function initialProjection(dim: number, outDim: number, seed: number): Float32Array {
  const P = new Float32Array(dim * outDim);
  if (dim === outDim) {
    for (let i = 0; i < dim; i++) P[i * outDim + i] = 1;
    return P;
  }
  const rng = new Rng(seed ^ 0x5eed);
  const scale = 1 / Math.sqrt(dim);
  for (let i = 0; i < P.length; i++) P[i] = rng.nextGaussian() * scale;
  return P;
}

/** The untrained encoder described by `spec`; `reference` sentences supply the common component if requested. */
export function buildGloveEncoder(wv: WordVectors, spec: GloveEncoderSpec, reference: readonly string[], seed: number): GloveAvgModel {
  const model = createGloveAvg(wv, spec.maxVocab === null ? { weighting: spec.weighting } : { weighting: spec.weighting, maxVocab: spec.maxVocab });
  if (spec.projection !== null) {
    model.projection = initialProjection(model.dim, spec.projection, seed);
    model.outDim = spec.projection;
  }
  if (spec.commonComponent) fitCommonComponent(model, reference);
  return model;
}

export function tokenizeDev(model: GloveAvgModel, pairs: readonly StsPair[]): DevSet {
  return {
    a: pairs.map((p) => tokenIds(model, p.sentence1)),
    b: pairs.map((p) => tokenIds(model, p.sentence2)),
    gold: Float64Array.from(pairs, (p) => p.score),
  };
}

function normalise(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n);
  return n > 0 ? v.map((x) => x / n) : v;
}

export interface PreparedTraining {
  trainer: Trainer;
  model: GloveAvgModel;
  backend: string;
}

/**
 * Everything up to the first step (`selection`: the sets that pick the kept step, none: the last): the initial model, tokenised data, frozen-encoder vectors for multicsr-masked
 * (the given encoder, or the untrained model itself when none is given), and the Trainer.
 */
export async function prepareTraining(
  wv: WordVectors,
  set: TrainingSet,
  selection: readonly SelectionSet[] | undefined,
  spec: GloveEncoderSpec,
  options: TrainOptions,
  frozenEncoder?: SentenceEncoder,
): Promise<PreparedTraining> {
  const tfx = await loadTf();
  const model = buildGloveEncoder(wv, spec, allSentences(set), options.seed);
  // The source rows are never modified (createGloveAvg copied them into the model), so they serve as the base.
  const base = wv.vectors.subarray(0, model.vectors.length);
  const tokenized: TokenizedSet = { sides: set.texts.map((side) => side.map((s) => tokenIds(model, s))), views: set.views };
  if (set.labels) tokenized.labels = set.labels;
  if (options.objective === 'multicsr-masked') {
    const encodeSide = async (side: string[]): Promise<Float32Array[]> => {
      if (frozenEncoder) return (await frozenEncoder.encode(side)).map(normalise);
      const { encodeSentencesGlove } = await import('../encoders/glove-avg.js');
      return encodeSentencesGlove(model, side).map(normalise);
    };
    tokenized.frozen = [];
    for (const side of set.texts) tokenized.frozen.push(await encodeSide(side));
  }
  const encoder = new GloveTrainable(tfx, model, base, { projection: options.lr, words: options.wordLr });
  const trainer = new Trainer(tfx, encoder, tokenized, selection, options);
  return { trainer, model, backend: tfx.backend };
}
