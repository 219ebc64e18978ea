/**
 * Exports a transformer sentence encoder to ONNX (opset 13, written with our protobuf writer):
 *   inputs  input_ids int64 [batch, sequence], attention_mask int64 [batch, sequence],
 *           token_type_ids int64 [batch, sequence] (BERT only: RoBERTa has no token types)
 *   output  sentence_embedding float [batch, dim]: the test-time pooling (cls / mean / max, then SimCSE's MLP if kept).
 * The graph is the same computation as forward.ts with dropout off; the tokenizer travels in the metadata
 * (synthcse.tokenizer, synthcse.tokenizer_config) so the .onnx file alone can encode text.
 */
import type { JsonObject } from '../../engine/json.js';
import { modelProto, nodeProto, tensorProto, TensorType, valueInfo, type AttributeValue, type GraphParts } from '../onnx/onnx-proto.js';
import type { ProtoWriter } from '../onnx/protobuf.js';
import { MASK_VALUE, MLP_WEIGHT } from './forward.js';
import type { TransformerModel } from './model.js';
import { WORD_EMBEDDINGS } from './model.js';

export const META_TRANSFORMER = 'synthcse.transformer';
export const META_TOKENIZER_JSON = 'synthcse.tokenizer';
export const META_TOKENIZER_CONFIG = 'synthcse.tokenizer_config';
export const META_INFO = 'synthcse.info';
/** config.json of the checkpoint, so the ONNX file converts back to a Hugging Face folder. */
export const META_CONFIG = 'synthcse.config';

class GraphBuilder {
  readonly nodes: ProtoWriter[] = [];
  readonly initializers: ProtoWriter[] = [];
  private counter = 0;

  constant(name: string, dims: readonly number[], data: Float32Array | BigInt64Array): string {
    this.initializers.push(tensorProto(name, dims, data));
    return name;
  }

  op(type: string, inputs: readonly string[], attributes: Record<string, AttributeValue> = {}, output?: string): string {
    const out = output ?? `${type.toLowerCase()}_${++this.counter}`;
    this.nodes.push(nodeProto(type, inputs, [out], `${out}_node`, attributes));
    return out;
  }
}

function transposed(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!;
  return out;
}

export function exportTransformerOnnx(model: TransformerModel, info: JsonObject = {}): Buffer {
  const { config, weights } = model;
  const H = config.hidden;
  const heads = config.heads;
  const d = H / heads;
  const g = new GraphBuilder();
  const weight = (name: string): string => {
    const t = weights.get(name);
    if (!t) throw new Error(`Internal error: weight ${name} missing`);
    return g.constant(name, t.shape, t.data);
  };
  // PyTorch Linear weights are [out, in]; MatMul wants [in, out].
  const dense = (x: string, prefix: string): string => {
    const t = weights.get(`${prefix}.weight`)!;
    const [out, inp] = t.shape as [number, number];
    const w = g.constant(`${prefix}.weight_t`, [inp, out], transposed(t.data, out, inp));
    return g.op('Add', [g.op('MatMul', [x, w]), weight(`${prefix}.bias`)]);
  };
  const lastAxis = { ints: [-1] };
  const eps = g.constant('layer_norm_eps', [], Float32Array.of(config.layerNormEps));
  const layerNorm = (x: string, prefix: string): string => {
    const centered = g.op('Sub', [x, g.op('ReduceMean', [x], { axes: lastAxis, keepdims: { int: 1 } })]);
    const variance = g.op('ReduceMean', [g.op('Mul', [centered, centered])], { axes: lastAxis, keepdims: { int: 1 } });
    const normed = g.op('Div', [centered, g.op('Sqrt', [g.op('Add', [variance, eps])])]);
    return g.op('Add', [g.op('Mul', [normed, weight(`${prefix}.weight`)]), weight(`${prefix}.bias`)]);
  };

  const one = g.constant('one', [], Float32Array.of(1));
  const idsShape = g.op('Shape', ['input_ids']);
  const seqLen = g.op('Gather', [idsShape, g.constant('index_one', [], BigInt64Array.of(1n))], { axis: { int: 0 } });
  const offset = g.constant('position_offset', [], BigInt64Array.of(BigInt(config.positionOffset)));
  const positionIds = g.op('Range', [offset, g.op('Add', [seqLen, offset]), g.constant('step_one', [], BigInt64Array.of(1n))]);
  const words = g.op('Gather', [weight(WORD_EMBEDDINGS), 'input_ids'], { axis: { int: 0 } });
  const positions = g.op('Gather', [weight('embeddings.position_embeddings.weight'), positionIds], { axis: { int: 0 } });
  let tokenTypes: string;
  if (config.architecture === 'bert') tokenTypes = g.op('Gather', [weight('embeddings.token_type_embeddings.weight'), 'token_type_ids'], { axis: { int: 0 } });
  else tokenTypes = g.constant('token_type_row', [H], weights.get('embeddings.token_type_embeddings.weight')!.data.slice(0, H));
  let x = layerNorm(g.op('Add', [g.op('Add', [words, positions]), tokenTypes]), 'embeddings.LayerNorm');

  const mask = g.op('Cast', ['attention_mask'], { to: { int: TensorType.FLOAT } });
  const maskAdd = g.op('Unsqueeze', [g.op('Mul', [g.op('Sub', [one, mask]), g.constant('mask_value', [], Float32Array.of(MASK_VALUE))]), g.constant('axes_1_2', [2], BigInt64Array.of(1n, 2n))]);
  const headShape = g.constant('head_shape', [4], BigInt64Array.of(0n, 0n, BigInt(heads), BigInt(d)));
  const hiddenShape = g.constant('hidden_shape', [3], BigInt64Array.of(0n, 0n, BigInt(H)));
  const scale = g.constant('attention_scale', [], Float32Array.of(1 / Math.sqrt(d)));
  const half = g.constant('half', [], Float32Array.of(0.5));
  const invSqrt2 = g.constant('inv_sqrt2', [], Float32Array.of(Math.SQRT1_2));
  for (let l = 0; l < config.layers; l++) {
    const p = `encoder.layer.${l}`;
    const heads4 = (t: string, perm: number[]) => g.op('Transpose', [g.op('Reshape', [t, headShape])], { perm: { ints: perm } });
    const q = heads4(dense(x, `${p}.attention.self.query`), [0, 2, 1, 3]);
    const kT = heads4(dense(x, `${p}.attention.self.key`), [0, 2, 3, 1]);
    const v = heads4(dense(x, `${p}.attention.self.value`), [0, 2, 1, 3]);
    const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, kT]), scale]), maskAdd]);
    const probs = g.op('Softmax', [scores], { axis: { int: -1 } });
    const context = g.op('Reshape', [g.op('Transpose', [g.op('MatMul', [probs, v])], { perm: { ints: [0, 2, 1, 3] } }), hiddenShape]);
    x = layerNorm(g.op('Add', [dense(context, `${p}.attention.output.dense`), x]), `${p}.attention.output.LayerNorm`);
    const inner = dense(x, `${p}.intermediate.dense`);
    const gelu = g.op('Mul', [g.op('Mul', [inner, half]), g.op('Add', [g.op('Erf', [g.op('Mul', [inner, invSqrt2])]), one])]);
    x = layerNorm(g.op('Add', [dense(gelu, `${p}.output.dense`), x]), `${p}.output.LayerNorm`);
  }

  let pooled: string;
  if (model.pooling === 'cls') pooled = g.op('Gather', [x, g.constant('index_zero', [], BigInt64Array.of(0n))], { axis: { int: 1 } });
  else {
    const mask3 = g.op('Unsqueeze', [mask, g.constant('axes_2', [1], BigInt64Array.of(2n))]);
    if (model.pooling === 'mean') {
      const axisSeq = g.constant('axes_seq', [1], BigInt64Array.of(1n));
      const sum = g.op('ReduceSum', [g.op('Mul', [x, mask3]), axisSeq], { keepdims: { int: 0 } });
      const count = g.op('Max', [g.op('ReduceSum', [mask, axisSeq], { keepdims: { int: 1 } }), g.constant('min_count', [], Float32Array.of(1e-9))]);
      pooled = g.op('Div', [sum, count]);
    } else {
      const penalty = g.op('Mul', [g.op('Sub', [one, mask3]), g.constant('max_pad', [], Float32Array.of(-1e9))]);
      pooled = g.op('ReduceMax', [g.op('Add', [x, penalty])], { axes: { ints: [1] }, keepdims: { int: 0 } });
    }
  }
  if (model.mlpTest) {
    if (!weights.has(MLP_WEIGHT)) throw new Error('Internal error: MLP pooling without MLP weights');
    pooled = g.op('Tanh', [dense(pooled, 'mlp.dense')]);
  }
  g.op('Identity', [pooled], {}, 'sentence_embedding');

  const inputs = [valueInfo('input_ids', TensorType.INT64, ['batch', 'sequence']), valueInfo('attention_mask', TensorType.INT64, ['batch', 'sequence'])];
  if (config.architecture === 'bert') inputs.push(valueInfo('token_type_ids', TensorType.INT64, ['batch', 'sequence']));
  const graph: GraphParts = {
    name: `synthcse_${config.architecture}`,
    nodes: g.nodes,
    initializers: g.initializers,
    inputs,
    outputs: [valueInfo('sentence_embedding', TensorType.FLOAT, ['batch', H])],
  };
  const metadata = {
    [META_TRANSFORMER]: config.architecture,
    [META_CONFIG]: JSON.stringify(model.config.raw),
    [META_TOKENIZER_JSON]: JSON.stringify(model.tokenizerJson),
    [META_TOKENIZER_CONFIG]: JSON.stringify({ ...model.tokenizerConfig, model_max_length: model.tokenizer.maxLength }),
    [META_INFO]: JSON.stringify({ ...info, architecture: config.architecture, dim: H, pooling: model.pooling, mlp: model.mlpTest, max_seq_length: model.tokenizer.maxLength }),
  };
  return modelProto(graph, metadata, { name: 'synthcse', version: '0.1.0' }).finish();
}
