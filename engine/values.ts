/**
 * Port values in the artifact store. A rows value is stored as canonical JSONL; its digest is the digest of those
 * bytes, so equal rows in equal order always have the same digest. Rows are written and read a row at a time (the
 * digest is computed while the bytes stream), so a value of any size passes between nodes in bounded memory; a node
 * that needs every row at once still gets them as an array. A file value's digest covers the file and its metadata.
 */
import { join } from 'node:path';
import type { ArtifactWriter, Store } from '../cache/store.js';
import { canonicalJson, digestJson, type Digest, type Json, type Row } from './json.js';
import { hashFile } from './keys.js';
import type { FileOutput, PortValue, RowsValue } from './node-type.js';
import type { OutputRecord } from './run-store.js';

export function serializeRows(rows: readonly Row[]): Buffer {
  const parts: string[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) parts[i] = canonicalJson(rows[i]) + '\n';
  return Buffer.from(parts.join(''), 'utf8');
}

export function parseRows(bytes: Buffer): Row[] {
  const text = bytes.toString('utf8');
  const rows: Row[] = [];
  let start = 0;
  while (start < text.length) {
    const end = text.indexOf('\n', start);
    const line = text.slice(start, end < 0 ? text.length : end);
    if (line.length > 0) rows.push(JSON.parse(line) as Row);
    start = end < 0 ? text.length : end + 1;
  }
  return rows;
}

/** Rows parsed from chunks of JSONL bytes as they arrive (a line may span chunks; UTF-8 is split only at '\n'). */
export async function* parseRowStream(chunks: AsyncIterable<Buffer>): AsyncGenerator<Row> {
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of chunks) {
    const bytes = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
    let start = 0;
    for (let end = bytes.indexOf(0x0a, start); end >= 0; end = bytes.indexOf(0x0a, start)) {
      if (end > start) yield JSON.parse(bytes.toString('utf8', start, end)) as Row;
      start = end + 1;
    }
    rest = start === 0 ? bytes : Buffer.from(bytes.subarray(start));
  }
  if (rest.length > 0) yield JSON.parse(rest.toString('utf8')) as Row;
}

/**
 * Writes rows as canonical JSONL into a new artifact, one row at a time, with the digest computed as it goes: the
 * same digest serializeRows + putBytes give for the same rows. Nothing is in the store until commit().
 */
export class RowsWriter {
  private readonly writer: ArtifactWriter;
  private rows = 0;

  constructor(store: Store, tempDir: string, name = 'rows.jsonl') {
    this.writer = store.artifactWriter(join(tempDir, name));
  }

  get count(): number {
    return this.rows;
  }

  add(row: Row): void {
    this.writer.write(canonicalJson(row) + '\n');
    this.rows++;
  }

  finish(): { record: OutputRecord & { form: 'rows' }; commit(): void; discard(): void } {
    const done = this.writer.finish();
    return { record: { form: 'rows', digest: done.digest, count: this.rows }, commit: done.commit, discard: done.discard };
  }

  abandon(): void {
    this.writer.abandon();
  }
}

export function storeRows(store: Store, rows: readonly Row[]): OutputRecord {
  const digest = store.putBytes(serializeRows(rows));
  return { form: 'rows', digest, count: rows.length };
}

/**
 * A stored rows value as a node sees it: `stream()` reads the rows a chunk at a time (checked against the digest as
 * the bytes are read), `rows` parses them all once, on first use, for nodes that need every row at once.
 */
export class StoredRows implements RowsValue {
  readonly form = 'rows' as const;
  private all: Row[] | undefined;

  constructor(
    private readonly store: Store,
    readonly digest: Digest,
    readonly count: number,
  ) {}

  get rows(): Row[] {
    this.all ??= parseRows(this.store.getBytes(this.digest));
    return this.all;
  }

  stream(): AsyncIterable<Row> {
    if (this.all !== undefined) return iterate(this.all);
    return parseRowStream(this.store.readArtifact(this.digest));
  }
}

/** Rows in memory as a RowsValue (tests, and nodes handing an array to a helper that takes a value). */
export function rowsInMemory(rows: Row[], digest: Digest): RowsValue {
  return { form: 'rows', rows, digest, count: rows.length, stream: () => iterate(rows) };
}

async function* iterate<T>(items: Iterable<T>): AsyncGenerator<T> {
  yield* items;
}

export async function storeFile(store: Store, output: FileOutput): Promise<OutputRecord> {
  const fileDigest = await hashFile(output.file);
  store.putFile(output.file, fileDigest);
  const meta = JSON.parse(canonicalJson(output.meta)) as { [key: string]: Json };
  return { form: 'file', digest: digestJson({ file: fileDigest, meta }), file: fileDigest, meta };
}

export function loadValue(store: Store, output: OutputRecord): PortValue {
  if (output.form === 'rows') return new StoredRows(store, output.digest, output.count);
  return { form: 'file', path: store.verifiedFilePath(output.file), meta: output.meta, digest: output.digest };
}

/** Whether the artifacts behind an output are present (a cheap check before trusting a cached node). */
export function outputPresent(store: Store, output: OutputRecord): boolean {
  return store.artifactPresent(output.form === 'rows' ? output.digest : output.file);
}
