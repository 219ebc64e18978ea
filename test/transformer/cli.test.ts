/**
 * The CLI end to end with a tiny transformer: SIGKILL during training, the same command resumes to the same model
 * file as an uninterrupted run; `export --out DIR/` writes a sentence-transformers folder; `eval` loads the ONNX.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { sha256 } from '../../engine/json.js';
import { writeRandomCheckpoint } from '../../nodes/transformer/random-checkpoint.js';
import { Workspace } from '../engine/support.js';
import { tinyDev, tinyTriplets } from './tiny.js';

const PIPELINE = `
name: tiny-transformer
nodes:
  triplets:
    type: load
    with:
      path: triplets.tsv
      format: tsv
      kind: triplets
  train:
    type: train
    inputs:
      data: triplets.triplets
    with:
      encoder: transformer
      checkpoint: model
      pooling: cls
      objective: simcse-sup
      epochs: 8
      batch_size: 8
      lr: 0.001
      warmup_ratio: 0.1
      eval_every: 4
      data: data
`;

function workspace(): Workspace {
  const ws = new Workspace();
  ws.write('p.yaml', PIPELINE);
  ws.write('triplets.tsv', ['anchor\tpositive\tnegative', ...tinyTriplets(64).map((t) => `${t.anchor}\t${t.positive}\t${t.negative}`)].join('\n') + '\n');
  mkdirSync(join(ws.dir, 'data', 'stsb'), { recursive: true });
  ws.write('data/stsb/dev.tsv', ['sentence1\tsentence2\tscore', ...tinyDev(30).map((p) => `${p.sentence1}\t${p.sentence2}\t${p.score}`)].join('\n') + '\n');
  writeRandomCheckpoint(join(ws.dir, 'model'), { architecture: 'roberta', hidden: 32, layers: 2, heads: 4, intermediate: 64, seed: 4 });
  return ws;
}

test('SIGKILL during transformer training: the same command resumes to the identical model; export writes both forms', async () => {
  const reference = workspace();
  const ran = reference.run(['run', 'p.yaml']);
  assert.equal(ran.code, 0, ran.stderr);
  assert.equal(reference.run(['export', 'train', '--out', 'model.onnx', '--pipeline', 'p.yaml']).code, 0);
  const expected = sha256(readFileSync(join(reference.dir, 'model.onnx')));

  const ws = workspace();
  const child = ws.spawn(['run', 'p.yaml']);
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = once(child, 'exit');
  // Kill once an epoch has ended (a checkpoint is saved at every epoch end), well before the 8th.
  while (!/epoch 2 /.test(stderr) && child.exitCode === null) await new Promise((r) => setTimeout(r, 10));
  child.kill('SIGKILL');
  await exited;
  assert.doesNotMatch(stderr, /epoch 8 /);
  const resumed = ws.run(['run', 'p.yaml']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr + resumed.stdout, /Resuming training from its checkpoint/);
  assert.equal(ws.run(['export', 'train', '--out', 'model.onnx', '--pipeline', 'p.yaml']).code, 0);
  assert.equal(sha256(readFileSync(join(ws.dir, 'model.onnx'))), expected);

  const folder = ws.run(['export', 'train', '--out', 'st/', '--pipeline', 'p.yaml']);
  assert.equal(folder.code, 0, folder.stderr);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'modules.json', '1_Pooling/config.json', '2_Dense/model.safetensors']) assert.ok(existsSync(join(ws.dir, 'st', f)), f);

  const evaluated = ws.run(['eval', '--model', 'model.onnx', '--data', 'data']);
  assert.equal(evaluated.code, 0, evaluated.stderr);
  assert.match(evaluated.stdout, /model\.onnx/);
});
