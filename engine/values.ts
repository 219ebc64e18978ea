/**
 * Port values in the artifact store. A rows value is stored as canonical JSONL; its digest is the digest of those
 * bytes, so equal rows in equal order always have the same digest. A file value's digest covers the file and its
 * metadata.
 */
import type { Store } from '../cache/store.js';
import { canonicalJson, digestJson, type Json, type Row } from './json.js';
import { hashFile } from './keys.js';
import type { FileOutput, PortValue } from './node-type.js';
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

export function storeRows(store: Store, rows: readonly Row[]): OutputRecord {
  const digest = store.putBytes(serializeRows(rows));
  return { form: 'rows', digest, count: rows.length };
}

export async function storeFile(store: Store, output: FileOutput): Promise<OutputRecord> {
  const fileDigest = await hashFile(output.file);
  store.putFile(output.file, fileDigest);
  const meta = JSON.parse(canonicalJson(output.meta)) as { [key: string]: Json };
  return { form: 'file', digest: digestJson({ file: fileDigest, meta }), file: fileDigest, meta };
}

export function loadValue(store: Store, output: OutputRecord): PortValue {
  if (output.form === 'rows') return { form: 'rows', rows: parseRows(store.getBytes(output.digest)), digest: output.digest };
  return { form: 'file', path: store.verifiedFilePath(output.file), meta: output.meta, digest: output.digest };
}

/** Whether the artifacts behind an output are present (a cheap check before trusting a cached node). */
export function outputPresent(store: Store, output: OutputRecord): boolean {
  return store.artifactPresent(output.form === 'rows' ? output.digest : output.file);
}

