/**
 * A minimal protobuf wire-format writer and a top-level field reader: just enough to write ONNX models and read
 * their metadata back. Sub-messages are spliced in as chunk lists, so a 100 MB initializer is never copied twice.
 */

const WIRE_VARINT = 0;
const WIRE_FIXED32 = 5;
const WIRE_LEN = 2;

export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private pending: number[] = [];
  length = 0;

  private flush(): void {
    if (this.pending.length > 0) {
      this.chunks.push(Uint8Array.from(this.pending));
      this.pending = [];
    }
  }

  private rawVarint(value: number | bigint): void {
    if (typeof value === 'number' && value >= 0 && Number.isSafeInteger(value)) {
      let v = value;
      while (v >= 0x80) {
        this.pending.push((v % 0x80) | 0x80);
        v = Math.floor(v / 0x80);
      }
      this.pending.push(v);
      this.length += varintLength(value);
      return;
    }
    // Negative int64: two's complement over 64 bits, always 10 bytes.
    let v = BigInt.asUintN(64, BigInt(value));
    let n = 0;
    while (v >= 0x80n) {
      this.pending.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
      n++;
    }
    this.pending.push(Number(v));
    this.length += n + 1;
  }

  private tag(field: number, wire: number): void {
    this.rawVarint(field * 8 + wire);
  }

  /** int32/int64/enum/bool field. */
  varint(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.rawVarint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const b = Buffer.alloc(4);
    b.writeFloatLE(value, 0);
    for (const x of b) this.pending.push(x);
    this.length += 4;
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.rawVarint(data.byteLength);
    this.flush();
    this.chunks.push(data);
    this.length += data.byteLength;
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, Buffer.from(value, 'utf8'));
  }

  message(field: number, sub: ProtoWriter): this {
    this.tag(field, WIRE_LEN);
    this.rawVarint(sub.length);
    this.flush();
    for (const c of sub.finishChunks()) this.chunks.push(c);
    this.length += sub.length;
    return this;
  }

  finishChunks(): Uint8Array[] {
    this.flush();
    return this.chunks;
  }

  finish(): Buffer {
    return Buffer.concat(this.finishChunks(), this.length);
  }
}

function varintLength(value: number): number {
  let n = 1;
  let v = value;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

export interface ProtoField {
  field: number;
  wire: number;
  /** Varint value (as a number; exact up to 2^53) for wire type 0. */
  value?: number;
  /** Payload for length-delimited fields (a view, not a copy). */
  bytes?: Uint8Array;
}

/** The top-level fields of one message, in order. */
export function readFields(buf: Uint8Array): ProtoField[] {
  const fields: ProtoField[] = [];
  let pos = 0;
  const readVarint = (): number => {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (pos >= buf.length) throw new Error('protobuf: truncated varint');
      const byte = buf[pos++]!;
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return result;
      scale *= 128;
    }
  };
  while (pos < buf.length) {
    const key = readVarint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === WIRE_VARINT) fields.push({ field, wire, value: readVarint() });
    else if (wire === WIRE_LEN) {
      const len = readVarint();
      if (pos + len > buf.length) throw new Error('protobuf: truncated field');
      fields.push({ field, wire, bytes: buf.subarray(pos, pos + len) });
      pos += len;
    } else if (wire === WIRE_FIXED32) {
      fields.push({ field, wire, bytes: buf.subarray(pos, pos + 4) });
      pos += 4;
    } else if (wire === 1) {
      fields.push({ field, wire, bytes: buf.subarray(pos, pos + 8) });
      pos += 8;
    } else throw new Error(`protobuf: unsupported wire type ${wire}`);
  }
  return fields;
}
