/**
 * Reads and writes the safetensors format (https://huggingface.co/docs/safetensors): u64 little-endian header length,
 * a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {...}}, then the raw tensor bytes.
 * Floating-point tensors are returned as float32 (F16 and BF16 are widened); we write F32 only.
 */
import { readFileSync } from 'node:fs';

export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

export type TensorMap = Map<string, NamedTensor>;

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function decode(entry: HeaderEntry, bytes: Uint8Array, source: string, name: string): Float32Array {
  const [begin, end] = entry.data_offsets;
  const raw = bytes.subarray(begin, end);
  const count = entry.shape.reduce((a, b) => a * b, 1);
  switch (entry.dtype) {
    case 'F32': {
      const out = new Float32Array(count);
      new Uint8Array(out.buffer).set(raw);
      return out;
    }
    case 'F16':
    case 'BF16': {
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const out = new Float32Array(count);
      const f32 = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < count; i++) {
        const h = view.getUint16(i * 2, true);
        if (entry.dtype === 'F16') out[i] = halfToFloat(h);
        else {
          f32.setUint32(0, h << 16, true);
          out[i] = f32.getFloat32(0, true);
        }
      }
      return out;
    }
    default:
      throw new Error(`${source}: tensor ${name} has dtype ${entry.dtype}; only F32, F16 and BF16 weights can be loaded`);
  }
}

/** Floating-point tensors of a safetensors file; integer buffers (e.g. position_ids) are skipped. */
export function readSafetensors(path: string): TensorMap {
  const file = readFileSync(path);
  if (file.length < 8) throw new Error(`${path} is not a safetensors file (too short)`);
  const headerLength = Number(file.readBigUInt64LE(0));
  if (8 + headerLength > file.length) throw new Error(`${path} is not a safetensors file (header past the end)`);
  const header = JSON.parse(file.toString('utf8', 8, 8 + headerLength)) as Record<string, HeaderEntry | Record<string, string>>;
  const body = file.subarray(8 + headerLength);
  const out: TensorMap = new Map();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = entry as HeaderEntry;
    if (e.dtype.startsWith('I') || e.dtype.startsWith('U') || e.dtype === 'BOOL') continue;
    out.set(name, { shape: e.shape, data: decode(e, body, path, name) });
  }
  return out;
}

/** A safetensors file of float32 tensors, names sorted (a canonical byte layout for the same weights). */
export function writeSafetensors(tensors: TensorMap, metadata: Record<string, string> = { format: 'pt' }): Buffer {
  const names = [...tensors.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the tensor data starts 8-byte aligned, as the reference writer does.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const d = tensors.get(name)!.data;
    Buffer.from(d.buffer, d.byteOffset, d.byteLength).copy(out, at);
    at += d.byteLength;
  }
  return out;
}
