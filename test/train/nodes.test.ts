/** The encoder, train and eval node modules, run with a fake context (real GloVe, tiny data). */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sha256, type Row } from '../../engine/json.js';
import type { AnyNodeType, FileOutput, FileValue, RowsValue } from '../../engine/node-type.js';
import { rowsInMemory } from '../../engine/values.js';
import { encoder } from '../../nodes/encoder.js';
import { evaluate } from '../../nodes/eval.js';
import { train } from '../../nodes/train.js';
import { runEvalCommand } from '../../nodes/sts/command.js';
import { fakeContext } from './fake-context.js';

const SUBJECTS = ['man', 'woman', 'child', 'dog', 'cat', 'boy', 'girl', 'horse', 'bird', 'chef'];
const ACTIONS = [
  ['is running in the park', 'runs outside', 'is sleeping at home'],
  ['is playing a guitar', 'plays music', 'is reading a book'],
  ['is eating an apple', 'eats fruit', 'is throwing a ball'],
  ['is swimming in the lake', 'swims in water', 'is sitting in a car'],
];

function triplets(): Row[] {
  const rows: Row[] = [];
  for (const s of SUBJECTS) for (const [a, p, n] of ACTIONS) rows.push({ anchor: `A ${s} ${a}.`, positive: `The ${s} ${p}.`, negative: `A ${s} ${n}.` });
  return rows;
}

function dataFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-data-'));
  mkdirSync(join(dir, 'stsb'));
  const lines = ['sentence1\tsentence2\tscore'];
  SUBJECTS.forEach((s, i) => {
    lines.push(`A ${s} is running.\tA ${s} runs.\t${4 + (i % 2) * 0.5}`);
    lines.push(`A ${s} is playing a guitar.\tA ${s} is eating.\t${1 + (i % 3) * 0.5}`);
    lines.push(`A ${s} is swimming.\tThe ${s} swims in the lake.\t${3.5 + (i % 2) * 0.5}`);
  });
  writeFileSync(join(dir, 'stsb', 'dev.tsv'), lines.join('\n') + '\n');
  return dir;
}

const rowsValue = (rows: Row[]): RowsValue => rowsInMemory(rows, sha256(JSON.stringify(rows)));
const fileValue = (out: FileOutput): FileValue => ({ form: 'file', path: out.file, meta: out.meta, digest: sha256(readFileSync(out.file)) });

async function runNode(node: AnyNodeType, inputs: Record<string, unknown>, params: unknown, ctx: ReturnType<typeof fakeContext>) {
  const parsed = node.params.parse(params);
  const options = node.options ? node.options.parse({}) : {};
  (ctx as { options: unknown }).options = options;
  return node.run(inputs as never, parsed, ctx as never);
}

const data = dataFolder();
const trainParams = { objective: 'simcse-sup', epochs: 3, batch_size: 8, max_vocab: 20000, eval_every: 5, data, temperature: 0.1 };

test('encoder → eval: baselines become models with their labels; the table shows both rows', async () => {
  const ctx = fakeContext({});
  const sifPc = (await runNode(encoder, { reference: rowsValue(triplets()) }, { variant: 'sif+pc', max_vocab: 20000 }, ctx)) as { model: FileOutput };
  assert.equal(sifPc.model.meta.label, 'GloVe SIF+PC');
  const plain = (await runNode(encoder, {}, { variant: 'plain', max_vocab: 20000 }, ctx)) as { model: FileOutput };
  await assert.rejects(() => runNode(encoder, {}, { variant: 'sif+pc' }, ctx), /needs a `reference` input/);

  const evalCtx = fakeContext({});
  const out = (await runNode(evaluate, { model: fileValue(sifPc.model), baseline: fileValue(plain.model) }, { data }, evalCtx)) as { metrics: Row[] };
  assert.deepEqual(out.metrics.map((m) => [m.task, m.model]), [['stsb-dev', 'GloVe SIF+PC'], ['stsb-dev', 'GloVe avg']]);
  assert.ok(out.metrics.every((m) => typeof m.spearman === 'number' && m.pairs === 30));
  const table = evalCtx.stats.values!.table as string;
  assert.match(table, /\| GloVe avg \|.*\n\| GloVe SIF\+PC \|/);
  assert.ok(evalCtx.messages.some((m) => m.level === 'warn' && /Skipped \(no files under .*\): STS12, STS13, STS14, STS15, STS16, STS-B, SICK-R/.test(m.message)));
});

test('train node: trains, reports backend and curves, and a run stopped mid-way resumes to the same model file', async () => {
  const whole = fakeContext({});
  const first = (await runNode(train, { data: rowsValue(triplets()) }, trainParams, whole)) as { model: FileOutput };
  const wholeDigest = sha256(readFileSync(first.model.file));
  assert.ok(['wasm', 'cpu', 'tensorflow'].includes(whole.stats.values!.backend as string));
  assert.ok((whole.stats.curves!['stsb-dev'] ?? []).length >= 3);
  assert.equal(first.model.meta.objective, 'simcse-sup');

  // Stop after 7 steps (drain), then run again with the same checkpoint store.
  const checkpoints = new Map<string, Buffer>();
  const abort = new AbortController();
  const stopped = fakeContext({}, { checkpoints, signal: abort.signal, onTick: (n) => n >= 7 && abort.abort() });
  await assert.rejects(() => runNode(train, { data: rowsValue(triplets()) }, trainParams, stopped), /interrupted/);
  assert.ok(checkpoints.has('trainer'));
  const resumedCtx = fakeContext({}, { checkpoints });
  const resumed = (await runNode(train, { data: rowsValue(triplets()) }, trainParams, resumedCtx)) as { model: FileOutput };
  assert.ok(resumedCtx.messages.some((m) => /Resuming/.test(m.message)));
  assert.equal(sha256(readFileSync(resumed.model.file)), wholeDigest);
});

test('train node: multicsr-masked with a frozen model input, and the params the methods pipelines use', async () => {
  const ctx = fakeContext({});
  const frozen = (await runNode(encoder, {}, { variant: 'sif', max_vocab: 20000 }, ctx)) as { model: FileOutput };
  const trainCtx = fakeContext({});
  const out = (await runNode(
    train,
    { data: rowsValue(triplets()), frozen: fileValue(frozen.model) },
    { ...trainParams, objective: 'multicsr-masked', epochs: 1, mask_threshold: 0.9 },
    trainCtx,
  )) as { model: FileOutput };
  assert.equal(out.model.meta.objective, 'multicsr-masked');
  // As written in pipelines/dino-x2.yaml, multicsr.yaml and syncse-partial.yaml:
  for (const objective of ['cosine-regression', 'multicsr-masked', 'simcse-sup']) {
    assert.ok(train.params.safeParse({ encoder: 'glove-avg', objective, epochs: 3, batch_size: 64, lr: 0.001, seed: 0 }).success);
  }
  assert.ok(evaluate.params.safeParse({ data: '../../shared/data', tasks: ['stsb-dev'] }).success);
  assert.equal(train.params.safeParse({ objective: 'simcse' }).success, false);
});

test('runEvalCommand: what synthcse eval --model M --baseline B --data F prints', async () => {
  const ctx = fakeContext({});
  const model = (await runNode(encoder, {}, { variant: 'sif', max_vocab: 20000 }, ctx)) as { model: FileOutput };
  const baseline = (await runNode(encoder, {}, { variant: 'plain', max_vocab: 20000 }, ctx)) as { model: FileOutput };
  const result = await runEvalCommand({ model: model.model.file, baseline: baseline.model.file, data });
  assert.equal(result.dataFolder, data);
  assert.equal(result.metrics.length, 2);
  assert.ok(result.skipped.includes('STS12'));
  const rows = result.table.split('\n').slice(2);
  assert.equal(rows.length, 2);
  // Same file name for both: the baseline is shown by its full path so the rows stay distinct; baseline row first.
  assert.ok(rows[0]!.startsWith(`| ${baseline.model.file} |`));
  assert.ok(rows[1]!.startsWith('| model.onnx |'));
});

test('train select → eval: the table heads the dev columns that picked the checkpoint apart from held-out ones', async () => {
  const withSick = dataFolder();
  mkdirSync(join(withSick, 'sick'));
  writeFileSync(join(withSick, 'sick', 'trial.tsv'), readFileSync(join(withSick, 'stsb', 'dev.tsv')));
  const tableFor = async (select: string) => {
    const trainCtx = fakeContext({});
    const out = (await runNode(train, { data: rowsValue(triplets()) }, { ...trainParams, epochs: 1, data: withSick, select }, trainCtx)) as { model: FileOutput };
    assert.equal(out.model.meta.select, select);
    const evalCtx = fakeContext({});
    await runNode(evaluate, { model: fileValue(out.model) }, { data: withSick }, evalCtx);
    assert.equal(evalCtx.stats.values!.select, select);
    return (evalCtx.stats.values!.table as string).split('\n')[0]!;
  };
  assert.match(await tableFor('stsb-sickr-dev'), /\| stsb-dev \(dev, used for selection\) \| sickr-dev \(dev, used for selection\) \|$/);
  assert.match(await tableFor('stsb-dev'), /\| stsb-dev \(dev, used for selection\) \| sickr-dev \(dev, held out\) \|$/);
  assert.match(await tableFor('holdout'), /\| stsb-dev \(dev, held out\) \| sickr-dev \(dev, held out\) \|$/);
});
