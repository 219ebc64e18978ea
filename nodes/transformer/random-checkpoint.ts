/**
 * Writes a randomly initialised BERT or RoBERTa checkpoint folder (config.json, model.safetensors, tokenizer.json,
 * tokenizer_config.json) in the layout transformers' save_pretrained produces. Tests and benchmarks use it: nothing
 * is downloaded, and the tokenizer files are real WordPiece / byte-level BPE definitions.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../train/rng.js';
import { writeSafetensors, type TensorMap } from './safetensors.js';

export interface RandomCheckpointSpec {
  architecture: 'bert' | 'roberta';
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  /** Extra words in the vocabulary (WordPiece entries or BPE merges); the benchmark pads the vocabulary to this size. */
  vocabSize?: number;
  maxPositions?: number;
  seed?: number;
  /** Standard deviation of the weight matrices (initializer_range); default 0.02, as BERT. */
  initStd?: number;
}

/** Words the tiny tokenizers know whole (everything else splits into pieces / bytes). */
export const TINY_WORDS = ['the', 'a', 'man', 'woman', 'dog', 'cat', 'is', 'are', 'playing', 'guitar', 'piano', 'runs', 'eats', 'food', 'on', 'in', 'park', 'two', 'people', 'sitting', 'walking', 'street'];
const PIECES = ['play', '##ing', '##s', '##ed', 'walk', 'sit', '##t', 'run', 'eat', 'x', 'y', 'z'];

/** GPT-2's byte → printable character map used by byte-level BPE. */
export function byteToUnicode(): string[] {
  const keep: number[] = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const out = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) out[b] = keep.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  return out;
}

function bertTokenizer(size: number): { json: Record<string, unknown>; config: Record<string, unknown>; vocab: number } {
  const letters = 'abcdefghijklmnopqrstuvwxyz'.split('');
  const entries = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '.', ',', '!', '?', "'", ...letters, ...letters.map((c) => '##' + c), ...TINY_WORDS, ...PIECES];
  const vocab = [...new Set(entries)];
  for (let i = 0; vocab.length < size; i++) vocab.push(`w${i}`);
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((t, i) => special(i, t)),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: { '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] } },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(vocab.map((t, i) => [t, i])) },
  };
  const config = { do_lower_case: true, model_max_length: 512, tokenizer_class: 'BertTokenizer', cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', unk_token: '[UNK]', mask_token: '[MASK]' };
  return { json, config, vocab: vocab.length };
}

function robertaTokenizer(size: number): { json: Record<string, unknown>; config: Record<string, unknown>; vocab: number } {
  const vocab = ['<s>', '<pad>', '</s>', '<unk>', ...byteToUnicode()];
  const merges: [string, string][] = [];
  const seen = new Set(vocab);
  const merge = (a: string, b: string): void => {
    if (seen.has(a + b)) return;
    merges.push([a, b]);
    vocab.push(a + b);
    seen.add(a + b);
  };
  // Each word merges left to right, then with a leading space (Ġ), as GPT-2 vocabularies have.
  for (const word of TINY_WORDS) {
    let current = word[0]!;
    for (const ch of word.slice(1)) {
      merge(current, ch);
      current += ch;
    }
    merge('Ġ', word);
  }
  for (let i = 0; vocab.length < size; i++) vocab.push(`<extra_${i}>`);
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true });
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: ['<s>', '<pad>', '</s>', '<unk>'].map((t, i) => special(i, t)),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab: Object.fromEntries(vocab.map((t, i) => [t, i])),
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
  const config = { tokenizer_class: 'RobertaTokenizer', bos_token: '<s>', eos_token: '</s>', sep_token: '</s>', cls_token: '<s>', pad_token: '<pad>', unk_token: '<unk>', mask_token: '<mask>', model_max_length: 512 };
  return { json, config, vocab: vocab.length };
}

/** Writes the folder and returns it. Weights: N(0, 0.02²) matrices, LayerNorm near identity (perturbed so tests see it). */
export function writeRandomCheckpoint(folder: string, spec: RandomCheckpointSpec): string {
  mkdirSync(folder, { recursive: true });
  const roberta = spec.architecture === 'roberta';
  const tok = roberta ? robertaTokenizer(spec.vocabSize ?? 0) : bertTokenizer(spec.vocabSize ?? 0);
  const V = tok.vocab;
  const H = spec.hidden;
  const padId = roberta ? 1 : 0;
  const maxPositions = spec.maxPositions ?? (roberta ? 66 : 64);
  const config = {
    architectures: [roberta ? 'RobertaModel' : 'BertModel'],
    model_type: spec.architecture,
    vocab_size: V,
    hidden_size: H,
    num_hidden_layers: spec.layers,
    num_attention_heads: spec.heads,
    intermediate_size: spec.intermediate,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    max_position_embeddings: maxPositions,
    type_vocab_size: roberta ? 1 : 2,
    initializer_range: spec.initStd ?? 0.02,
    layer_norm_eps: roberta ? 1e-5 : 1e-12,
    pad_token_id: padId,
    position_embedding_type: 'absolute',
    ...(roberta ? { bos_token_id: 0, eos_token_id: 2 } : {}),
    torch_dtype: 'float32',
  };
  const rng = new Rng(spec.seed ?? 1);
  const tensors: TensorMap = new Map();
  // RoBERTa checkpoints saved from a task model carry the "roberta." prefix; loading must strip it.
  const prefix = roberta ? 'roberta.' : '';
  const normal = (name: string, shape: number[], std = spec.initStd ?? 0.02) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = rng.nextGaussian() * std;
    tensors.set(prefix + name, { shape, data });
  };
  const layerNorm = (name: string) => {
    tensors.set(`${prefix}${name}.weight`, { shape: [H], data: Float32Array.from({ length: H }, () => 1 + 0.1 * rng.nextGaussian()) });
    tensors.set(`${prefix}${name}.bias`, { shape: [H], data: Float32Array.from({ length: H }, () => 0.1 * rng.nextGaussian()) });
  };
  normal('embeddings.word_embeddings.weight', [V, H]);
  normal('embeddings.position_embeddings.weight', [maxPositions, H]);
  normal('embeddings.token_type_embeddings.weight', [config.type_vocab_size, H]);
  layerNorm('embeddings.LayerNorm');
  const linear = (name: string, out: number, inp: number) => {
    normal(`${name}.weight`, [out, inp]);
    normal(`${name}.bias`, [out]);
  };
  for (let l = 0; l < spec.layers; l++) {
    const p = `encoder.layer.${l}.`;
    for (const d of ['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense']) linear(p + d, H, H);
    layerNorm(`${p}attention.output.LayerNorm`);
    linear(`${p}intermediate.dense`, spec.intermediate, H);
    linear(`${p}output.dense`, H, spec.intermediate);
    layerNorm(`${p}output.LayerNorm`);
  }
  linear('pooler.dense', H, H);
  writeFileSync(join(folder, 'config.json'), JSON.stringify(config, null, 2));
  writeFileSync(join(folder, 'model.safetensors'), writeSafetensors(tensors));
  writeFileSync(join(folder, 'tokenizer.json'), JSON.stringify(tok.json));
  writeFileSync(join(folder, 'tokenizer_config.json'), JSON.stringify(tok.config, null, 2));
  return folder;
}
