/**
 * load: read sentences, pairs or triplets from a txt / tsv / csv / jsonl file or an http(s) URL.
 * Read → map columns to the kind's fields → `limit` (first N rows) → `sample` (K rows, seeded, in file order).
 * Empty lines are skipped and counted; other bad rows are errors with file and line, or counted skips with
 * `on_bad_row: skip`. The file's content joins the node key via `files()`; a URL is keyed by its address and
 * `sha256` (give sha256 so that a changed upstream file is noticed).
 */
import { z } from 'zod';
import { defineNode, NodeUserError } from '../engine/node-type.js';
import { decodeUtf8, formatFromName, parseFormat, type Format, type SourceRecord } from './load/formats.js';
import { checkColumns, toRows, type LoadKind } from './load/fields.js';
import { limitRows, sampleRows } from './load/select.js';
import { readSource } from './load/source.js';
import { downloadMemoKey } from './data/download.js';

const Column = z.union([z.string(), z.number().int().min(0)]);

export const LoadParams = z
  .strictObject({
    /** A local file, relative to the pipeline file or absolute; `${env.SYNTHCSE_DATA}/...` in shipped pipelines. */
    path: z.string().min(1).optional(),
    /** An http(s) URL; the fallback when `path` is also given and does not exist. */
    url: z.string().min(1).optional(),
    /** Expected sha256 of the file (hex); checked for URLs, and for paths when no url is given. */
    sha256: z.string().regex(/^[0-9a-fA-F]{64}$/).optional(),
    /** Default: from the file extension. */
    format: z.enum(['txt', 'tsv', 'csv', 'jsonl']).optional(),
    kind: z.enum(['sentences', 'pairs', 'triplets', 'scored-triplets']).default('sentences'),
    /**
     * Kind field → source column name (or 0-based index without a header), e.g. {anchor: premise}. For sentences,
     * text may list several columns, {text: [sentence1, sentence2]}: each record gives one sentence per column, in
     * that order (DINO's STS-B reader takes both sentences of every pair).
     */
    columns: z.record(z.string(), z.union([Column, z.array(Column).min(1)])).default({}),
    /** Source columns copied into each row as extra fields. */
    keep: z.array(z.string()).default([]),
    /** tsv/csv: the first line names the columns. */
    header: z.boolean().default(true),
    on_bad_row: z.enum(['error', 'skip']).default('error'),
    /** Drop rows equal to an earlier row (SynCSE took NLI premises once each: sent0 of nli_for_simcse.csv, deduplicated). */
    dedupe: z.boolean().optional(),
    /** Keep the first N rows. */
    limit: z.number().int().min(1).optional(),
    /** Keep K rows chosen by a seeded hash (after `limit`), in file order. */
    sample: z.number().int().min(1).optional(),
    seed: z.number().int().default(0),
  })
  .refine((p) => p.path !== undefined || p.url !== undefined, { message: 'give a path or a url', path: ['path'] });
export type LoadParams = z.output<typeof LoadParams>;

function pickFormat(p: LoadParams, name: string): Format {
  const format = p.format ?? formatFromName(name);
  if (format === undefined) throw new NodeUserError(`cannot tell the format of ${name} from its name`, ['format'], 'set format: txt | tsv | csv | jsonl');
  if (format === 'txt' && p.kind !== 'sentences') throw new NodeUserError(`a txt file holds sentences, not ${p.kind}`, ['kind']);
  return format;
}

/** Separates a list of text columns (sentences only) from the one-column-per-field mapping. */
function splitTextColumns(kind: LoadKind, columns: LoadParams['columns']): { columns: Record<string, string | number>; textColumns?: (string | number)[] } {
  const single: Record<string, string | number> = {};
  let textColumns: (string | number)[] | undefined;
  for (const [field, column] of Object.entries(columns)) {
    if (!Array.isArray(column)) single[field] = column;
    else if (kind === 'sentences' && field === 'text') textColumns = column;
    else throw new NodeUserError(`columns.${field}: only sentences' text can list several columns`, ['columns', field], `map ${field} to one column`);
  }
  return textColumns ? { columns: single, textColumns } : { columns: single };
}

/** One record per listed column, each with that column's value as `text`. */
function recordPerColumn(records: readonly SourceRecord[], textColumns: readonly (string | number)[], file: string): SourceRecord[] {
  const first = records[0]?.values ?? {};
  for (const column of textColumns) {
    if (!(String(column) in first)) {
      throw new NodeUserError(`${file}: no column "${column}" for field text (columns: ${Object.keys(first).join(', ')})`, ['columns', 'text']);
    }
  }
  return records.flatMap((record) => textColumns.map((column) => ({ line: record.line, values: { text: record.values[String(column)] ?? null } })));
}

export const load = defineNode({
  type: 'load',
  version: 1,
  description: 'Read sentences, pairs or triplets from txt/tsv/csv/jsonl or an http(s) URL, with limit and seeded sample.',
  params: LoadParams,
  inputs: {},
  outputs: {
    sentences: { kind: 'sentences', description: 'kind: sentences (empty otherwise)' },
    pairs: { kind: 'pairs', description: 'kind: pairs (empty otherwise)' },
    triplets: { kind: 'triplets', description: 'kind: triplets (empty otherwise)' },
    scored: { kind: 'scored-triplets', description: 'kind: scored-triplets (empty otherwise)' },
  },
  cheap: true,
  files(p, _options, probe) {
    // The path's content joins the key. A missing path with a url fallback is keyed by url + sha256; the existence
    // check is a recorded probe, so the file appearing later changes the key.
    if (p.path === undefined) return [];
    if (p.url !== undefined && !probe.exists(probe.resolve(p.path))) return [];
    return [p.path];
  },
  downloads(p, probe) {
    if (p.url === undefined || (p.path !== undefined && probe.exists(probe.resolve(p.path)))) return [];
    return [{ url: p.url, memoKey: downloadMemoKey({ url: p.url, sha256: p.sha256 }) }];
  },
  async run(_inputs, p, ctx) {
    const { columns: single, textColumns } = splitTextColumns(p.kind as LoadKind, p.columns);
    checkColumns(p.kind as LoadKind, single);
    const source = await readSource(p, ctx);
    const format = pickFormat(p, source.name);
    const text = decodeUtf8(source.bytes, source.name);
    const parsed = parseFormat(format, text, { file: source.name, header: p.header, onBadRow: p.on_bad_row });
    const skipped = parsed.skipped;
    const columns = format === 'txt' ? {} : single;
    const records = textColumns && format !== 'txt' ? recordPerColumn(parsed.records, textColumns, source.name) : parsed.records;
    let rows = toRows(records, { file: source.name, kind: p.kind, columns, keep: p.keep, onBadRow: p.on_bad_row }, skipped);
    if (rows.length === 0) throw new NodeUserError(`${source.name} holds no ${p.kind} rows`, ['path']);
    const read = rows.length;
    if (p.dedupe) {
      const seen = new Set<string>();
      rows = rows.filter((row) => {
        const key = JSON.stringify(row);
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
      if (rows.length < read) skipped.duplicates = read - rows.length;
    }
    rows = sampleRows(limitRows(rows, p.limit), p.sample, p.seed);
    if (Object.keys(skipped).length > 0) ctx.stats.removed = { ...ctx.stats.removed, ...skipped };
    ctx.stats.values = { ...ctx.stats.values, read, rows: rows.length, format, source: source.name };
    const empty = { sentences: [], pairs: [], triplets: [], scored: [] };
    switch (p.kind) {
      case 'sentences':
        return { ...empty, sentences: rows };
      case 'pairs':
        return { ...empty, pairs: rows };
      case 'triplets':
        return { ...empty, triplets: rows };
      case 'scored-triplets':
        return { ...empty, scored: rows };
    }
  },
});
