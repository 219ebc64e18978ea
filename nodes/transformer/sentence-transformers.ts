/**
 * Converts between our ONNX export and a sentence-transformers folder:
 *   config.json, model.safetensors (BERT/RoBERTa names, [out, in] weights), tokenizer.json, tokenizer_config.json,
 *   sentence_bert_config.json, modules.json, 1_Pooling/config.json, and 2_Dense (SimCSE's MLP: Linear + Tanh) when
 *   the encoder keeps it at test time. sentence-transformers' SentenceTransformer(dir) and transformers'
 *   AutoModel.from_pretrained(dir) read it unchanged; loadCheckpoint(dir) reads it back.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readOnnxMetadata } from '../onnx/onnx-proto.js';
import { readFields } from '../onnx/protobuf.js';
import { parseConfig, requiredWeights } from './checkpoint.js';
import { META_CONFIG, META_INFO, META_TOKENIZER_CONFIG, META_TOKENIZER_JSON, META_TRANSFORMER } from './export-onnx.js';
import { MLP_BIAS, MLP_WEIGHT, type SentencePooling } from './forward.js';
import type { TransformerModel } from './model.js';
import { writeSafetensors, type TensorMap } from './safetensors.js';
import { TransformerTokenizer } from './tokenize.js';

const FLOAT = 1;

/** Float initializers of an ONNX model by name. */
function onnxInitializers(bytes: Uint8Array): TensorMap {
  const out: TensorMap = new Map();
  const graph = readFields(bytes).find((f) => f.field === 7)?.bytes;
  if (!graph) throw new Error('ONNX model without a graph');
  for (const f of readFields(graph)) {
    if (f.field !== 5 || !f.bytes) continue;
    const dims: number[] = [];
    let type = 0;
    let name = '';
    let raw: Uint8Array | undefined;
    for (const t of readFields(f.bytes)) {
      if (t.field === 1 && t.value !== undefined) dims.push(t.value);
      else if (t.field === 2 && t.value !== undefined) type = t.value;
      else if (t.field === 8 && t.bytes) name = Buffer.from(t.bytes).toString('utf8');
      else if (t.field === 9 && t.bytes) raw = t.bytes;
    }
    if (type !== FLOAT || !raw) continue;
    const data = new Float32Array(raw.byteLength / 4);
    new Uint8Array(data.buffer).set(raw);
    out.set(name, { shape: dims, data });
  }
  return out;
}

export function isTransformerOnnx(metadata: Record<string, string>): boolean {
  return metadata[META_TRANSFORMER] !== undefined;
}

/** The encoder inside an ONNX file that synthcse exported (weights, tokenizer, test-time pooling). */
export function transformerModelFromOnnx(bytes: Uint8Array, source: string): TransformerModel {
  const metadata = readOnnxMetadata(bytes);
  if (!isTransformerOnnx(metadata) || metadata[META_CONFIG] === undefined) {
    throw new Error(`${source} is not a transformer encoder exported by synthcse; only those convert to a sentence-transformers folder.`);
  }
  const config = parseConfig(JSON.parse(metadata[META_CONFIG]!) as Record<string, unknown>, source);
  const info = JSON.parse(metadata[META_INFO] ?? '{}') as { pooling?: SentencePooling; mlp?: boolean; max_seq_length?: number };
  const initializers = onnxInitializers(bytes);
  const weights: TensorMap = new Map();
  for (const [name, t] of initializers) {
    if (!name.endsWith('.weight_t')) continue;
    // Stored as [in, out] for MatMul; back to PyTorch's [out, in].
    const [inp, out] = t.shape as [number, number];
    const data = new Float32Array(t.data.length);
    for (let r = 0; r < inp; r++) for (let c = 0; c < out; c++) data[c * inp + r] = t.data[r * out + c]!;
    weights.set(name.slice(0, -2), { shape: [out, inp], data });
  }
  const wanted = new Set([...requiredWeights(config), MLP_WEIGHT, MLP_BIAS]);
  for (const [name, t] of initializers) if (wanted.has(name) && !weights.has(name)) weights.set(name, t);
  const tokenTypeRow = initializers.get('token_type_row');
  if (tokenTypeRow) weights.set('embeddings.token_type_embeddings.weight', { shape: [1, config.hidden], data: tokenTypeRow.data });
  const missing = requiredWeights(config).filter((n) => !weights.has(n));
  if (missing.length > 0) throw new Error(`${source}: the ONNX graph lacks ${missing.join(', ')}`);
  const tokenizerJson = JSON.parse(metadata[META_TOKENIZER_JSON] ?? '{}') as Record<string, unknown>;
  const tokenizerConfig = JSON.parse(metadata[META_TOKENIZER_CONFIG] ?? '{}') as Record<string, unknown>;
  const mlp = info.mlp === true;
  return {
    config,
    weights,
    tokenizer: new TransformerTokenizer(tokenizerJson, tokenizerConfig, info.max_seq_length),
    tokenizerJson,
    tokenizerConfig,
    pooling: info.pooling ?? 'cls',
    mlpTrain: mlp,
    mlpTest: mlp,
  };
}

function json(path: string, value: unknown): void {
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
}

export function writeSentenceTransformersFolder(model: TransformerModel, dir: string): void {
  mkdirSync(join(dir, '1_Pooling'), { recursive: true });
  const { config } = model;
  const H = config.hidden;
  const encoderWeights: TensorMap = new Map();
  for (const name of requiredWeights(config)) encoderWeights.set(name, model.weights.get(name)!);
  for (const name of ['pooler.dense.weight', 'pooler.dense.bias']) if (model.weights.has(name)) encoderWeights.set(name, model.weights.get(name)!);
  json(join(dir, 'config.json'), { ...config.raw, architectures: [config.architecture === 'roberta' ? 'RobertaModel' : 'BertModel'] });
  writeFileSync(join(dir, 'model.safetensors'), writeSafetensors(encoderWeights));
  json(join(dir, 'tokenizer.json'), model.tokenizerJson);
  json(join(dir, 'tokenizer_config.json'), { ...model.tokenizerConfig, model_max_length: model.tokenizer.maxLength });
  json(join(dir, 'sentence_bert_config.json'), { max_seq_length: model.tokenizer.maxLength, do_lower_case: false });
  const modules = [
    { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
    { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
  ];
  json(join(dir, '1_Pooling', 'config.json'), {
    word_embedding_dimension: H,
    pooling_mode_cls_token: model.pooling === 'cls',
    pooling_mode_mean_tokens: model.pooling === 'mean',
    pooling_mode_max_tokens: model.pooling === 'max',
    pooling_mode_mean_sqrt_len_tokens: false,
    pooling_mode_weightedmean_tokens: false,
    pooling_mode_lasttoken: false,
    include_prompt: true,
  });
  if (model.mlpTest) {
    mkdirSync(join(dir, '2_Dense'), { recursive: true });
    modules.push({ idx: 2, name: '2', path: '2_Dense', type: 'sentence_transformers.models.Dense' });
    json(join(dir, '2_Dense', 'config.json'), { in_features: H, out_features: H, bias: true, activation_function: 'torch.nn.modules.activation.Tanh' });
    const dense: TensorMap = new Map([
      ['linear.weight', model.weights.get(MLP_WEIGHT)!],
      ['linear.bias', model.weights.get(MLP_BIAS)!],
    ]);
    writeFileSync(join(dir, '2_Dense', 'model.safetensors'), writeSafetensors(dense));
  }
  json(join(dir, 'modules.json'), modules);
}

/** `synthcse export train --out DIR/`: a transformer model file as a sentence-transformers folder. */
export function exportModelFolder(file: string, folder: string): void {
  const bytes = readFileSync(file);
  if (!isTransformerOnnx(readOnnxMetadata(bytes))) {
    throw new Error('This model is not a transformer (a glove-avg model has no sentence-transformers form); export it as a file: --out model.onnx');
  }
  writeSentenceTransformersFolder(transformerModelFromOnnx(bytes, file), folder);
}
