/** trim: strip leading/trailing whitespace from every text field (and collapse inner runs); drop rows left empty. */
import { z } from 'zod';
import type { Row } from '../../engine/json.js';
import { TEXT_FIELDS } from '../prompts/rows.js';
import type { RuleEnv, RuleOutcome } from './types.js';

export const TrimRule = z.strictObject({
  rule: z.literal('trim'),
  /** Also replace runs of whitespace inside the text by one space. */
  collapse: z.boolean().default(true),
});
export type TrimRule = z.output<typeof TrimRule>;

export function applyTrim(rows: readonly Row[], r: TrimRule, env: RuleEnv): RuleOutcome {
  const fields = TEXT_FIELDS[env.kind];
  const out: Row[] = [];
  let removed = 0;
  for (const row of rows) {
    const next: Row = { ...row };
    let empty = false;
    for (const f of fields) {
      const v = row[f];
      if (typeof v !== 'string') continue;
      const t = r.collapse ? v.replace(/\s+/g, ' ').trim() : v.trim();
      next[f] = t;
      if (t === '') empty = true;
    }
    if (empty) removed++;
    else out.push(next);
  }
  return { rows: out, removed: { trim: removed } };
}
