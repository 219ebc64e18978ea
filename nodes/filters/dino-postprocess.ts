/**
 * dino-postprocess: DINO's STS post-processing (timoschick/dino, scripts/sts/postprocess_dataset.py), on pairs:
 *   1. order the rows by a seeded hash of their content (DINO shuffles with random.Random(seed); a hash order is
 *      just as deterministic and does not depend on the input order),
 *   2. drop duplicate (text_a, text_b, label) rows, keeping the first in that order (DINO uses a Python set, whose
 *      order is not reproducible across runs; here it is),
 *   3. drop pairs with text_a = text_b,
 *   4. label smoothing: label · (1 − s) + s / 2 (s = 0.2: 0 → 0.1, 0.5 → 0.5, 1 → 0.9),
 *   5. keep at most `max_per_label` pairs per (text_a, smoothed label),
 *   6. for each text_a (in order of first appearance), add `random_pairs` pairs (text_a, text_b', 0) where text_b'
 *      is the text_b of a row drawn from the kept rows by a hash stream seeded by (seed, text_a, j). DINO gives
 *      these label 0, unsmoothed, and so does this rule.
 * The output is the kept rows in hash order followed by the added pairs.
 */
import { z } from 'zod';
import { canonicalJson, compareCodeUnits, type Row } from '../../engine/json.js';
import { NodeUserError } from '../../engine/node-type.js';
import { HashRng, hashRank } from '../prompts/sampling.js';
import { round6, type RuleEnv, type RuleOutcome } from './types.js';

export const DinoPostprocessRule = z.strictObject({
  rule: z.literal('dino-postprocess'),
  label_smoothing: z.number().min(0).max(1).default(0.2),
  max_per_label: z.number().int().min(0).default(2),
  /** Random zero-similarity pairs added per text_a (DINO: as many as max_per_label, i.e. 2). */
  random_pairs: z.number().int().min(0).default(2),
  remove_identical: z.boolean().default(true),
  remove_duplicates: z.boolean().default(true),
  seed: z.number().int().default(42),
});
export type DinoPostprocessRule = z.output<typeof DinoPostprocessRule>;

interface Pair {
  row: Row;
  a: string;
  b: string;
  label: number;
}

function asPair(row: Row, i: number): Pair {
  const a = row['text_a'];
  const b = row['text_b'];
  const label = row['label'];
  if (typeof a !== 'string' || typeof b !== 'string' || typeof label !== 'number') {
    throw new NodeUserError(`dino-postprocess needs pairs {text_a, text_b, label}; row ${i + 1} is not one`, ['rules']);
  }
  return { row, a, b, label };
}

export function applyDinoPostprocess(rows: readonly Row[], r: DinoPostprocessRule, env: RuleEnv): RuleOutcome {
  if (env.kind !== 'pairs') throw new NodeUserError(`rule dino-postprocess applies to pairs, not ${env.kind}`, ['rules']);
  const ranked = rows
    .map((row, i) => ({ pair: asPair(row, i), content: canonicalJson([row['text_a'], row['text_b'], row['label']]), i }))
    .map((x) => ({ ...x, rank: hashRank({ seed: r.seed, row: x.content }) }))
    .sort((x, y) => compareCodeUnits(x.rank, y.rank) || x.i - y.i);

  const removed = { 'dino-postprocess:duplicate': 0, 'dino-postprocess:identical': 0, 'dino-postprocess:over-cap': 0 };
  const seen = new Set<string>();
  const perLabel = new Map<string, number>();
  const kept: Row[] = [];
  for (const { pair, content } of ranked) {
    if (r.remove_duplicates) {
      if (seen.has(content)) {
        removed['dino-postprocess:duplicate']++;
        continue;
      }
      seen.add(content);
    }
    if (r.remove_identical && pair.a === pair.b) {
      removed['dino-postprocess:identical']++;
      continue;
    }
    const label = round6(pair.label * (1 - r.label_smoothing) + r.label_smoothing / 2);
    if (r.max_per_label > 0) {
      const k = canonicalJson([pair.a, label]);
      const n = perLabel.get(k) ?? 0;
      if (n >= r.max_per_label) {
        removed['dino-postprocess:over-cap']++;
        continue;
      }
      perLabel.set(k, n + 1);
    }
    kept.push({ ...pair.row, label });
  }

  const added: Row[] = [];
  if (r.random_pairs > 0 && kept.length > 0) {
    const anchors: string[] = [];
    const seenA = new Set<string>();
    for (const row of kept) {
      const a = row['text_a'] as string;
      if (!seenA.has(a)) {
        seenA.add(a);
        anchors.push(a);
      }
    }
    for (const a of anchors) {
      for (let j = 0; j < r.random_pairs; j++) {
        const rng = new HashRng({ rule: 'dino-postprocess/random-pair', seed: r.seed, text_a: a, j });
        const b = kept[rng.int(kept.length)]!['text_b'] as string;
        added.push({ text_a: a, text_b: b, label: 0 });
      }
    }
  }
  env.log.info(`dino-postprocess: kept ${kept.length}, added ${added.length} random zero-similarity pairs`);
  return { rows: [...kept, ...added], removed, added: added.length };
}
