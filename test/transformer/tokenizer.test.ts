/** Token ids through @huggingface/tokenizers equal the ids each tokenizer.json defines for the reference tokens. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../../nodes/transformer/checkpoint.js';
import { TransformerTokenizer } from '../../nodes/transformer/tokenize.js';
import { tinyCheckpoint } from './tiny.js';

function vocabOf(folder: string): (tokens: string[]) => number[] {
  const json = JSON.parse(readFileSync(join(folder, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } };
  return (tokens) =>
    tokens.map((t) => {
      const id = json.model.vocab[t];
      assert.notEqual(id, undefined, `token ${t} not in the vocabulary`);
      return id!;
    });
}

test('BERT WordPiece: lower-casing, punctuation split, ## continuations, [UNK], [CLS]/[SEP]', () => {
  const folder = tinyCheckpoint('bert');
  const c = loadCheckpoint(folder);
  const ids = vocabOf(folder);
  const tokenizer = new TransformerTokenizer(c.tokenizerJson, c.tokenizerConfig);
  assert.deepEqual(Array.from(tokenizer.encode('The Man is PLAYING guitar.')), ids(['[CLS]', 'the', 'man', 'is', 'playing', 'guitar', '.', '[SEP]']));
  assert.deepEqual(Array.from(tokenizer.encode('xyzzy walked ☃')), ids(['[CLS]', 'x', '##y', '##z', '##z', '##y', 'walk', '##ed', '[UNK]', '[SEP]']));
});

test('RoBERTa byte-level BPE: Ġ-prefixed words, bytes for unknown text, <s>/</s>', () => {
  const folder = tinyCheckpoint('roberta');
  const c = loadCheckpoint(folder);
  const ids = vocabOf(folder);
  const tokenizer = new TransformerTokenizer(c.tokenizerJson, c.tokenizerConfig);
  // "guitar" stops at guit + ar: the merge "a r" (from "are") ranks before "guit a", so "guita" never forms.
  assert.deepEqual(Array.from(tokenizer.encode('the man is playing guitar.')), ids(['<s>', 'the', 'Ġman', 'Ġis', 'Ġplaying', 'Ġ', 'guit', 'ar', '.', '</s>']));
  // "é" is two UTF-8 bytes, 0xC3 0xA9, shown as "Ã" and "©" in the byte-level alphabet.
  assert.deepEqual(Array.from(tokenizer.encode('xy é')), ids(['<s>', 'x', 'y', 'Ġ', 'Ã', '©', '</s>']));
});

test('truncation to max_seq_length keeps the closing special token', () => {
  const folder = tinyCheckpoint('bert');
  const c = loadCheckpoint(folder);
  const ids = vocabOf(folder);
  const tokenizer = new TransformerTokenizer(c.tokenizerJson, c.tokenizerConfig, 4);
  assert.deepEqual(Array.from(tokenizer.encode('the man is playing guitar')), ids(['[CLS]', 'the', 'man', '[SEP]']));
});
