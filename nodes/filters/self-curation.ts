/**
 * self-curation: MultiCSR's filter on LLM-judge scores (Wang et al. 2024, Sec. 3.2; flan_filter.py). On
 * scored triplets: when `swap` is set and the negative scored higher than the positive, the two sentences (and
 * scores) are swapped; then a triplet is kept if positive_score ≥ alpha and negative_score ≤ beta and, with `gap`,
 * positive_score > negative_score. Presets are the repository's filter types (2–18); the default is type 15
 * (alpha 3, beta 3, gap), the paper's setting.
 */
import { z } from 'zod';
import type { Row } from '../../engine/json.js';
import { NodeUserError } from '../../engine/node-type.js';
import type { RuleEnv, RuleOutcome } from './types.js';

/** flan_filter.py filter_type → (positive_line, negative_line, similarity_gap). */
export const SELF_CURATION_PRESETS: Readonly<Record<number, { alpha: number; beta: number; gap: boolean }>> = Object.freeze({
  2: { alpha: 4, beta: 3, gap: false },
  3: { alpha: 4, beta: 2, gap: false },
  4: { alpha: 5, beta: 3, gap: false },
  5: { alpha: 5, beta: 2, gap: false },
  6: { alpha: 4, beta: 1, gap: false },
  7: { alpha: 4, beta: 0, gap: false },
  8: { alpha: 5, beta: 1, gap: false },
  9: { alpha: 5, beta: 0, gap: false },
  10: { alpha: 3, beta: 0, gap: false },
  11: { alpha: 3, beta: 1, gap: false },
  12: { alpha: 3, beta: 2, gap: false },
  13: { alpha: 4, beta: 4, gap: true },
  14: { alpha: 5, beta: 4, gap: false },
  15: { alpha: 3, beta: 3, gap: true },
  16: { alpha: 2, beta: 0, gap: false },
  17: { alpha: 2, beta: 1, gap: false },
  18: { alpha: 2, beta: 2, gap: true },
});

export const SelfCurationRule = z
  .strictObject({
    rule: z.literal('self-curation'),
    /** A MultiCSR filter type; alpha/beta/gap given explicitly override it. */
    preset: z.number().int().min(2).max(18).optional(),
    alpha: z.number().min(0).max(5).optional(),
    beta: z.number().min(0).max(5).optional(),
    gap: z.boolean().optional(),
    swap: z.boolean().default(true),
  });
export type SelfCurationRule = z.output<typeof SelfCurationRule>;

export function resolveSelfCuration(r: SelfCurationRule): { alpha: number; beta: number; gap: boolean } {
  const base = SELF_CURATION_PRESETS[r.preset ?? 15]!;
  return { alpha: r.alpha ?? base.alpha, beta: r.beta ?? base.beta, gap: r.gap ?? base.gap };
}

export function applySelfCuration(rows: readonly Row[], r: SelfCurationRule, env: RuleEnv): RuleOutcome {
  if (env.kind !== 'triplets') throw new NodeUserError(`rule self-curation applies to scored triplets, not ${env.kind}`, ['rules']);
  const { alpha, beta, gap } = resolveSelfCuration(r);
  let swapped = 0;
  let low = 0;
  const out: Row[] = [];
  rows.forEach((row, i) => {
    let ps = row['positive_score'];
    let ns = row['negative_score'];
    if (typeof ps !== 'number' || typeof ns !== 'number') {
      throw new NodeUserError(`self-curation needs positive_score and negative_score; row ${i + 1} has none (connect a score node)`, ['rules']);
    }
    let next: Row = row;
    if (r.swap && ns > ps) {
      next = { ...row, positive: row['negative'] ?? null, negative: row['positive'] ?? null, positive_score: ns, negative_score: ps };
      [ps, ns] = [ns, ps];
      swapped++;
    }
    if (ps >= alpha && ns <= beta && (!gap || ps > ns)) out.push(next);
    else low++;
  });
  env.log.info(`self-curation (alpha ${alpha}, beta ${beta}, gap ${gap}): swapped ${swapped}, removed ${low}`);
  return { rows: out, removed: { 'self-curation': low } };
}
