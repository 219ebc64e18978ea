/**
 * The members of the archive formats public data files come in: .zip (SentEval's STS12–16, SICK) and .tar or .tar.gz
 * (the STS Benchmark). Regular files only, by their path inside the archive. Node's zlib does the decompression; the
 * container formats are read here (a zip's central directory, tar's 512-byte headers), as no unpacking library is
 * among the project's dependencies.
 */
import { gunzipSync, inflateRawSync } from 'node:zlib';

export class ArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveError';
  }
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

export function unzip(bytes: Uint8Array): Map<string, Buffer> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  // The end-of-central-directory record sits in the last 22 bytes plus a comment of at most 65,535.
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (buf.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ArchiveError('not a zip file (no end of central directory)');
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const out = new Map<string, Buffer>();
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(at) !== CENTRAL) throw new ArchiveError(`zip central directory entry ${n} is damaged`);
    const method = buf.readUInt16LE(at + 10);
    const compressedSize = buf.readUInt32LE(at + 20);
    const nameLength = buf.readUInt16LE(at + 28);
    const extraLength = buf.readUInt16LE(at + 30);
    const commentLength = buf.readUInt16LE(at + 32);
    const localOffset = buf.readUInt32LE(at + 42);
    const name = buf.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (name.endsWith('/')) continue;
    if (buf.readUInt32LE(localOffset) !== LOCAL) throw new ArchiveError(`zip member ${name} has no local header`);
    const start = localOffset + 30 + buf.readUInt16LE(localOffset + 26) + buf.readUInt16LE(localOffset + 28);
    const data = buf.subarray(start, start + compressedSize);
    if (method === 0) out.set(name, Buffer.from(data));
    else if (method === 8) out.set(name, inflateRawSync(data));
    else throw new ArchiveError(`zip member ${name} uses compression method ${method}, which is not supported`);
  }
  return out;
}

function field(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.toString('utf8', 0, end < 0 ? raw.length : end);
}

/** The regular files of a tar archive, gzip-compressed or not; GNU long names (type L) are followed. */
export function untar(bytes: Uint8Array): Map<string, Buffer> {
  let tar: Buffer;
  try {
    tar = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch (error) {
    throw new ArchiveError(`not a gzip file: ${(error as Error).message}`);
  }
  const out = new Map<string, Buffer>();
  let longName: string | undefined;
  let at = 0;
  while (at + 512 <= tar.length) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const size = parseInt(field(header, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156]!);
    const prefix = header.toString('utf8', 257, 262) === 'ustar' ? field(header, 345, 155) : '';
    const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    if (!Number.isFinite(size)) throw new ArchiveError(`tar member ${name} has an unreadable size`);
    const data = tar.subarray(at + 512, at + 512 + size);
    longName = undefined;
    if (type === 'L') longName = field(data, 0, data.length);
    else if (type === '0' || type === '\0') out.set(name.replace(/^\.\//, ''), Buffer.from(data));
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

/** A .tar.gz archive's regular files (the STS Benchmark's release). */
export function untarGz(bytes: Uint8Array): Map<string, Buffer> {
  if (!(bytes[0] === 0x1f && bytes[1] === 0x8b)) throw new ArchiveError('not a gzip file (no gzip magic bytes)');
  return untar(bytes);
}
