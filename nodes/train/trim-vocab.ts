/**
 * Smaller glove-avg model files: the trained encoder keeps the words of its training data and of the dev files that
 * selected it (STS-B dev, SICK-R dev: files the node is keyed on), plus the most frequent words for text it has not
 * seen. The vectors, token weights, projection and common component of the kept words are unchanged, so every
 * sentence of those files encodes exactly as with the whole vocabulary: no loss on STS-B dev (checked, and
 * reported). Held-out test sets lose only words outside the FREQUENT_WORDS most frequent that their sentences use.
 */
import type { GloveAvgModel } from '../encoders/glove-avg.js';
import { buildIndex, encodeIds, tokenIds } from '../encoders/glove-avg.js';
import { tokenizeDev, type StsPair } from './train-glove.js';
import { devSpearman } from './trainer.js';

/** The most frequent words kept whatever the data (GloVe's vocabulary is in frequency order). */
export const FREQUENT_WORDS = 50_000;

export interface TrimmedVocabulary {
  model: GloveAvgModel;
  /** STS-B dev Spearman × 100 with all words and with the kept ones (null without a dev set). */
  devFull: number | null;
  devTrimmed: number | null;
}

/** The model restricted to the given rows, in their original (frequency) order. */
export function keepRows(model: GloveAvgModel, rows: readonly number[]): GloveAvgModel {
  const sorted = [...new Set(rows)].sort((a, b) => a - b);
  const vectors = new Float32Array(sorted.length * model.dim);
  const tokenWeights = new Float32Array(sorted.length);
  sorted.forEach((row, i) => {
    vectors.set(model.vectors.subarray(row * model.dim, (row + 1) * model.dim), i * model.dim);
    tokenWeights[i] = model.tokenWeights[row]!;
  });
  const words = sorted.map((row) => model.words[row]!);
  return { ...model, words, index: buildIndex(words), vectors, tokenWeights };
}

/** Keeps the words of `texts` (training and selection text) and the FREQUENT_WORDS most frequent ones. */
export function trimVocabulary(model: GloveAvgModel, texts: Iterable<string>, dev: readonly StsPair[] | undefined): TrimmedVocabulary {
  const rows = new Set<number>();
  for (let row = 0; row < Math.min(FREQUENT_WORDS, model.words.length); row++) rows.add(row);
  for (const text of texts) for (const row of tokenIds(model, text)) rows.add(row);
  const trimmed = rows.size >= model.words.length ? model : keepRows(model, [...rows]);
  if (dev === undefined || dev.length === 0) return { model: trimmed, devFull: null, devTrimmed: null };
  const onDev = (m: GloveAvgModel) => devSpearman((ids) => ids.map((one) => encodeIds(m, one)), tokenizeDev(m, dev));
  return { model: trimmed, devFull: onDev(model), devTrimmed: onDev(trimmed) };
}
