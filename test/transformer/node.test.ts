/** The train node with encoder: transformer, and the eval command loading what it exports. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sha256, type Row } from '../../engine/json.js';
import type { AnyNodeType, FileOutput } from '../../engine/node-type.js';
import { runEvalCommand } from '../../nodes/sts/command.js';
import { train } from '../../nodes/train.js';
import { fakeContext } from '../train/fake-context.js';
import { tinyCheckpoint, tinyDev, tinyTriplets } from './tiny.js';

function dataFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-data-'));
  mkdirSync(join(dir, 'stsb'));
  const lines = ['sentence1\tsentence2\tscore', ...tinyDev(30).map((p) => `${p.sentence1}\t${p.sentence2}\t${p.score}`)];
  writeFileSync(join(dir, 'stsb', 'dev.tsv'), lines.join('\n') + '\n');
  return dir;
}

async function runNode(node: AnyNodeType, inputs: Record<string, unknown>, params: unknown, ctx: ReturnType<typeof fakeContext>) {
  const parsed = node.params.parse(params);
  (ctx as { options: unknown }).options = node.options ? node.options.parse({}) : {};
  return node.run(inputs as never, parsed, ctx as never);
}

const rows = tinyTriplets(40) as unknown as Row[];
const data = rowsValue(rows);
function rowsValue(r: Row[]) {
  return { form: 'rows' as const, rows: r, digest: sha256(JSON.stringify(r)) };
}

test('train node, encoder transformer: trains a tiny BERT, resumes after a stop to the same ONNX file, and eval loads it', async () => {
  const folder = dataFolder();
  const params = { encoder: 'transformer', checkpoint: tinyCheckpoint('bert'), objective: 'simcse-sup', epochs: 2, batch_size: 8, lr: 1e-3, eval_every: 3, data: folder };
  const whole = fakeContext({});
  const first = (await runNode(train, { data }, params, whole)) as { model: FileOutput };
  assert.equal(first.model.meta.encoder, 'transformer');
  assert.equal(whole.stats.values!.backend, first.model.meta.backend);
  assert.equal(first.model.meta.select, 'stsb-dev');
  assert.equal(first.model.meta.select, 'stsb-dev');

  const checkpoints = new Map<string, Buffer>();
  const abort = new AbortController();
  const stopped = fakeContext({}, { checkpoints, signal: abort.signal, onTick: (n) => n >= 4 && abort.abort() });
  await assert.rejects(() => runNode(train, { data }, params, stopped), /interrupted/);
  const resumedCtx = fakeContext({}, { checkpoints });
  const resumed = (await runNode(train, { data }, params, resumedCtx)) as { model: FileOutput };
  assert.ok(resumedCtx.messages.some((m) => /Resuming/.test(m.message)));
  assert.equal(sha256(readFileSync(resumed.model.file)), sha256(readFileSync(first.model.file)));

  const result = await runEvalCommand({ model: first.model.file, data: folder });
  assert.equal(result.metrics.length, 1);
  assert.equal(result.metrics[0]!.task, 'stsb-dev');
  // The eval command's score is the trainer's dev score at the kept step (same data, same encoder via onnxruntime).
  assert.ok(Math.abs(Number(result.metrics[0]!.spearman) - Number(first.model.meta.best_selection)) < 0.5, `${result.metrics[0]!.spearman} vs ${first.model.meta.best_selection}`);
});

test('train node, encoder transformer: user errors name the parameter', async () => {
  await assert.rejects(() => runNode(train, { data }, { encoder: 'transformer' }, fakeContext({})), /needs a checkpoint/);
  const notAModel = mkdtempSync(join(tmpdir(), 'synthcse-empty-'));
  await assert.rejects(() => runNode(train, { data }, { encoder: 'transformer', checkpoint: notAModel }, fakeContext({})), /has no config\.json/);
  const gpt = tinyCheckpoint('bert');
  writeFileSync(join(gpt, 'config.json'), JSON.stringify({ model_type: 'gpt2', hidden_size: 32 }));
  await assert.rejects(() => runNode(train, { data }, { encoder: 'transformer', checkpoint: gpt }, fakeContext({})), /model_type "gpt2" is not supported/);
});
