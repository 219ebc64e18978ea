/** Row-field helpers shared by node types: the kind contract (nodes/kinds.ts) as code. */
import { NodeUserError, type PortValue } from '../../engine/node-type.js';
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
  return rows.map((row, i) => textOf(row, i, field, kind));
}

/** The string field `field` of the row at `index` (0-based), as textsOf checks it. */
export function textOf(row: Row, index: number, field: string, kind: string): string {
  const v = row[field];
  if (typeof v !== 'string') throw new NodeUserError(`input ${kind} row ${index + 1} has no string field "${field}"`);
  return v;
}

/** The rows of an optional rows input, one at a time (none when the input is absent or a file). */
export async function* streamedRows(value: PortValue | undefined): AsyncGenerator<Row> {
  if (value !== undefined && value.form === 'rows') yield* value.stream();
}

export function stringField(row: Row, field: string): string {
  const v = row[field];
  return typeof v === 'string' ? v : '';
}
