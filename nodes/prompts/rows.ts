/** Row-field helpers shared by node types: the kind contract (nodes/kinds.ts) as code. */
import { NodeUserError } from '../../engine/node-type.js';
import type { Row } from '../../engine/json.js';

export type RowKind = 'sentences' | 'pairs' | 'triplets';

/** The text fields of each rows kind, in order. */
export const TEXT_FIELDS: Readonly<Record<RowKind, readonly string[]>> = Object.freeze({
  sentences: ['text'],
  pairs: ['text_a', 'text_b'],
  triplets: ['anchor', 'positive', 'negative'],
});

/** The string field `field` of every row; a missing or non-string field is a user error naming the row. */
export function textsOf(rows: readonly Row[], field: string, kind: string): string[] {
  return rows.map((row, i) => {
    const v = row[field];
    if (typeof v !== 'string') throw new NodeUserError(`input ${kind} row ${i + 1} has no string field "${field}"`);
    return v;
  });
}

export function stringField(row: Row, field: string): string {
  const v = row[field];
  return typeof v === 'string' ? v : '';
}
