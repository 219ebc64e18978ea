/**
 * Writes a llama-architecture GGUF (v3) with random f32 weights and a SentencePiece-style vocabulary, so tests and
 * benchmarks can run node-llama-cpp without downloading a model. The vocabulary is <unk>, <s>, </s>, <|im_start|>,
 * <|im_end|>, the 256 byte tokens <0x00>…<0xFF> (so any text tokenizes) and a few hundred word pieces with
 * descending scores. The chat template is ChatML.
 *
 * Layout (GGUF v3, little-endian): magic "GGUF", version, tensor count, metadata count, metadata key/values, tensor
 * infos (name, dims with the fastest-varying first, type, offset into the data section), padding to
 * `general.alignment`, then each tensor's data at its aligned offset.
 */
import { writeFileSync } from 'node:fs';
import { seededUniform } from '../../engine/llm/guidance.js';

export interface TinyGgufOptions {
  /** Model width (multiple of heads). */
  embedding?: number;
  layers?: number;
  heads?: number;
  /** Feed-forward width. */
  feedForward?: number;
  contextLength?: number;
  /** Seeds the random weights: the same seed writes the same bytes. */
  seed?: number;
  /** Extra word pieces beyond the built-in list (each gets a "▁" prefixed and a bare form). */
  words?: readonly string[];
  /** Pads the vocabulary with synthetic pieces up to this size (a realistic output layer, e.g. GPT-2's 50,257). */
  vocabularySize?: number;
  /** Scale of the output projection: larger gives peakier next-token distributions. */
  outputScale?: number;
  /**
   * Makes one token (e.g. the closing quote DINO stops at) likely at every step: a constant feature in every token
   * embedding survives to the last layer and only this token's output row reads it, adding about `logit` to its score.
   */
  boost?: { token: string; logit: number };
}

const GGUF_MAGIC = 0x46554747;
const ALIGNMENT = 32;

const enum ValueType {
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
}

type MetadataValue =
  | { type: 'u32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'string'; value: string }
  | { type: 'bool'; value: boolean }
  | { type: 'string[]'; value: readonly string[] }
  | { type: 'f32[]'; value: readonly number[] }
  | { type: 'i32[]'; value: readonly number[] };

interface Tensor {
  name: string;
  /** ggml order: the fastest-varying dimension first. */
  dims: number[];
  data: Float32Array;
}

const WORDS = (
  'the a an and or but of to in on at for with from by as is are was were be been being has have had do does did ' +
  'not no yes it its this that these those he she they we you i me him her them us my your our their man woman ' +
  'person people child children dog cat bird horse car bike street road city park beach water sea river tree ' +
  'house room table chair bed door window food bread apple coffee tea ball game music song book picture phone ' +
  'sits stands walks runs plays eats drinks reads writes looks holds rides jumps smiles talks sleeps works ' +
  'sitting standing walking running playing eating drinking reading writing looking holding riding jumping ' +
  'big small young old red blue green white black happy sad new long short good bad hot cold ' +
  'sentence sentences write two same different similar meaning task means mean something completely " . , : ! ?'
).split(' ');

class ByteWriter {
  private chunks: Buffer[] = [];
  length = 0;
  push(buffer: Buffer): void {
    this.chunks.push(buffer);
    this.length += buffer.length;
  }
  u32(value: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(value);
    this.push(b);
  }
  i32(value: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(value);
    this.push(b);
  }
  u64(value: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(value));
    this.push(b);
  }
  f32(value: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(value);
    this.push(b);
  }
  string(value: string): void {
    const bytes = Buffer.from(value, 'utf8');
    this.u64(bytes.length);
    this.push(bytes);
  }
  padTo(alignment: number): void {
    const rest = this.length % alignment;
    if (rest !== 0) this.push(Buffer.alloc(alignment - rest));
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

export interface TinyVocabulary {
  tokens: string[];
  scores: number[];
  /** llama.cpp token types: 1 normal, 2 unknown, 3 control, 6 byte. */
  types: number[];
}

export function tinyVocabulary(extraWords: readonly string[] = []): TinyVocabulary {
  const tokens = ['<unk>', '<s>', '</s>', '<|im_start|>', '<|im_end|>'];
  const types = [2, 3, 3, 3, 3];
  const scores = [0, 0, 0, 0, 0];
  for (let byte = 0; byte < 256; byte++) {
    tokens.push(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6);
    scores.push(0);
  }
  const seen = new Set(tokens);
  let score = -1;
  const addPiece = (piece: string): void => {
    if (seen.has(piece)) return;
    seen.add(piece);
    tokens.push(piece);
    types.push(1);
    scores.push(score);
    score -= 0.01;
  };
  for (const word of [...WORDS, ...extraWords]) {
    addPiece(`▁${word}`);
    addPiece(word);
  }
  // Single characters make every merge path reachable for the SentencePiece tokenizer.
  for (const char of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789▁') addPiece(char);
  return { tokens, scores, types };
}

export function writeTinyGguf(path: string, options: TinyGgufOptions = {}): { bytes: number; vocabularySize: number } {
  const embedding = options.embedding ?? 32;
  const layers = options.layers ?? 2;
  const heads = options.heads ?? 4;
  const feedForward = options.feedForward ?? 64;
  const contextLength = options.contextLength ?? 512;
  const outputScale = options.outputScale ?? 1;
  const rand = seededUniform(options.seed ?? 1);
  const vocabulary = tinyVocabulary(options.words);
  for (let i = 0; vocabulary.tokens.length < (options.vocabularySize ?? 0); i++) {
    vocabulary.tokens.push(`▁zz${i.toString(36)}`);
    vocabulary.types.push(1);
    vocabulary.scores.push(-100 - i * 1e-4);
  }
  const vocabularySize = vocabulary.tokens.length;

  const metadata: [string, MetadataValue][] = [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: 'synthcse-tiny-test-model' }],
    ['general.alignment', { type: 'u32', value: ALIGNMENT }],
    ['llama.context_length', { type: 'u32', value: contextLength }],
    ['llama.embedding_length', { type: 'u32', value: embedding }],
    ['llama.block_count', { type: 'u32', value: layers }],
    ['llama.feed_forward_length', { type: 'u32', value: feedForward }],
    ['llama.attention.head_count', { type: 'u32', value: heads }],
    ['llama.attention.head_count_kv', { type: 'u32', value: heads }],
    ['llama.rope.dimension_count', { type: 'u32', value: embedding / heads }],
    ['llama.attention.layer_norm_rms_epsilon', { type: 'f32', value: 1e-5 }],
    ['llama.vocab_size', { type: 'u32', value: vocabularySize }],
    ['tokenizer.ggml.model', { type: 'string', value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'string[]', value: vocabulary.tokens }],
    ['tokenizer.ggml.scores', { type: 'f32[]', value: vocabulary.scores }],
    ['tokenizer.ggml.token_type', { type: 'i32[]', value: vocabulary.types }],
    ['tokenizer.ggml.unknown_token_id', { type: 'u32', value: 0 }],
    ['tokenizer.ggml.bos_token_id', { type: 'u32', value: 1 }],
    ['tokenizer.ggml.eos_token_id', { type: 'u32', value: 2 }],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: true }],
    ['tokenizer.ggml.add_eos_token', { type: 'bool', value: false }],
    [
      'tokenizer.chat_template',
      {
        type: 'string',
        value:
          "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
      },
    ],
  ];

  const weights = (count: number, scale: number): Float32Array => {
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = (rand() * 2 - 1) * scale;
    return data;
  };
  const ones = (count: number): Float32Array => new Float32Array(count).fill(1);
  const tokenEmbeddings = weights(embedding * vocabularySize, 1);
  const output = weights(embedding * vocabularySize, outputScale / Math.sqrt(embedding));
  if (options.boost !== undefined) {
    const boosted = vocabulary.tokens.indexOf(options.boost.token);
    if (boosted < 0) throw new Error(`tiny GGUF: no token ${JSON.stringify(options.boost.token)} in the vocabulary`);
    const constant = 4;
    // Row-major [vocabulary][embedding]: dimension 0 of every embedding is the constant; RMS normalization then
    // leaves it near constant / rms, and only the boosted token's output row weighs it.
    const rms = Math.sqrt((constant * constant + (embedding - 1) / 3) / embedding);
    for (let t = 0; t < vocabularySize; t++) {
      tokenEmbeddings[t * embedding] = constant;
      output[t * embedding] = t === boosted ? options.boost.logit / (constant / rms) : 0;
    }
  }
  const tensors: Tensor[] = [
    { name: 'token_embd.weight', dims: [embedding, vocabularySize], data: tokenEmbeddings },
    { name: 'output_norm.weight', dims: [embedding], data: ones(embedding) },
    { name: 'output.weight', dims: [embedding, vocabularySize], data: output },
  ];
  const projection = 1 / Math.sqrt(embedding);
  /** With a boost, layers never write dimension 0 of the residual stream, so the constant reaches the output intact. */
  const keepDimension0 = (data: Float32Array, inputs: number): Float32Array => {
    if (options.boost !== undefined) data.fill(0, 0, inputs);
    return data;
  };
  for (let layer = 0; layer < layers; layer++) {
    const p = `blk.${layer}.`;
    tensors.push(
      { name: `${p}attn_norm.weight`, dims: [embedding], data: ones(embedding) },
      { name: `${p}attn_q.weight`, dims: [embedding, embedding], data: weights(embedding * embedding, projection) },
      { name: `${p}attn_k.weight`, dims: [embedding, embedding], data: weights(embedding * embedding, projection) },
      { name: `${p}attn_v.weight`, dims: [embedding, embedding], data: weights(embedding * embedding, projection) },
      {
        name: `${p}attn_output.weight`,
        dims: [embedding, embedding],
        data: keepDimension0(weights(embedding * embedding, projection), embedding),
      },
      { name: `${p}ffn_norm.weight`, dims: [embedding], data: ones(embedding) },
      {
        name: `${p}ffn_gate.weight`,
        dims: [embedding, feedForward],
        data: weights(embedding * feedForward, projection),
      },
      {
        name: `${p}ffn_up.weight`,
        dims: [embedding, feedForward],
        data: weights(embedding * feedForward, projection),
      },
      {
        name: `${p}ffn_down.weight`,
        dims: [feedForward, embedding],
        data: keepDimension0(weights(embedding * feedForward, 1 / Math.sqrt(feedForward)), feedForward),
      },
    );
  }

  const out = new ByteWriter();
  out.u32(GGUF_MAGIC);
  out.u32(3);
  out.u64(tensors.length);
  out.u64(metadata.length);
  for (const [key, entry] of metadata) {
    out.string(key);
    writeValue(out, entry);
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const tensor of tensors) {
    out.string(tensor.name);
    out.u32(tensor.dims.length);
    for (const dim of tensor.dims) out.u64(dim);
    out.u32(0); // GGML_TYPE_F32
    out.u64(offset);
    offsets.push(offset);
    offset += tensor.data.byteLength;
    offset = Math.ceil(offset / ALIGNMENT) * ALIGNMENT;
  }
  out.padTo(ALIGNMENT);
  const dataStart = out.length;
  tensors.forEach((tensor, i) => {
    const padding = dataStart + offsets[i]! - out.length;
    if (padding > 0) out.push(Buffer.alloc(padding));
    out.push(Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength));
  });
  out.padTo(ALIGNMENT);
  const buffer = out.toBuffer();
  writeFileSync(path, buffer);
  return { bytes: buffer.length, vocabularySize };
}

function writeValue(out: ByteWriter, entry: MetadataValue): void {
  switch (entry.type) {
    case 'u32':
      out.u32(ValueType.UINT32);
      out.u32(entry.value);
      return;
    case 'f32':
      out.u32(ValueType.FLOAT32);
      out.f32(entry.value);
      return;
    case 'bool':
      out.u32(ValueType.BOOL);
      out.push(Buffer.from([entry.value ? 1 : 0]));
      return;
    case 'string':
      out.u32(ValueType.STRING);
      out.string(entry.value);
      return;
    case 'string[]':
      out.u32(ValueType.ARRAY);
      out.u32(ValueType.STRING);
      out.u64(entry.value.length);
      for (const value of entry.value) out.string(value);
      return;
    case 'f32[]':
      out.u32(ValueType.ARRAY);
      out.u32(ValueType.FLOAT32);
      out.u64(entry.value.length);
      for (const value of entry.value) out.f32(value);
      return;
    case 'i32[]':
      out.u32(ValueType.ARRAY);
      out.u32(ValueType.INT32);
      out.u64(entry.value.length);
      for (const value of entry.value) out.i32(value);
      return;
  }
}
