/**
 * refusals: drop rows whose LLM-written fields contain a refusal or failed-generation phrase ("I cannot
 * generate…", "As an AI…"). Only generated fields are checked by default (text_b of pairs, positive and negative of
 * triplets, text of sentences), so a human anchor such as "I'm sorry, I can't make it" is never the cause.
 */
import { z } from 'zod';
import type { Row } from '../../engine/json.js';
import { defaultRefusalPatterns, matchesRefusal } from '../prompts/refusals.js';
import type { RowKind } from '../prompts/rows.js';
import type { RuleEnv, RuleOutcome } from './types.js';

const GENERATED_FIELDS: Readonly<Record<RowKind, readonly string[]>> = {
  sentences: ['text'],
  pairs: ['text_b'],
  triplets: ['positive', 'negative'],
};

export const RefusalsRule = z.strictObject({
  rule: z.literal('refusals'),
  /** Extra case-insensitive phrases. */
  patterns: z.array(z.string().min(1)).default([]),
  /** Use only `patterns`, not the built-in list. */
  replace_defaults: z.boolean().default(false),
  /** Fields to check; default the generated fields of the kind. */
  fields: z.array(z.string()).optional(),
});
export type RefusalsRule = z.output<typeof RefusalsRule>;

export function applyRefusals(rows: readonly Row[], r: RefusalsRule, env: RuleEnv): RuleOutcome {
  const patterns = r.replace_defaults ? r.patterns : [...defaultRefusalPatterns, ...r.patterns];
  const fields = r.fields ?? GENERATED_FIELDS[env.kind];
  const out = rows.filter((row) => !fields.some((f) => typeof row[f] === 'string' && matchesRefusal(row[f], patterns) !== undefined));
  return { rows: out, removed: { refusals: rows.length - out.length } };
}
