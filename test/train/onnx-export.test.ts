import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createGloveAvg, encodeSentencesGlove, fitCommonComponent } from '../../nodes/encoders/glove-avg.js';
import { loadEncoder } from '../../nodes/encoders/index.js';
import { exportGloveAvgOnnx, META_ENCODER } from '../../nodes/onnx/export-glove.js';
import { readOnnxMetadata } from '../../nodes/onnx/onnx-proto.js';
import { ProtoWriter, readFields } from '../../nodes/onnx/protobuf.js';
import { Rng } from '../../nodes/train/rng.js';
import { syntheticSentence, syntheticVectors } from './synthetic.js';

test('protobuf varints: small, large and negative int64 round-trip through the reader', () => {
  const bytes = new ProtoWriter().varint(1, 150).varint(2, 2 ** 40).string(3, 'héllo').finish();
  assert.deepEqual(Array.from(bytes.subarray(0, 3)), [0x08, 0x96, 0x01]);
  const fields = readFields(bytes);
  assert.equal(fields[0]!.value, 150);
  assert.equal(fields[1]!.value, 2 ** 40);
  assert.equal(Buffer.from(fields[2]!.bytes!).toString('utf8'), 'héllo');
  // -1 as int64 is ten bytes: nine 0xff and a final 0x01.
  const negative = new ProtoWriter().varint(1, -1).finish();
  assert.deepEqual(Array.from(negative), [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
});

async function maxDiffThroughOnnx(configure: (m: ReturnType<typeof createGloveAvg>) => void): Promise<number> {
  const wv = syntheticVectors(500, 24);
  const model = createGloveAvg(wv, { weighting: 'sif' });
  configure(model);
  const rng = new Rng(5);
  const sentences = Array.from({ length: 200 }, (_, i) => syntheticSentence(rng, 600, 1 + (i % 12)));
  // Edge cases: nothing in the vocabulary, empty, punctuation and case.
  sentences.push('', 'unknown words only', 'W1, w2! W3?', 'w499');
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-onnx-'));
  const path = join(dir, 'model.onnx');
  writeFileSync(path, exportGloveAvgOnnx(model, { label: 'test' }));
  assert.equal(readOnnxMetadata(exportGloveAvgOnnx(model))[META_ENCODER], 'glove-avg');
  const encoder = await loadEncoder(path, { batchSize: 37 });
  const viaOnnx = await encoder.encode(sentences);
  await encoder.close();
  const inProcess = encodeSentencesGlove(model, sentences);
  let max = 0;
  inProcess.forEach((v, i) => {
    assert.equal(viaOnnx[i]!.length, v.length);
    v.forEach((x, k) => (max = Math.max(max, Math.abs(x - viaOnnx[i]![k]!))));
  });
  assert.deepEqual(Array.from(viaOnnx[200]!), new Array(model.outDim).fill(0));
  return max;
}

test('ONNX export equals the in-process encoder: plain SIF mean', async () => {
  assert.ok((await maxDiffThroughOnnx(() => {})) < 1e-5);
});

test('ONNX export equals the in-process encoder: projection and common-component removal', async () => {
  const diff = await maxDiffThroughOnnx((m) => {
    const rng = new Rng(9);
    m.projection = Float32Array.from({ length: m.dim * 10 }, () => rng.nextGaussian() * 0.3);
    m.outDim = 10;
    fitCommonComponent(m, ['w1 w2 w3', 'w4 w5', 'w1 w7 w9 w11']);
  });
  assert.ok(diff < 1e-5, `max abs diff ${diff}`);
});
