/**
 * Exports a glove-avg encoder as a self-contained ONNX model:
 *   input_ids int64 [batch, seq], attention_mask int64 [batch, seq]
 *   → Gather(word vectors), Gather(token weights) × mask → weighted masked mean
 *   → optional MatMul(projection) → optional x − (x·u)uᵀ → sentence_embedding float [batch, outDim].
 * The vocabulary and the tokenizer travel in metadata_props, so the file alone is enough to encode text.
 */
import type { JsonObject } from '../../engine/json.js';
import type { GloveAvgModel } from '../encoders/glove-avg.js';
import { modelProto, nodeProto, tensorProto, TensorType, valueInfo, type GraphParts } from './onnx-proto.js';

export const META_ENCODER = 'synthcse.encoder';
export const META_VOCAB = 'synthcse.vocab';
export const META_TOKENIZER = 'synthcse.tokenizer';
export const META_INFO = 'synthcse.info';
export const GLOVE_ENCODER_NAME = 'glove-avg';

/** How to turn text into input_ids: lower-case, match the pattern, look words up in the vocabulary, drop the rest. */
export interface GloveTokenizerSpec {
  lowercase: true;
  pattern: string;
  flags: string;
  /** Out-of-vocabulary words are dropped (there is no UNK row). */
  unknown: 'drop';
}

export function exportGloveAvgOnnx(model: GloveAvgModel, info: JsonObject = {}): Buffer {
  const { dim, outDim } = model;
  const V = model.words.length;
  const nodes = [];
  const initializers = [
    tensorProto('word_vectors', [V, dim], model.vectors),
    tensorProto('token_weights', [V], model.tokenWeights),
    tensorProto('axis_seq', [1], BigInt64Array.from([1n])),
    tensorProto('axis_last', [1], BigInt64Array.from([2n])),
    tensorProto('eps', [], Float32Array.from([1e-12])),
  ];
  nodes.push(nodeProto('Gather', ['word_vectors', 'input_ids'], ['token_vectors'], 'gather_vectors', { axis: { int: 0 } }));
  nodes.push(nodeProto('Gather', ['token_weights', 'input_ids'], ['token_weight'], 'gather_weights', { axis: { int: 0 } }));
  nodes.push(nodeProto('Cast', ['attention_mask'], ['mask_float'], 'cast_mask', { to: { int: TensorType.FLOAT } }));
  nodes.push(nodeProto('Mul', ['token_weight', 'mask_float'], ['weight'], 'mask_weights'));
  nodes.push(nodeProto('Unsqueeze', ['weight', 'axis_last'], ['weight3'], 'unsqueeze_weights'));
  nodes.push(nodeProto('Mul', ['token_vectors', 'weight3'], ['weighted'], 'weigh_vectors'));
  nodes.push(nodeProto('ReduceSum', ['weighted', 'axis_seq'], ['weighted_sum'], 'sum_vectors', { keepdims: { int: 0 } }));
  nodes.push(nodeProto('ReduceSum', ['weight', 'axis_seq'], ['weight_sum'], 'sum_weights', { keepdims: { int: 1 } }));
  // A sentence with no known word has weight 0 and sum 0; dividing by eps keeps it the zero vector.
  nodes.push(nodeProto('Max', ['weight_sum', 'eps'], ['weight_sum_safe'], 'guard_zero'));
  let current = 'mean';
  nodes.push(nodeProto('Div', ['weighted_sum', 'weight_sum_safe'], [current], 'mean'));
  if (model.projection) {
    initializers.push(tensorProto('projection', [dim, outDim], model.projection));
    nodes.push(nodeProto('MatMul', [current, 'projection'], ['projected'], 'project'));
    current = 'projected';
  }
  if (model.commonComponent) {
    initializers.push(tensorProto('common_component', [outDim, 1], model.commonComponent));
    initializers.push(tensorProto('common_component_t', [1, outDim], model.commonComponent));
    nodes.push(nodeProto('MatMul', [current, 'common_component'], ['component_dot'], 'component_dot'));
    nodes.push(nodeProto('MatMul', ['component_dot', 'common_component_t'], ['component'], 'component'));
    nodes.push(nodeProto('Sub', [current, 'component'], ['without_component'], 'remove_component'));
    current = 'without_component';
  }
  nodes.push(nodeProto('Identity', [current], ['sentence_embedding'], 'output'));
  const graph: GraphParts = {
    name: 'synthcse_glove_avg',
    nodes,
    initializers,
    inputs: [valueInfo('input_ids', TensorType.INT64, ['batch', 'sequence']), valueInfo('attention_mask', TensorType.INT64, ['batch', 'sequence'])],
    outputs: [valueInfo('sentence_embedding', TensorType.FLOAT, ['batch', outDim])],
  };
  const tokenizer: GloveTokenizerSpec = { lowercase: true, pattern: model.tokenPattern.source, flags: model.tokenPattern.flags, unknown: 'drop' };
  const metadata = {
    [META_ENCODER]: GLOVE_ENCODER_NAME,
    [META_TOKENIZER]: JSON.stringify(tokenizer),
    [META_VOCAB]: model.words.join('\n'),
    [META_INFO]: JSON.stringify({ ...info, dim, outDim, vocab: V, projection: model.projection !== undefined, commonComponent: model.commonComponent !== undefined }),
  };
  return modelProto(graph, metadata, { name: 'synthcse', version: '0.1.0' }).finish();
}
