/** Small deterministic word vectors and sentences, so training tests run in milliseconds without GloVe. */
import type { WordVectors } from '../../nodes/encoders/glove-store.js';
import { Rng } from '../../nodes/train/rng.js';

export function syntheticVectors(words = 300, dim = 16, seed = 1): WordVectors {
  const rng = new Rng(seed);
  const list = Array.from({ length: words }, (_, i) => `w${i}`);
  const vectors = new Float32Array(words * dim);
  for (let i = 0; i < vectors.length; i++) vectors[i] = rng.nextGaussian() * 0.5;
  return { words: list, vectors, dim };
}

export function syntheticSentence(rng: Rng, words: number, length = 6): string {
  return Array.from({ length }, () => `w${rng.nextInt(words)}`).join(' ');
}

/** Triplet rows whose positive shares most words with the anchor and whose negative shares none. */
export function syntheticTriplets(n: number, words = 300, seed = 2): { anchor: string; positive: string; negative: string }[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const anchor = syntheticSentence(rng, words);
    const tokens = anchor.split(' ');
    tokens[rng.nextInt(tokens.length)] = `w${rng.nextInt(words)}`;
    return { anchor, positive: tokens.join(' '), negative: syntheticSentence(rng, words) };
  });
}

export function syntheticDev(n: number, words = 300, seed = 3): { sentence1: string; sentence2: string; score: number }[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const s1 = syntheticSentence(rng, words);
    const tokens = s1.split(' ');
    const changed = rng.nextInt(tokens.length + 1);
    for (let k = 0; k < changed; k++) tokens[rng.nextInt(tokens.length)] = `w${rng.nextInt(words)}`;
    return { sentence1: s1, sentence2: tokens.join(' '), score: 5 - (5 * changed) / tokens.length };
  });
}
