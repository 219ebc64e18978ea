/** Builders for the ONNX messages we write (field numbers from onnx/onnx.proto, IR version 8). */
import { ProtoWriter, readFields } from './protobuf.js';

export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 13;

export const TensorType = { FLOAT: 1, INT32: 6, INT64: 7 } as const;
const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

export type Dim = number | string;

export function tensorProto(name: string, dims: readonly number[], data: Float32Array | BigInt64Array | Int32Array): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of dims) w.varint(1, d);
  const type = data instanceof Float32Array ? TensorType.FLOAT : data instanceof BigInt64Array ? TensorType.INT64 : TensorType.INT32;
  w.varint(2, type);
  w.string(8, name);
  // raw_data is little-endian, as typed arrays are on every platform Node supports.
  w.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return w;
}

export function valueInfo(name: string, elemType: number, shape: readonly Dim[]): ProtoWriter {
  const shapeW = new ProtoWriter();
  for (const d of shape) {
    const dim = new ProtoWriter();
    if (typeof d === 'number') dim.varint(1, d);
    else dim.string(2, d);
    shapeW.message(1, dim);
  }
  const tensorType = new ProtoWriter().varint(1, elemType).message(2, shapeW);
  const type = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, name).message(2, type);
}

export type AttributeValue = { int: number } | { float: number } | { ints: readonly number[] } | { string: string };

export function nodeProto(opType: string, inputs: readonly string[], outputs: readonly string[], name: string, attributes: Record<string, AttributeValue> = {}): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of inputs) w.string(1, i);
  for (const o of outputs) w.string(2, o);
  w.string(3, name);
  w.string(4, opType);
  for (const [attrName, value] of Object.entries(attributes)) {
    const a = new ProtoWriter().string(1, attrName);
    if ('int' in value) a.varint(3, value.int).varint(20, AttributeType.INT);
    else if ('float' in value) a.float(2, value.float).varint(20, AttributeType.FLOAT);
    else if ('ints' in value) {
      for (const v of value.ints) a.varint(8, v);
      a.varint(20, AttributeType.INTS);
    } else a.string(4, value.string).varint(20, AttributeType.STRING);
    w.message(5, a);
  }
  return w;
}

export interface GraphParts {
  name: string;
  nodes: ProtoWriter[];
  initializers: ProtoWriter[];
  inputs: ProtoWriter[];
  outputs: ProtoWriter[];
}

export function modelProto(graph: GraphParts, metadata: Record<string, string>, producer: { name: string; version: string }): ProtoWriter {
  const g = new ProtoWriter();
  for (const n of graph.nodes) g.message(1, n);
  g.string(2, graph.name);
  for (const t of graph.initializers) g.message(5, t);
  for (const i of graph.inputs) g.message(11, i);
  for (const o of graph.outputs) g.message(12, o);
  const m = new ProtoWriter();
  m.varint(1, ONNX_IR_VERSION);
  m.string(2, producer.name);
  m.string(3, producer.version);
  m.message(7, g);
  m.message(8, new ProtoWriter().string(1, '').varint(2, ONNX_OPSET));
  for (const [key, value] of Object.entries(metadata)) m.message(14, new ProtoWriter().string(1, key).string(2, value));
  return m;
}

/** metadata_props of a serialized ModelProto (the graph is skipped, not parsed). */
export function readOnnxMetadata(model: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readFields(model)) {
    if (f.field !== 14 || !f.bytes) continue;
    let key = '';
    let value = '';
    for (const e of readFields(f.bytes)) {
      if (e.field === 1 && e.bytes) key = Buffer.from(e.bytes).toString('utf8');
      if (e.field === 2 && e.bytes) value = Buffer.from(e.bytes).toString('utf8');
    }
    out[key] = value;
  }
  return out;
}
