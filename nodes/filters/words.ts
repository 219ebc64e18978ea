/** words: drop rows where any checked text field has fewer than `min` or more than `max` words (SynCSE: max 32). */
import { z } from 'zod';
import type { Row } from '../../engine/json.js';
import { TEXT_FIELDS } from '../prompts/rows.js';
import { wordCount, type RuleEnv, type RuleOutcome } from './types.js';

export const WordsRule = z
  .strictObject({
    rule: z.literal('words'),
    min: z.number().int().min(0).optional(),
    max: z.number().int().min(1).optional(),
    /** Default: every text field of the kind. */
    fields: z.array(z.string()).optional(),
  })
  .refine((r) => r.min !== undefined || r.max !== undefined, { message: 'give min or max' })
  .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, { message: 'min must not exceed max' });
export type WordsRule = z.output<typeof WordsRule>;

export function applyWords(rows: readonly Row[], r: WordsRule, env: RuleEnv): RuleOutcome {
  const fields = r.fields ?? TEXT_FIELDS[env.kind];
  let short = 0;
  let long = 0;
  const out = rows.filter((row) => {
    for (const f of fields) {
      const v = row[f];
      if (typeof v !== 'string') continue;
      const n = wordCount(v);
      if (r.min !== undefined && n < r.min) return (short++, false);
      if (r.max !== undefined && n > r.max) return (long++, false);
    }
    return true;
  });
  const removed: Record<string, number> = {};
  if (r.min !== undefined) removed['words:too-short'] = short;
  if (r.max !== undefined) removed['words:too-long'] = long;
  return { rows: out, removed };
}
