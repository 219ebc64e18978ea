/**
 * Sentence encoders: the one interface that eval, the embedding filter and MultiCSR's frozen model use.
 *
 *   const encoder = await loadEncoder('model.onnx');          // or a directory holding model.onnx + tokenizer.json
 *   const vectors = await encoder.encode(['A man is playing a guitar.', ...]); // Float32Array per sentence
 *   await encoder.close();
 *
 * `loadEncoder(path, options?)` accepts
 *   - a glove-avg model exported by synthcse (vocabulary and tokenizer inside the ONNX metadata: nothing else needed);
 *   - a transformer encoder exported by synthcse (tokenizer.json inside the ONNX metadata, pooling inside the graph);
 *   - any other ONNX sentence encoder (e.g. all-MiniLM-L6-v2) with a tokenizer.json next to it (same folder,
 *     or the parent folder for the onnx/model.onnx layout, or options.tokenizer), pooled by options.pooling, else by
 *     a sentence-transformers 1_Pooling/config.json, else mean pooling over the attention mask.
 * Vectors are not normalised; compare with cosine. The interface is stable: extend it only by adding optional members.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readOnnxMetadata } from '../onnx/onnx-proto.js';
import { isGloveOnnx, loadGloveOnnx } from './onnx-glove.js';
import { loadTransformerOnnx, type Pooling } from './onnx-transformer.js';
import type { SentenceEncoder } from './types.js';
import { META_TOKENIZER_CONFIG, META_TOKENIZER_JSON, META_TRANSFORMER } from '../transformer/export-onnx.js';
import { TransformerTokenizer } from '../transformer/tokenize.js';

export type { SentenceEncoder } from './types.js';
export type { Pooling } from './onnx-transformer.js';

export interface LoadEncoderOptions {
  /** Transformer models only: pooling over token vectors. */
  pooling?: Pooling;
  /** Transformer models only: path of tokenizer.json when it is not next to the model. */
  tokenizer?: string;
  /** Sentences per onnxruntime call. */
  batchSize?: number;
}

export class EncoderLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EncoderLoadError';
  }
}

function resolveModelFile(path: string): string {
  if (!existsSync(path)) throw new EncoderLoadError(`Model ${path} does not exist.`);
  if (!statSync(path).isDirectory()) return path;
  for (const candidate of ['model.onnx', join('onnx', 'model.onnx')]) if (existsSync(join(path, candidate))) return join(path, candidate);
  throw new EncoderLoadError(`The folder ${path} has no model.onnx (nor onnx/model.onnx).`);
}

function findTokenizer(modelFile: string, explicit?: string): string {
  if (explicit !== undefined) {
    if (!existsSync(explicit)) throw new EncoderLoadError(`Tokenizer ${explicit} does not exist.`);
    return explicit;
  }
  for (const dir of [dirname(modelFile), dirname(dirname(modelFile))]) if (existsSync(join(dir, 'tokenizer.json'))) return join(dir, 'tokenizer.json');
  throw new EncoderLoadError(`No tokenizer.json next to ${modelFile}; put it in the same folder or pass its path.`);
}

function poolingFor(modelFile: string, explicit?: Pooling): Pooling {
  if (explicit) return explicit;
  for (const dir of [dirname(modelFile), dirname(dirname(modelFile))]) {
    const config = join(dir, '1_Pooling', 'config.json');
    if (existsSync(config)) {
      const c = JSON.parse(readFileSync(config, 'utf8')) as { pooling_mode_cls_token?: boolean };
      return c.pooling_mode_cls_token ? 'cls' : 'mean';
    }
  }
  return 'mean';
}

/** The tokenizer's own truncation, else the config's model_max_length (capped at BERT's 512), else 512. */
function maxLengthOf(json: Record<string, unknown>, config: Record<string, unknown>): number {
  const truncation = json.truncation as { max_length?: number } | null | undefined;
  if (typeof truncation?.max_length === 'number') return truncation.max_length;
  const configured = config.model_max_length;
  return typeof configured === 'number' ? Math.min(configured, 512) : 512;
}

function readTokenizer(path: string): TransformerTokenizer {
  const json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const configFile = join(dirname(path), 'tokenizer_config.json');
  const config = existsSync(configFile) ? (JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>) : {};
  try {
    return new TransformerTokenizer(json, config, maxLengthOf(json, config));
  } catch (error) {
    throw new EncoderLoadError(`${path}: not a tokenizer @huggingface/tokenizers can read: ${(error as Error).message}`);
  }
}

export async function loadEncoder(modelPath: string, options: LoadEncoderOptions = {}): Promise<SentenceEncoder> {
  const file = resolveModelFile(modelPath);
  const bytes = readFileSync(file);
  let metadata: Record<string, string>;
  try {
    metadata = readOnnxMetadata(bytes);
  } catch (error) {
    throw new EncoderLoadError(`${file} is not a readable ONNX model: ${(error as Error).message}`);
  }
  if (isGloveOnnx(metadata)) return loadGloveOnnx(bytes, metadata, file, options.batchSize);
  if (metadata[META_TRANSFORMER] !== undefined) {
    const config = JSON.parse(metadata[META_TOKENIZER_CONFIG] ?? '{}') as Record<string, unknown>;
    const tokenizer = new TransformerTokenizer(JSON.parse(metadata[META_TOKENIZER_JSON] ?? '{}') as Record<string, unknown>, config, maxLengthOf({}, config));
    return loadTransformerOnnx(bytes, tokenizer, 'cls', options.batchSize);
  }
  const tokenizerFile = findTokenizer(file, options.tokenizer);
  const tokenizer = readTokenizer(tokenizerFile);
  return loadTransformerOnnx(bytes, tokenizer, poolingFor(file, options.pooling), options.batchSize);
}

export { cosineSimilarity } from './cosine.js';
