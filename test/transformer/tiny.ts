/** Tiny random checkpoints for the transformer tests: 2 layers, hidden 32, a vocabulary of a few hundred. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeRandomCheckpoint } from '../../nodes/transformer/random-checkpoint.js';

export type TinyArchitecture = 'bert' | 'roberta';

export function tinyCheckpoint(architecture: TinyArchitecture, seed = 1, initStd = 0.02): string {
  const folder = join(mkdtempSync(join(tmpdir(), `synthcse-${architecture}-`)), 'model');
  return writeRandomCheckpoint(folder, { architecture, hidden: 32, layers: 2, heads: 4, intermediate: 64, seed, initStd });
}

export const SENTENCES = ['the man is playing guitar.', 'a dog runs in the park', 'two people are sitting on the street', 'a woman eats food', 'the cat'];

import { TINY_WORDS } from '../../nodes/transformer/random-checkpoint.js';
import { Rng } from '../../nodes/train/rng.js';

function sentence(rng: Rng, length = 5): string {
  return Array.from({ length }, () => TINY_WORDS[rng.nextInt(TINY_WORDS.length)]!).join(' ');
}

/** Triplets whose positive shares all but one word with the anchor and whose negative is unrelated. */
export function tinyTriplets(n: number, seed = 2): { anchor: string; positive: string; negative: string }[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const anchor = sentence(rng);
    const words = anchor.split(' ');
    words[rng.nextInt(words.length)] = TINY_WORDS[rng.nextInt(TINY_WORDS.length)]!;
    return { anchor, positive: words.join(' '), negative: sentence(rng) };
  });
}

export function tinyDev(n: number, seed = 3): { sentence1: string; sentence2: string; score: number }[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const s1 = sentence(rng);
    const words = s1.split(' ');
    const changed = rng.nextInt(words.length + 1);
    for (let k = 0; k < changed; k++) words[rng.nextInt(words.length)] = TINY_WORDS[rng.nextInt(TINY_WORDS.length)]!;
    return { sentence1: s1, sentence2: words.join(' '), score: 5 - changed };
  });
}
