/**
 * Disk: a trained glove-avg model keeps only the words of its training and selection data and the most frequent,
 * through the real CLI on real STS-B dev: the file is a fraction of the whole vocabulary's and eval's STS-B dev
 * Spearman equals the one with every word.
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Workspace } from '../engine/support.js';
import { sharedData } from '../nodes/paths.js';

const hasData = existsSync(join(sharedData, 'nli', 'snli_triplets.tsv')) && existsSync(join(sharedData, 'stsb', 'dev.tsv'));

const PIPELINE = `
name: trim
nodes:
  nli:
    type: load
    with:
      path: ${join(sharedData, 'nli', 'snli_triplets.tsv')}
      format: tsv
      kind: triplets
      columns: {anchor: premise, positive: entailment, negative: contradiction}
      limit: 512
  train:
    type: train
    inputs:
      data: nli.triplets
    with:
      objective: simcse-sup
      epochs: 1
      batch_size: 64
      eval_every: 0
      data: ${sharedData}
  eval:
    type: eval
    inputs:
      model: train.model
    with:
      data: ${sharedData}
      tasks: [stsb-dev]
`;

test('the exported glove-avg model keeps the training, selection and most frequent words, with no loss on STS-B dev', { skip: hasData ? false : `no data at ${sharedData}`, timeout: 5 * 60_000 }, () => {
  const ws = new Workspace();
  ws.write('p.yaml', PIPELINE);
  const run = ws.run(['run', 'p.yaml']);
  assert.equal(run.code, 0, run.stderr);
  const kept = /vocabulary: (\d+) of (\d+) words kept: .*\(STS-B dev ([\d.]+), with all words ([\d.]+)\)/.exec(run.stderr);
  assert.ok(kept, run.stderr);
  const [words, all, trimmedDev, fullDev] = [Number(kept[1]), Number(kept[2]), kept[3], kept[4]];
  assert.ok(words < all / 4, `${words} of ${all} words`);
  assert.equal(trimmedDev, fullDev, 'no loss on STS-B dev');
  const exported = ws.run(['export', 'train', '--out', 'model.onnx', '--pipeline', 'p.yaml']);
  assert.equal(exported.code, 0, exported.stderr);
  const mb = statSync(join(ws.dir, 'model.onnx')).size / 1e6;
  assert.ok(mb < 30, `model file ${mb.toFixed(1)} MB (the whole vocabulary is about 140 MB)`);
  const runs = ws.run(['runs', '--json', '--cache', join(ws.dir, '.synthcse')]);
  const metrics = (JSON.parse(runs.stdout.trim().split('\n')[0]!) as { metrics: Record<string, number> }).metrics;
  assert.ok(Math.abs(metrics['eval.stsb-dev']! - Number(fullDev)) < 0.01, `eval ${metrics['eval.stsb-dev']} vs ${fullDev}`);
  assert.equal(metrics['train.vocab'], words);
  assert.ok(metrics['train.model_mb']! < 30);
});
