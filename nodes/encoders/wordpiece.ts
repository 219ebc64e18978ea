/**
 * A BERT-style tokenizer read from a Hugging Face tokenizer.json: BertNormalizer (clean text, CJK spacing,
 * lower-casing, accent stripping), BertPreTokenizer (whitespace and punctuation splits), WordPiece with "##"
 * continuations, then [CLS] … [SEP] and truncation. Other tokenizer models are rejected with a clear message.
 */
import { readFileSync } from 'node:fs';

interface TokenizerJson {
  normalizer?: { type?: string; lowercase?: boolean; strip_accents?: boolean | null; clean_text?: boolean; handle_chinese_chars?: boolean } | null;
  model?: { type?: string; vocab?: Record<string, number>; unk_token?: string; continuing_subword_prefix?: string; max_input_chars_per_word?: number };
  truncation?: { max_length?: number } | null;
  post_processor?: { type?: string; cls?: [string, number]; sep?: [string, number] } | null;
}

export interface EncodedText {
  ids: number[];
}

export class WordPieceTokenizer {
  private readonly vocab: Map<string, number>;
  private readonly unkId: number;
  private readonly prefix: string;
  private readonly maxChars: number;
  private readonly lowercase: boolean;
  private readonly stripAccents: boolean;
  private readonly clsId: number | undefined;
  private readonly sepId: number | undefined;
  readonly maxLength: number;

  constructor(json: TokenizerJson, source = 'tokenizer.json') {
    const model = json.model;
    if (!model || model.type !== 'WordPiece' || !model.vocab) {
      throw new Error(`${source}: only WordPiece (BERT-style) tokenizers are supported; this one is ${model?.type ?? 'of unknown type'}`);
    }
    this.vocab = new Map(Object.entries(model.vocab));
    const unk = model.unk_token ?? '[UNK]';
    const unkId = this.vocab.get(unk);
    if (unkId === undefined) throw new Error(`${source}: the unknown token ${unk} is not in the vocabulary`);
    this.unkId = unkId;
    this.prefix = model.continuing_subword_prefix ?? '##';
    this.maxChars = model.max_input_chars_per_word ?? 100;
    const normalizer = json.normalizer ?? {};
    this.lowercase = normalizer.lowercase ?? true;
    this.stripAccents = normalizer.strip_accents ?? this.lowercase;
    const cls = json.post_processor?.cls?.[0] ?? '[CLS]';
    const sep = json.post_processor?.sep?.[0] ?? '[SEP]';
    this.clsId = this.vocab.get(cls);
    this.sepId = this.vocab.get(sep);
    this.maxLength = json.truncation?.max_length ?? 512;
  }

  static fromFile(path: string): WordPieceTokenizer {
    return new WordPieceTokenizer(JSON.parse(readFileSync(path, 'utf8')) as TokenizerJson, path);
  }

  private normalize(text: string): string {
    // clean_text: drop control characters, map whitespace to spaces; handle_chinese_chars: space around CJK.
    let t = text.replace(/[\u0000\ufffd\p{Cc}]/gu, (c) => (/\s/.test(c) ? ' ' : '')).replace(/\s/g, ' ');
    t = t.replace(/([\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff])/g, ' $1 ');
    if (this.lowercase) t = t.toLowerCase();
    if (this.stripAccents) t = t.normalize('NFD').replace(/\p{Mn}/gu, '');
    return t;
  }

  private wordPiece(word: string): number[] {
    if ([...word].length > this.maxChars) return [this.unkId];
    const ids: number[] = [];
    let start = 0;
    while (start < word.length) {
      let end = word.length;
      let found: number | undefined;
      while (start < end) {
        const piece = (start > 0 ? this.prefix : '') + word.slice(start, end);
        found = this.vocab.get(piece);
        if (found !== undefined) break;
        end--;
      }
      if (found === undefined) return [this.unkId];
      ids.push(found);
      start = end;
    }
    return ids;
  }

  encode(text: string): EncodedText {
    const words = this.normalize(text).match(/[^\s\p{P}\p{S}]+|[\p{P}\p{S}]/gu) ?? [];
    const body: number[] = [];
    for (const w of words) body.push(...this.wordPiece(w));
    const special = (this.clsId !== undefined ? 1 : 0) + (this.sepId !== undefined ? 1 : 0);
    const kept = body.slice(0, Math.max(0, this.maxLength - special));
    const ids = [...(this.clsId !== undefined ? [this.clsId] : []), ...kept, ...(this.sepId !== undefined ? [this.sepId] : [])];
    return { ids };
  }
}
