/**
 * The word tokenizer of the glove-avg encoder: lower-case the sentence (Unicode default case mapping), then take
 * every maximal run of letters, marks and digits as one token: WORD_TOKEN_PATTERN = /[\p{L}\p{M}\p{N}]+/gu.
 * Punctuation and symbols are dropped. "It's a dog-friendly café." → ["it", "s", "a", "dog", "friendly", "café"].
 * The same pattern travels in the exported ONNX model's metadata so an outside runtime tokenizes identically.
 */
export const WORD_TOKEN_PATTERN_SOURCE = '[\\p{L}\\p{M}\\p{N}]+';
export const WORD_TOKEN_PATTERN_FLAGS = 'gu';

export function tokenizeWords(sentence: string, pattern: RegExp = defaultPattern): string[] {
  return sentence.toLowerCase().match(pattern) ?? [];
}

const defaultPattern = new RegExp(WORD_TOKEN_PATTERN_SOURCE, WORD_TOKEN_PATTERN_FLAGS);

export function compileTokenPattern(source: string, flags: string): RegExp {
  return new RegExp(source, flags.includes('g') ? flags : flags + 'g');
}
