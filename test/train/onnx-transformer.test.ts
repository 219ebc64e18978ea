/** The generic ONNX encoder path, with a stand-in "transformer" (an embedding lookup) and a WordPiece tokenizer.json. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadEncoder } from '../../nodes/encoders/index.js';
import { modelProto, nodeProto, tensorProto, TensorType, valueInfo } from '../../nodes/onnx/onnx-proto.js';

const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'a', 'dog', 'runs', '##s'];
const HIDDEN = 3;
/** Row i of the embedding table is [i, 2i, -i]: pooled values are easy to compute by hand. */
const table = Float32Array.from({ length: VOCAB.length * HIDDEN }, (_, k) => [1, 2, -1][k % HIDDEN]! * Math.floor(k / HIDDEN));

function writeModelFolder(clsPooling: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-hf-'));
  const graph = {
    name: 'fake_transformer',
    nodes: [nodeProto('Gather', ['embeddings', 'input_ids'], ['last_hidden_state'], 'gather', { axis: { int: 0 } })],
    initializers: [tensorProto('embeddings', [VOCAB.length, HIDDEN], table)],
    inputs: [valueInfo('input_ids', TensorType.INT64, ['batch', 'sequence'])],
    outputs: [valueInfo('last_hidden_state', TensorType.FLOAT, ['batch', 'sequence', HIDDEN])],
  };
  writeFileSync(join(dir, 'model.onnx'), modelProto(graph, {}, { name: 'test', version: '0' }).finish());
  writeFileSync(
    join(dir, 'tokenizer.json'),
    JSON.stringify({
      version: '1.0',
      added_tokens: VOCAB.slice(0, 4).map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
      normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      model: { type: 'WordPiece', vocab: Object.fromEntries(VOCAB.map((w, i) => [w, i])), unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100 },
      post_processor: { type: 'BertProcessing', cls: ['[CLS]', 2], sep: ['[SEP]', 3] },
      decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    }),
  );
  if (clsPooling) {
    mkdirSync(join(dir, '1_Pooling'));
    writeFileSync(join(dir, '1_Pooling', 'config.json'), JSON.stringify({ pooling_mode_cls_token: true, pooling_mode_mean_tokens: false }));
  }
  return dir;
}

test('onnx encoder: mean pooling over the attention mask, in input order across length-sorted batches', async () => {
  const encoder = await loadEncoder(writeModelFolder(false), { batchSize: 1 });
  const [long, short] = await encoder.encode(['A dog runs', 'dogs']);
  await encoder.close();
  // "A dog runs" → [CLS] a dog runs [SEP] = ids 2,4,5,6,3: mean id 4. "dogs" → [CLS] dog ##s [SEP]: mean (2+5+7+3)/4.
  assert.deepEqual(Array.from(long!), [4, 8, -4]);
  const m = (2 + 5 + 7 + 3) / 4;
  assert.deepEqual(Array.from(short!), [m, 2 * m, -m]);
});

test('onnx encoder: CLS pooling from a sentence-transformers 1_Pooling/config.json', async () => {
  const encoder = await loadEncoder(join(writeModelFolder(true), 'model.onnx'));
  assert.equal(encoder.kind, 'onnx');
  assert.equal(encoder.dim, HIDDEN);
  const [v] = await encoder.encode(['a dog']);
  await encoder.close();
  assert.deepEqual(Array.from(v!), [2, 4, -2]);
});

test('onnx encoder: a missing tokenizer.json is a clear error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-hf-'));
  const graph = { name: 'g', nodes: [nodeProto('Identity', ['x'], ['y'], 'id')], initializers: [], inputs: [valueInfo('x', TensorType.FLOAT, [1])], outputs: [valueInfo('y', TensorType.FLOAT, [1])] };
  writeFileSync(join(dir, 'model.onnx'), modelProto(graph, {}, { name: 't', version: '0' }).finish());
  await assert.rejects(() => loadEncoder(join(dir, 'model.onnx')), /No tokenizer\.json next to/);
});
