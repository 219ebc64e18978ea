/**
 * pretrained → train through the CLI, the checkpoint from a loopback hub: training is keyed by the checkpoint's
 * files, so the same files under another repository name are not trained again.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Workspace } from '../engine/support.js';
import { startHub } from './hub-server.js';
import { tinyCheckpoint, tinyDev, tinyTriplets } from './tiny.js';

const pipeline = (model: string) => `
name: pretrained
nodes:
  base:
    type: pretrained
    with:
      model: ${model}
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
      checkpoint: base.checkpoint
    with:
      encoder: transformer
      objective: simcse-sup
      epochs: 1
      batch_size: 8
      lr: 0.001
      data: data
`;

async function run(ws: Workspace, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  const child = ws.spawn(['run', 'p.yaml'], env);
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdout!.resume();
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stderr };
}

test('pretrained hf: model → train: keyed by the downloaded files, not the name', async () => {
  const hub = await startHub(tinyCheckpoint('roberta'), ['org/tiny-roberta', 'mirror/same-weights'], 'main');
  try {
    const ws = new Workspace();
    ws.write('triplets.tsv', ['anchor\tpositive\tnegative', ...tinyTriplets(24).map((t) => `${t.anchor}\t${t.positive}\t${t.negative}`)].join('\n') + '\n');
    mkdirSync(join(ws.dir, 'data', 'stsb'), { recursive: true });
    ws.write('data/stsb/dev.tsv', ['sentence1\tsentence2\tscore', ...tinyDev(20).map((p) => `${p.sentence1}\t${p.sentence2}\t${p.score}`)].join('\n') + '\n');
    const env = { HF_ENDPOINT: hub.endpoint };

    ws.write('p.yaml', pipeline('hf:org/tiny-roberta'));
    const first = await run(ws, env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /ran\s+train/);

    // Another repository with the same files: the download runs, the training does not.
    ws.write('p.yaml', pipeline('hf:mirror/same-weights'));
    const second = await run(ws, env);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /ran\s+base/);
    assert.match(second.stderr, /cached\s+train/);
    assert.ok(hub.requests.some((r) => r.url.startsWith('/mirror/same-weights/resolve/main/model.safetensors')));
  } finally {
    await hub.close();
  }
});
