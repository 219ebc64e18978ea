/**
 * Text → token ids for a transformer checkpoint, through @huggingface/tokenizers (WordPiece, byte-level BPE, …
 * exactly as the checkpoint's tokenizer.json defines them), truncated to max_seq_length keeping the final special
 * token ([SEP] or </s>), as the reference tokenizer's truncation does.
 */
import { Tokenizer } from '@huggingface/tokenizers';

/** SimCSE's max_seq_len. */
export const DEFAULT_MAX_SEQ_LENGTH = 32;

export class TransformerTokenizer {
  private readonly tokenizer: Tokenizer;

  constructor(
    tokenizerJson: Record<string, unknown>,
    tokenizerConfig: Record<string, unknown>,
    readonly maxLength: number = DEFAULT_MAX_SEQ_LENGTH,
  ) {
    // The library reads truncation from neither file; we truncate ourselves.
    this.tokenizer = new Tokenizer({ ...tokenizerJson, truncation: null, padding: null }, tokenizerConfig);
  }

  encode(text: string): Int32Array {
    const ids = this.tokenizer.encode(text).ids;
    if (ids.length <= this.maxLength) return Int32Array.from(ids);
    const kept = Int32Array.from(ids.slice(0, this.maxLength));
    kept[this.maxLength - 1] = ids[ids.length - 1]!;
    return kept;
  }

  tokens(text: string): string[] {
    return this.tokenizer.tokenize(text, { add_special_tokens: true });
  }
}
