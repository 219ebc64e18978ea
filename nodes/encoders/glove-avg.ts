/**
 * The glove-avg sentence encoder: weighted mean of word vectors → optional linear projection → optional removal of
 * one common component. Everything is plain Float32Array so training can update word rows sparsely in place.
 */
import { compileTokenPattern, tokenizeWords, WORD_TOKEN_PATTERN_FLAGS, WORD_TOKEN_PATTERN_SOURCE } from './tokenizer.js';
import { countsToProbabilities, firstPrincipalComponent, removeComponent, sifWeights, zipfProbabilities } from './sif.js';
import type { WordVectors } from './glove-store.js';

export interface GloveAvgModel {
  words: string[];
  /** Word → row. */
  index: Map<string, number>;
  /** Word-vector width. */
  dim: number;
  /** words.length × dim, row-major. */
  vectors: Float32Array;
  /** Per-row weight in the mean (1 for a plain average, a/(a+p(w)) for SIF). */
  tokenWeights: Float32Array;
  /** dim × outDim, row-major: z = x·P. Absent: z = x. */
  projection?: Float32Array;
  outDim: number;
  /** Unit vector in output space removed from every sentence vector (SIF's common component). */
  commonComponent?: Float32Array;
  tokenPattern: { source: string; flags: string };
}

export type Weighting = 'none' | 'sif';

export interface GloveAvgOptions {
  weighting: Weighting;
  /** Word counts aligned with the vocabulary (for SIF); default: Zipf over the frequency order. */
  counts?: ArrayLike<number>;
  /** Keep only the this many most frequent words (plus none other); default: all. */
  maxVocab?: number;
}

export function buildIndex(words: readonly string[]): Map<string, number> {
  const index = new Map<string, number>();
  // First occurrence wins, so a duplicate word keeps its most frequent row.
  for (let i = 0; i < words.length; i++) if (!index.has(words[i]!)) index.set(words[i]!, i);
  return index;
}

export function createGloveAvg(source: WordVectors, opts: GloveAvgOptions): GloveAvgModel {
  const rows = Math.min(opts.maxVocab ?? source.words.length, source.words.length);
  const words = source.words.slice(0, rows);
  const vectors = source.vectors.slice(0, rows * source.dim);
  let tokenWeights: Float32Array;
  if (opts.weighting === 'sif') {
    const p = opts.counts ? countsToProbabilities(Array.from({ length: rows }, (_, i) => opts.counts![i] ?? 0)) : zipfProbabilities(rows);
    tokenWeights = sifWeights(p);
  } else {
    tokenWeights = new Float32Array(rows).fill(1);
  }
  return {
    words,
    index: buildIndex(words),
    dim: source.dim,
    vectors,
    tokenWeights,
    outDim: source.dim,
    tokenPattern: { source: WORD_TOKEN_PATTERN_SOURCE, flags: WORD_TOKEN_PATTERN_FLAGS },
  };
}

const patternCache = new WeakMap<GloveAvgModel, RegExp>();
function patternOf(model: GloveAvgModel): RegExp {
  let re = patternCache.get(model);
  if (!re) {
    re = compileTokenPattern(model.tokenPattern.source, model.tokenPattern.flags);
    patternCache.set(model, re);
  }
  return re;
}

/** Vocabulary rows of the sentence's tokens; out-of-vocabulary tokens are dropped. */
export function tokenIds(model: GloveAvgModel, sentence: string): Int32Array {
  const tokens = tokenizeWords(sentence, patternOf(model));
  const ids: number[] = [];
  for (const t of tokens) {
    const id = model.index.get(t);
    if (id !== undefined) ids.push(id);
  }
  return Int32Array.from(ids);
}

/** The weighted mean of the rows (before projection); zero when no token is in the vocabulary. */
export function weightedMean(model: GloveAvgModel, ids: Int32Array, out: Float32Array = new Float32Array(model.dim)): Float32Array {
  out.fill(0);
  const { dim, vectors, tokenWeights } = model;
  let total = 0;
  for (let t = 0; t < ids.length; t++) {
    const row = ids[t]!;
    const w = tokenWeights[row]!;
    total += w;
    const base = row * dim;
    for (let k = 0; k < dim; k++) out[k]! += w * vectors[base + k]!;
  }
  if (total > 0) for (let k = 0; k < dim; k++) out[k]! /= total;
  return out;
}

export function project(model: GloveAvgModel, x: Float32Array): Float32Array {
  const P = model.projection;
  if (!P) return x;
  const { dim, outDim } = model;
  const z = new Float32Array(outDim);
  for (let i = 0; i < dim; i++) {
    const xi = x[i]!;
    if (xi === 0) continue;
    const base = i * outDim;
    for (let j = 0; j < outDim; j++) z[j]! += xi * P[base + j]!;
  }
  return z;
}

/** Sentence vector from token rows, without the common-component removal. */
export function encodeIdsRaw(model: GloveAvgModel, ids: Int32Array): Float32Array {
  return project(model, weightedMean(model, ids));
}

export function encodeIds(model: GloveAvgModel, ids: Int32Array): Float32Array {
  const z = encodeIdsRaw(model, ids);
  if (model.commonComponent) removeComponent(z, model.commonComponent);
  return z;
}

export function encodeSentencesGlove(model: GloveAvgModel, sentences: readonly string[]): Float32Array[] {
  return sentences.map((s) => encodeIds(model, tokenIds(model, s)));
}

/** Sets the model's common component to the first principal component of the reference sentences' vectors. */
export function fitCommonComponent(model: GloveAvgModel, referenceSentences: readonly string[]): void {
  if (referenceSentences.length === 0) throw new Error('fitCommonComponent: the reference corpus is empty');
  const rows = referenceSentences.map((s) => encodeIdsRaw(model, tokenIds(model, s)));
  model.commonComponent = firstPrincipalComponent(rows, model.outDim);
}
