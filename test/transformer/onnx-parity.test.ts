/** The TensorFlow.js encoder and its ONNX export (run by onnxruntime-node) give the same sentence vectors. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadEncoder } from '../../nodes/encoders/index.js';
import { loadTf } from '../../nodes/train/tf-backend.js';
import { loadCheckpoint } from '../../nodes/transformer/checkpoint.js';
import { exportTransformerOnnx } from '../../nodes/transformer/export-onnx.js';
import { embedTexts, modelFromCheckpoint, type PoolingChoice } from '../../nodes/transformer/model.js';
import { SENTENCES, tinyCheckpoint, type TinyArchitecture } from './tiny.js';

function maxAbsDiff(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  let max = 0;
  a.forEach((v, i) => v.forEach((x, k) => (max = Math.max(max, Math.abs(x - b[i]![k]!)))));
  return max;
}

const cases: [TinyArchitecture, PoolingChoice][] = [
  ['bert', 'cls'],
  ['bert', 'mean'],
  ['roberta', 'cls_before_pooler'],
  ['roberta', 'max'],
];

for (const [architecture, pooling] of cases) {
  test(`${architecture} ${pooling}: tfjs and onnxruntime agree within 1e-4 on padded batches`, async () => {
    const folder = tinyCheckpoint(architecture);
    const model = modelFromCheckpoint(loadCheckpoint(folder), pooling, 32, 7);
    const tfx = await loadTf();
    // One batch of all sentences: every sentence but the longest is padded.
    const expected = embedTexts(tfx, model, SENTENCES, 64);
    const file = join(folder, '..', 'model.onnx');
    writeFileSync(file, exportTransformerOnnx(model));
    const encoder = await loadEncoder(file, { batchSize: 3 });
    const actual = await encoder.encode(SENTENCES);
    await encoder.close();
    assert.equal(encoder.dim, 32);
    const diff = maxAbsDiff(expected, actual);
    assert.ok(diff <= 1e-4, `max abs diff ${diff}`);
    // Padding does not leak into a sentence's vector: alone (no padding) it is the same.
    const alone = embedTexts(tfx, model, [SENTENCES[4]!]);
    assert.ok(maxAbsDiff(alone, [expected[4]!]) <= 1e-5);
  });
}
