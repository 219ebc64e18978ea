/**
 * `limit` and `sample`. limit keeps the first N rows of the file. sample keeps K rows chosen by a seeded hash of each
 * row's content (and its occurrence number, for repeated rows), returned in file order: the choice does not depend
 * on row order, and appending rows to the file keeps a previously chosen row chosen unless a new row outranks it.
 */
import { canonicalJson, compareCodeUnits, type Row } from '../../engine/json.js';
import { hashRank } from '../prompts/sampling.js';

export function limitRows(rows: readonly Row[], limit: number | undefined): Row[] {
  return limit === undefined ? [...rows] : rows.slice(0, limit);
}

export function sampleRows(rows: readonly Row[], k: number | undefined, seed: number): Row[] {
  if (k === undefined || k >= rows.length) return [...rows];
  const seen = new Map<string, number>();
  const ranked = rows.map((row, index) => {
    const content = canonicalJson(row);
    const occurrence = seen.get(content) ?? 0;
    seen.set(content, occurrence + 1);
    return { index, rank: hashRank({ seed, row: content, occurrence }) };
  });
  ranked.sort((a, b) => compareCodeUnits(a.rank, b.rank) || a.index - b.index);
  const keep = ranked.slice(0, k).map((r) => r.index).sort((a, b) => a - b);
  return keep.map((i) => rows[i]!);
}
