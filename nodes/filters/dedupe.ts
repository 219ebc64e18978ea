/**
 * dedupe: keep the first of rows that agree on `fields` (default: the kind's text fields, plus label for pairs),
 * exactly or case/punctuation-folded. First-occurrence order is kept, so the result is deterministic.
 */
import { z } from 'zod';
import { canonicalJson, type Row } from '../../engine/json.js';
import { TEXT_FIELDS } from '../prompts/rows.js';
import { fold, type RuleEnv, type RuleOutcome } from './types.js';

export const DedupeRule = z.strictObject({
  rule: z.literal('dedupe'),
  fields: z.array(z.string()).optional(),
  fold: z.boolean().default(false),
});
export type DedupeRule = z.output<typeof DedupeRule>;

export function applyDedupe(rows: readonly Row[], r: DedupeRule, env: RuleEnv): RuleOutcome {
  const fields = r.fields ?? (env.kind === 'pairs' ? [...TEXT_FIELDS.pairs, 'label'] : TEXT_FIELDS[env.kind]);
  const seen = new Set<string>();
  const out: Row[] = [];
  for (const row of rows) {
    const key = canonicalJson(fields.map((f) => {
      const v = row[f] ?? null;
      return r.fold && typeof v === 'string' ? fold(v) : v;
    }));
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(row);
  }
  return { rows: out, removed: { dedupe: rows.length - out.length } };
}
