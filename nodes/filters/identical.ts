/**
 * identical: drop pairs (text_a = text_b) and triplets (any two of anchor, positive, negative equal) whose texts
 * are identical, or near-identical with `fold` (case, punctuation and spacing folded). A bi-encoder learns nothing
 * from such a pair, and a negative equal to its anchor is wrong. Sentences have no pair: the rule rejects them.
 */
import { z } from 'zod';
import type { Row } from '../../engine/json.js';
import { stringField } from '../prompts/rows.js';
import { fold, type RuleEnv, type RuleOutcome } from './types.js';
import { NodeUserError } from '../../engine/node-type.js';

export const IdenticalRule = z.strictObject({
  rule: z.literal('identical'),
  /** Compare case- and punctuation-folded text (near-identical); false compares exact strings. */
  fold: z.boolean().default(true),
});
export type IdenticalRule = z.output<typeof IdenticalRule>;

export function applyIdentical(rows: readonly Row[], r: IdenticalRule, env: RuleEnv): RuleOutcome {
  if (env.kind === 'sentences') throw new NodeUserError('rule identical applies to pairs or triplets, not sentences', ['rules']);
  const norm = (s: string): string => (r.fold ? fold(s) : s);
  const fields = env.kind === 'pairs' ? ['text_a', 'text_b'] : ['anchor', 'positive', 'negative'];
  const out = rows.filter((row) => {
    const texts = fields.map((f) => norm(stringField(row, f)));
    return new Set(texts).size === texts.length;
  });
  return { rows: out, removed: { identical: rows.length - out.length } };
}
