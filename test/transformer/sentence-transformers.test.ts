/** The sentence-transformers folder export loads back (by this project) to the same embeddings. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadTf } from '../../nodes/train/tf-backend.js';
import { loadCheckpoint } from '../../nodes/transformer/checkpoint.js';
import { exportTransformerOnnx } from '../../nodes/transformer/export-onnx.js';
import { embedTexts, modelFromCheckpoint, type PoolingChoice } from '../../nodes/transformer/model.js';
import { exportModelFolder } from '../../nodes/transformer/sentence-transformers.js';
import { SENTENCES, tinyCheckpoint, type TinyArchitecture } from './tiny.js';

for (const [architecture, pooling, dense] of [['bert', 'cls', true], ['roberta', 'mean', false], ['bert', 'cls_before_pooler', false]] as [TinyArchitecture, PoolingChoice, boolean][]) {
  test(`${architecture} ${pooling}: ONNX → sentence-transformers folder → loadCheckpoint gives the same embeddings`, async () => {
    const tfx = await loadTf();
    const model = modelFromCheckpoint(loadCheckpoint(tinyCheckpoint(architecture)), pooling, 24, 3);
    const expected = embedTexts(tfx, model, SENTENCES);
    const dir = mkdtempSync(join(tmpdir(), 'synthcse-st-'));
    const onnx = join(dir, 'model.onnx');
    writeFileSync(onnx, exportTransformerOnnx(model));
    const folder = join(dir, 'st') + '/';
    exportModelFolder(onnx, folder);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'modules.json', 'sentence_bert_config.json', '1_Pooling/config.json']) {
      assert.ok(existsSync(join(folder, f)), f);
    }
    assert.equal(existsSync(join(folder, '2_Dense', 'model.safetensors')), dense);
    const modules = JSON.parse(readFileSync(join(folder, 'modules.json'), 'utf8')) as { type: string }[];
    assert.deepEqual(modules.map((m) => m.type.split('.').at(-1)), dense ? ['Transformer', 'Pooling', 'Dense'] : ['Transformer', 'Pooling']);

    const back = loadCheckpoint(folder);
    assert.equal(back.maxSeqLength, 24);
    const reloaded = modelFromCheckpoint(back, 'checkpoint', back.maxSeqLength!, 99);
    const actual = embedTexts(tfx, reloaded, SENTENCES);
    let diff = 0;
    expected.forEach((v, i) => v.forEach((x, k) => (diff = Math.max(diff, Math.abs(x - actual[i]![k]!)))));
    assert.ok(diff <= 1e-6, `max abs diff ${diff}`);
  });
}

test('a glove-avg model has no folder form: the message says to export a file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-st-'));
  const { exportGloveAvgOnnx } = await import('../../nodes/onnx/export-glove.js');
  const file = join(dir, 'glove.onnx');
  writeFileSync(
    file,
    exportGloveAvgOnnx({ words: ['a', 'b'], vectors: new Float32Array(4), tokenWeights: Float32Array.of(1, 1), dim: 2, outDim: 2, tokenPattern: /[a-z]+/gu } as never),
  );
  assert.throws(() => exportModelFolder(file, join(dir, 'out/')), /export it as a file: --out model\.onnx/);
});
