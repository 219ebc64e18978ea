/**
 * A checkpoint folder as one file, so it can be a node output whose digest (its content) keys what trains on it.
 * Layout: "SCHFDIR1", u32 header length, header JSON [{path, bytes}] (paths sorted, relative, "/"-separated), then
 * the files' bytes in header order.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';

const MAGIC = 'SCHFDIR1';

export function packFolder(folder: string, files: readonly string[]): Buffer {
  const entries = files
    .map((file) => ({ path: relative(folder, file).split(sep).join('/'), data: readFileSync(file) }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const header = Buffer.from(JSON.stringify(entries.map((e) => ({ path: e.path, bytes: e.data.length }))), 'utf8');
  const prefix = Buffer.alloc(12);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(header.length, 8);
  return Buffer.concat([prefix, header, ...entries.map((e) => e.data)]);
}

/** Writes the bundle's files under `folder` and returns it. */
export function unpackBundle(bundle: Uint8Array, folder: string): string {
  const buf = Buffer.from(bundle.buffer, bundle.byteOffset, bundle.byteLength);
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) throw new Error('not a synthcse checkpoint bundle');
  const headerLength = buf.readUInt32LE(8);
  const entries = JSON.parse(buf.toString('utf8', 12, 12 + headerLength)) as { path: string; bytes: number }[];
  let offset = 12 + headerLength;
  for (const { path, bytes } of entries) {
    const target = normalize(join(folder, path));
    if (!target.startsWith(normalize(folder) + sep)) throw new Error(`checkpoint bundle entry ${path} leaves its folder`);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, buf.subarray(offset, offset + bytes));
    offset += bytes;
  }
  return folder;
}
