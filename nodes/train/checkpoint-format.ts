/**
 * A small container for training checkpoints: a JSON header plus named typed-array sections.
 * Layout: "SCCKPT01", u32 headerBytes, header JSON (UTF-8), padding to 4, then each section's bytes in header order.
 */
import type { JsonObject } from '../../engine/json.js';

const MAGIC = 'SCCKPT01';

export type SectionArray = Float32Array | Int32Array | Uint32Array;
type SectionType = 'f32' | 'i32' | 'u32';

function typeOf(a: SectionArray): SectionType {
  return a instanceof Float32Array ? 'f32' : a instanceof Int32Array ? 'i32' : 'u32';
}

export function packCheckpoint(header: JsonObject, sections: Record<string, SectionArray>): Uint8Array {
  const names = Object.keys(sections);
  const layout = names.map((name) => ({ name, type: typeOf(sections[name]!), length: sections[name]!.length }));
  const headerBytes = Buffer.from(JSON.stringify({ header, layout }), 'utf8');
  const start = Math.ceil((12 + headerBytes.length) / 4) * 4;
  const total = start + names.reduce((s, n) => s + sections[n]!.byteLength, 0);
  const out = new Uint8Array(total);
  const view = Buffer.from(out.buffer);
  view.write(MAGIC, 0, 'latin1');
  view.writeUInt32LE(headerBytes.length, 8);
  out.set(headerBytes, 12);
  let offset = start;
  for (const name of names) {
    const a = sections[name]!;
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), offset);
    offset += a.byteLength;
  }
  return out;
}

export function unpackCheckpoint(bytes: Uint8Array): { header: JsonObject; sections: Record<string, SectionArray> } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) throw new Error('not a synthcse training checkpoint');
  const headerLength = buf.readUInt32LE(8);
  const parsed = JSON.parse(buf.toString('utf8', 12, 12 + headerLength)) as {
    header: JsonObject;
    layout: { name: string; type: SectionType; length: number }[];
  };
  let offset = Math.ceil((12 + headerLength) / 4) * 4;
  const sections: Record<string, SectionArray> = {};
  for (const { name, type, length } of parsed.layout) {
    const byteLength = length * 4;
    if (offset + byteLength > buf.length) throw new Error('training checkpoint is truncated');
    // Copy into a fresh, aligned buffer.
    const raw = new Uint8Array(byteLength);
    raw.set(buf.subarray(offset, offset + byteLength));
    sections[name] = type === 'f32' ? new Float32Array(raw.buffer) : type === 'i32' ? new Int32Array(raw.buffer) : new Uint32Array(raw.buffer);
    offset += byteLength;
  }
  return { header: parsed.header, sections };
}
