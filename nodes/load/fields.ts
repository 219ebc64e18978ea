/**
 * Mapping source columns to the fields of the output kind (nodes/kinds.ts). `columns` maps a kind field to a
 * source column (by header name, or by 0-based index for headerless files); unmapped fields use their own name.
 */
import { NodeUserError } from '../../engine/node-type.js';
import type { Json, Row } from '../../engine/json.js';
import type { SourceRecord } from './formats.js';

export type LoadKind = 'sentences' | 'pairs' | 'triplets' | 'scored-triplets';

interface FieldSpec {
  name: string;
  type: 'text' | 'number';
}

export const KIND_FIELDS: Readonly<Record<LoadKind, readonly FieldSpec[]>> = Object.freeze({
  sentences: [{ name: 'text', type: 'text' }],
  pairs: [
    { name: 'text_a', type: 'text' },
    { name: 'text_b', type: 'text' },
    { name: 'label', type: 'number' },
  ],
  triplets: [
    { name: 'anchor', type: 'text' },
    { name: 'positive', type: 'text' },
    { name: 'negative', type: 'text' },
  ],
  'scored-triplets': [
    { name: 'anchor', type: 'text' },
    { name: 'positive', type: 'text' },
    { name: 'negative', type: 'text' },
    { name: 'positive_score', type: 'number' },
    { name: 'negative_score', type: 'number' },
  ],
});

export interface MapSettings {
  file: string;
  kind: LoadKind;
  columns: Readonly<Record<string, string | number>>;
  /** Extra source columns copied into each row under their own names. */
  keep: readonly string[];
  onBadRow: 'error' | 'skip';
}

export function checkColumns(kind: LoadKind, columns: Readonly<Record<string, string | number>>): void {
  const known = KIND_FIELDS[kind].map((f) => f.name);
  for (const field of Object.keys(columns)) {
    if (!known.includes(field)) {
      throw new NodeUserError(`columns.${field}: "${field}" is not a field of ${kind} (fields: ${known.join(', ')})`, ['columns', field]);
    }
  }
}

/** Maps records to rows; a record with a missing/empty text field or a non-numeric number field is a bad row. */
export function toRows(records: readonly SourceRecord[], s: MapSettings, skipped: Record<string, number>): Row[] {
  const fields = KIND_FIELDS[s.kind];
  const rows: Row[] = [];
  if (records.length > 0) {
    const first = records[0]!.values;
    for (const f of fields) {
      const col = String(s.columns[f.name] ?? f.name);
      if (!(col in first)) {
        throw new NodeUserError(
          `${s.file}: no column "${col}" for field ${f.name} (columns: ${Object.keys(first).join(', ')})`,
          s.columns[f.name] === undefined ? ['columns'] : ['columns', f.name],
          `map it with columns: {${f.name}: <column>}`,
        );
      }
    }
    for (const k of s.keep) {
      if (!(k in first)) throw new NodeUserError(`${s.file}: no column "${k}" to keep`, ['keep']);
    }
  }
  outer: for (const rec of records) {
    const row: Row = {};
    for (const f of fields) {
      const col = String(s.columns[f.name] ?? f.name);
      const raw: Json | undefined = rec.values[col];
      let value: Json;
      if (f.type === 'text') {
        if (typeof raw !== 'string' || raw.trim() === '') {
          if (s.onBadRow === 'skip') {
            skipped['empty-field'] = (skipped['empty-field'] ?? 0) + 1;
            continue outer;
          }
          throw new NodeUserError(`${s.file}:${rec.line}: field ${f.name} (column "${col}") is empty or not text`, ['path']);
        }
        value = raw;
      } else {
        const num = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
        if (!Number.isFinite(num)) {
          if (s.onBadRow === 'skip') {
            skipped['not-a-number'] = (skipped['not-a-number'] ?? 0) + 1;
            continue outer;
          }
          throw new NodeUserError(`${s.file}:${rec.line}: field ${f.name} (column "${col}") is not a number: ${JSON.stringify(raw)}`, ['path']);
        }
        value = num;
      }
      row[f.name] = value;
    }
    for (const k of s.keep) row[k] = rec.values[k] ?? null;
    rows.push(row);
  }
  return rows;
}
