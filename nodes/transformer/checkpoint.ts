/**
 * A Hugging Face model folder as synthcse reads it: config.json, model.safetensors, tokenizer.json (and
 * tokenizer_config.json), plus sentence-transformers' modules.json, 1_Pooling/config.json and 2_Dense when present.
 * Supported architectures: BERT (bert-base-uncased, MiniLM, bge, e5) and RoBERTa. Weights are kept under BERT's
 * names without the "bert."/"roberta." prefix, in PyTorch's [out, in] layout, so saving them back is a rename.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, type TensorMap } from './safetensors.js';

export type Architecture = 'bert' | 'roberta';

/** The sentence-level pooling of a checkpoint or of a training run (SimCSE's names where they exist). */
export type TransformerPooling = 'cls' | 'cls_before_pooler' | 'mean' | 'max';

export interface TransformerConfig {
  architecture: Architecture;
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  maxPositions: number;
  typeVocabSize: number;
  layerNormEps: number;
  hiddenDropout: number;
  attentionDropout: number;
  /** RoBERTa: position ids start at padding_idx + 1. BERT: 0. */
  positionOffset: number;
  padTokenId: number;
  /** The config.json as read (written back on export). */
  raw: Record<string, unknown>;
}

export interface TransformerCheckpoint {
  folder: string;
  config: TransformerConfig;
  weights: TensorMap;
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  /** The checkpoint's own sentence-transformers pooling (1_Pooling/config.json), if any. */
  pooling?: TransformerPooling;
  /** sentence-transformers max_seq_length (sentence_bert_config.json), if any. */
  maxSeqLength?: number;
  /** sha256 of each file read, by relative path: what keys use instead of the model's name. */
  files: Record<string, string>;
}

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

const ARCHITECTURES: Record<string, Architecture> = { bert: 'bert', roberta: 'roberta', xlm_roberta: 'roberta' };

function readJson(folder: string, file: string, files: Record<string, string>): Record<string, unknown> {
  const path = join(folder, file);
  const bytes = readFileSync(path);
  files[file] = createHash('sha256').update(bytes).digest('hex');
  try {
    return JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new CheckpointError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}

function num(raw: Record<string, unknown>, key: string, fallback?: number): number {
  const v = raw[key];
  if (typeof v === 'number') return v;
  if (fallback !== undefined) return fallback;
  throw new CheckpointError(`config.json has no numeric "${key}"`);
}

export function parseConfig(raw: Record<string, unknown>, source: string): TransformerConfig {
  const modelType = String(raw.model_type ?? '');
  const architecture = ARCHITECTURES[modelType];
  if (!architecture) {
    throw new CheckpointError(
      `${source}: model_type "${modelType || '(none)'}" is not supported; synthcse trains BERT-family (bert) and RoBERTa-family (roberta) checkpoints.`,
    );
  }
  const act = raw.hidden_act ?? 'gelu';
  if (act !== 'gelu') throw new CheckpointError(`${source}: hidden_act "${String(act)}" is not supported (only "gelu").`);
  if (raw.position_embedding_type !== undefined && raw.position_embedding_type !== 'absolute') {
    throw new CheckpointError(`${source}: position_embedding_type "${String(raw.position_embedding_type)}" is not supported (only "absolute").`);
  }
  const padTokenId = num(raw, 'pad_token_id', architecture === 'roberta' ? 1 : 0);
  const hidden = num(raw, 'hidden_size');
  const heads = num(raw, 'num_attention_heads');
  if (hidden % heads !== 0) throw new CheckpointError(`${source}: hidden_size ${hidden} is not a multiple of num_attention_heads ${heads}.`);
  return {
    architecture,
    vocabSize: num(raw, 'vocab_size'),
    hidden,
    layers: num(raw, 'num_hidden_layers'),
    heads,
    intermediate: num(raw, 'intermediate_size'),
    maxPositions: num(raw, 'max_position_embeddings'),
    typeVocabSize: num(raw, 'type_vocab_size', 2),
    layerNormEps: num(raw, 'layer_norm_eps', 1e-12),
    hiddenDropout: num(raw, 'hidden_dropout_prob', 0.1),
    attentionDropout: num(raw, 'attention_probs_dropout_prob', 0.1),
    positionOffset: architecture === 'roberta' ? padTokenId + 1 : 0,
    padTokenId,
    raw,
  };
}

/** BERT names without the model prefix; LayerNorm gamma/beta (old TF conversions) renamed to weight/bias. */
function canonicalName(name: string): string {
  return name
    .replace(/^(bert|roberta|model)\./, '')
    .replace(/LayerNorm\.gamma$/, 'LayerNorm.weight')
    .replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
}

/** The tensor names the encoder needs, for a config. */
export function requiredWeights(config: TransformerConfig): string[] {
  const names = [
    'embeddings.word_embeddings.weight',
    'embeddings.position_embeddings.weight',
    'embeddings.token_type_embeddings.weight',
    'embeddings.LayerNorm.weight',
    'embeddings.LayerNorm.bias',
  ];
  for (let l = 0; l < config.layers; l++) {
    const p = `encoder.layer.${l}.`;
    for (const d of ['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense', 'intermediate.dense', 'output.dense']) {
      names.push(`${p}${d}.weight`, `${p}${d}.bias`);
    }
    names.push(`${p}attention.output.LayerNorm.weight`, `${p}attention.output.LayerNorm.bias`, `${p}output.LayerNorm.weight`, `${p}output.LayerNorm.bias`);
  }
  return names;
}

const TANH = 'torch.nn.modules.activation.Tanh';

interface ModuleEntry {
  type?: string;
  path?: string;
}

/** sentence-transformers modules: max_seq_length, the Pooling module, and a Dense+tanh module (SimCSE's MLP). */
function readModules(folder: string, files: Record<string, string>, weights: TensorMap): { pooling?: TransformerPooling; maxSeqLength?: number } {
  const out: { pooling?: TransformerPooling; maxSeqLength?: number } = {};
  if (existsSync(join(folder, 'sentence_bert_config.json'))) {
    const c = readJson(folder, 'sentence_bert_config.json', files);
    if (typeof c.max_seq_length === 'number') out.maxSeqLength = c.max_seq_length;
  }
  let modules: ModuleEntry[] = [{ type: 'sentence_transformers.models.Pooling', path: '1_Pooling' }];
  if (existsSync(join(folder, 'modules.json'))) {
    const listed = readJson(folder, 'modules.json', files) as unknown;
    if (Array.isArray(listed)) modules = listed as ModuleEntry[];
  }
  for (const m of modules) {
    if (!m.path || !existsSync(join(folder, m.path, 'config.json'))) continue;
    const file = join(m.path, 'config.json');
    if (m.type?.endsWith('Pooling')) {
      const c = readJson(folder, file, files);
      out.pooling = c.pooling_mode_cls_token ? 'cls_before_pooler' : c.pooling_mode_max_tokens ? 'max' : 'mean';
    } else if (m.type?.endsWith('Dense')) {
      const c = readJson(folder, file, files);
      if (c.activation_function !== TANH || c.bias === false) {
        throw new CheckpointError(`${join(folder, file)}: only a Dense module with bias and Tanh activation (SimCSE's MLP) is supported.`);
      }
      const dense = readSafetensors(join(folder, m.path, 'model.safetensors'));
      const weight = dense.get('linear.weight');
      const bias = dense.get('linear.bias');
      if (!weight || !bias) throw new CheckpointError(`${join(folder, m.path, 'model.safetensors')} lacks linear.weight / linear.bias.`);
      weights.set('mlp.dense.weight', weight);
      weights.set('mlp.dense.bias', bias);
      files[join(m.path, 'model.safetensors')] = createHash('sha256').update(readFileSync(join(folder, m.path, 'model.safetensors'))).digest('hex');
    }
  }
  return out;
}

export function loadCheckpoint(folder: string): TransformerCheckpoint {
  if (!existsSync(join(folder, 'config.json'))) {
    throw new CheckpointError(`${folder} has no config.json: give a Hugging Face model folder (config.json, model.safetensors, tokenizer.json) or hf:ORG/NAME.`);
  }
  const files: Record<string, string> = {};
  const config = parseConfig(readJson(folder, 'config.json', files), join(folder, 'config.json'));
  const weightsFile = join(folder, 'model.safetensors');
  if (!existsSync(weightsFile)) {
    throw new CheckpointError(`${folder} has no model.safetensors (PyTorch .bin weights cannot be read; save the model with safe_serialization=True).`);
  }
  files['model.safetensors'] = createHash('sha256').update(readFileSync(weightsFile)).digest('hex');
  const weights: TensorMap = new Map();
  for (const [name, tensor] of readSafetensors(weightsFile)) weights.set(canonicalName(name), tensor);
  if (!weights.has('embeddings.token_type_embeddings.weight')) {
    weights.set('embeddings.token_type_embeddings.weight', { shape: [1, config.hidden], data: new Float32Array(config.hidden) });
  }
  const missing = requiredWeights(config).filter((n) => !weights.has(n));
  if (missing.length > 0) throw new CheckpointError(`${weightsFile} lacks ${missing.length} tensor(s) the ${config.architecture} encoder needs, e.g. ${missing.slice(0, 3).join(', ')}.`);
  if (!existsSync(join(folder, 'tokenizer.json'))) throw new CheckpointError(`${folder} has no tokenizer.json (save the tokenizer with a fast tokenizer).`);
  const tokenizerJson = readJson(folder, 'tokenizer.json', files);
  const tokenizerConfig = existsSync(join(folder, 'tokenizer_config.json')) ? readJson(folder, 'tokenizer_config.json', files) : {};
  return { folder, config, weights, tokenizerJson, tokenizerConfig, ...readModules(folder, files, weights), files };
}
