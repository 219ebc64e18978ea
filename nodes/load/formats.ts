/**
 * Parsing of the load node's file formats into records of named string columns, with line-accurate errors.
 * txt: one record per line, column "text". tsv: header line, split on TAB only (no quoting), as the project's data
 * files are written. csv: RFC 4180 (quoted fields, "" escapes, quoted newlines). jsonl: one JSON object per line.
 */
import { NodeUserError } from '../../engine/node-type.js';
import type { Json } from '../../engine/json.js';

export type Format = 'txt' | 'tsv' | 'csv' | 'jsonl';

export interface SourceRecord {
  /** 1-based line of the record's start in the file. */
  line: number;
  values: Record<string, Json>;
}

export interface ParseOutcome {
  records: SourceRecord[];
  /** Skipped records by reason (empty lines, bad rows under on_bad_row: skip). */
  skipped: Record<string, number>;
}

export interface ParseSettings {
  file: string;
  header: boolean;
  onBadRow: 'error' | 'skip';
}

export function formatFromName(name: string): Format | undefined {
  const m = /\.(txt|tsv|csv|jsonl|ndjson)$/i.exec(name.replace(/[?#].*$/, ''));
  if (!m) return undefined;
  const ext = m[1]!.toLowerCase();
  return ext === 'ndjson' ? 'jsonl' : (ext as Format);
}

/** Decodes strictly: invalid UTF-8 is reported with the line it is on, never replaced with U+FFFD silently. */
export function decodeUtf8(data: Uint8Array, file: string): string {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(data);
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch {
    const lenient = new TextDecoder('utf-8').decode(data);
    const at = lenient.indexOf('\ufffd');
    const line = at < 0 ? 1 : lenient.slice(0, at).split('\n').length;
    throw new NodeUserError(`${file}:${line}: invalid UTF-8`, ['path'], 're-encode the file as UTF-8');
  }
}

function splitLines(text: string): string[] {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function bump(skipped: Record<string, number>, reason: string): void {
  skipped[reason] = (skipped[reason] ?? 0) + 1;
}

function bad(s: ParseSettings, skipped: Record<string, number>, line: number, reason: string, message: string): void {
  if (s.onBadRow === 'skip') bump(skipped, reason);
  else throw new NodeUserError(`${s.file}:${line}: ${message}`, ['path'], 'fix the file, or set on_bad_row: skip to drop such rows (they are counted)');
}

export function parseTxt(text: string, _s: ParseSettings): ParseOutcome {
  const records: SourceRecord[] = [];
  const skipped: Record<string, number> = {};
  splitLines(text).forEach((raw, i) => {
    // Empty lines carry no sentence; they are counted, never an error.
    if (raw.trim() === '') bump(skipped, 'empty-line');
    else records.push({ line: i + 1, values: { text: raw } });
  });
  return { records, skipped };
}

function fromHeader(rows: { line: number; fields: string[] }[], s: ParseSettings, skipped: Record<string, number>): SourceRecord[] {
  if (rows.length === 0) return [];
  let columns: string[];
  let body = rows;
  if (s.header) {
    columns = rows[0]!.fields.map((c) => c.trim());
    const dup = columns.find((c, i) => columns.indexOf(c) !== i);
    if (dup !== undefined) throw new NodeUserError(`${s.file}:${rows[0]!.line}: column "${dup}" appears twice in the header`, ['path']);
    body = rows.slice(1);
  } else {
    columns = rows[0]!.fields.map((_, i) => String(i));
  }
  const out: SourceRecord[] = [];
  for (const row of body) {
    if (row.fields.length === 1 && row.fields[0]!.trim() === '') {
      bump(skipped, 'empty-line');
      continue;
    }
    if (row.fields.length !== columns.length) {
      bad(s, skipped, row.line, 'wrong-field-count', `expected ${columns.length} fields, found ${row.fields.length}`);
      continue;
    }
    const values: Record<string, Json> = {};
    columns.forEach((c, i) => (values[c] = row.fields[i]!));
    out.push({ line: row.line, values });
  }
  return out;
}

export function parseTsv(text: string, s: ParseSettings): ParseOutcome {
  const skipped: Record<string, number> = {};
  const rows = splitLines(text).map((l, i) => ({ line: i + 1, fields: l.split('\t') }));
  return { records: fromHeader(rows, s, skipped), skipped };
}

/** RFC 4180 CSV: fields may be quoted with ", "" is a literal quote, quoted fields may span lines. */
export function parseCsv(text: string, s: ParseSettings): ParseOutcome {
  const skipped: Record<string, number> = {};
  const rows: { line: number; fields: string[] }[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    let field = '';
    let endOfRecord = false;
    while (!endOfRecord) {
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= n) throw new NodeUserError(`${s.file}:${start}: unterminated quoted field`, ['path']);
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          field += c;
          i++;
        }
        // After a closing quote only a separator or the end of the record may follow.
        if (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
          throw new NodeUserError(`${s.file}:${line}: text after a closing quote`, ['path']);
        }
      }
      while (i < n && text[i] !== ',' && text[i] !== '\n') field += text[i++];
      if (field.endsWith('\r') && (i >= n || text[i] === '\n')) field = field.slice(0, -1);
      fields.push(field);
      field = '';
      if (i >= n) endOfRecord = true;
      else if (text[i] === ',') i++;
      else {
        i++;
        line++;
        endOfRecord = true;
      }
    }
    rows.push({ line: start, fields });
  }
  return { records: fromHeader(rows, s, skipped), skipped };
}

export function parseJsonl(text: string, s: ParseSettings): ParseOutcome {
  const records: SourceRecord[] = [];
  const skipped: Record<string, number> = {};
  splitLines(text).forEach((raw, i) => {
    if (raw.trim() === '') {
      bump(skipped, 'empty-line');
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      bad(s, skipped, i + 1, 'invalid-json', `invalid JSON: ${(error as Error).message}`);
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      bad(s, skipped, i + 1, 'not-an-object', 'each line must be a JSON object');
      return;
    }
    records.push({ line: i + 1, values: value as Record<string, Json> });
  });
  return { records, skipped };
}

export function parseFormat(format: Format, text: string, s: ParseSettings): ParseOutcome {
  switch (format) {
    case 'txt':
      return parseTxt(text, s);
    case 'tsv':
      return parseTsv(text, s);
    case 'csv':
      return parseCsv(text, s);
    case 'jsonl':
      return parseJsonl(text, s);
  }
}
