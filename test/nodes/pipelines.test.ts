/**
 * The shipped pipelines, through the real engine (resolve → graph → execute) against the loopback LLM server:
 * every pipeline validates (including the scratch variant) and runs end to end on a tiny subset (one training
 * epoch), producing datasets of the expected shapes and an STS-B dev metric.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPipeline, preparePipeline } from '../../engine/api.js';
import { builtinRegistry } from '../../engine/cli/registry.js';
import type { PortValue } from '../../engine/node-type.js';
import { filter } from '../../nodes/filter.js';
import { fakeContext, rowsValue, runNode } from './fake-context.js';
import type { Row } from '../../engine/json.js';
import { loadValue } from '../../engine/values.js';
import { startMockLlmServer, type MockLlmServer } from '../support/mock-llm-server.js';
import { defaultResponder, hashNumber, type MockChatRequest } from '../support/llm-responder.js';
import { pipelinesDir, sharedData } from './paths.js';
import { markdownTable } from '../../nodes/sts/table.js';
import { selectionTasks } from '../../nodes/sts/tasks.js';
import { unlessPresent } from '../support/prerequisite.js';

const hasData = existsSync(join(sharedData, 'unlabeled/snli_premises.txt'));
const KEY = 'sk-ant-test-0123456789abcdef';

const registry = builtinRegistry;

/**
 * MultiCSR's prompts quote the sentence with single quotes, which the default mock responder does not read; and
 * the default judge scores by word overlap, which rates the mock's antonym-swap contradictions as near-identical,
 * so self-curation would remove every triplet. This responder answers the generation prompts with the mock's
 * paraphrase/contradiction and judges a sentence containing a negation low, others high.
 */
function responder(request: MockChatRequest): string {
  const last = request.messages[request.messages.length - 1]!.content;
  const judged = /^Scoring the semantic similarity .*\(b\) (.*)$/s.exec(last);
  if (judged) return /\bnot\b/i.test(judged[1]!) ? '1.5' : hashNumber(judged[1]!) % 4 === 0 ? '2.0' : '4.5';
  const m = /Write a sentence that is (entailment|negative) with '(.*)': $/s.exec(last);
  if (m) return defaultResponder({ ...request, messages: [{ role: 'user', content: `${m[1] === 'negative' ? 'Contradict' : 'Paraphrase'} input: ${m[2]}` }] });
  return defaultResponder(request);
}

interface Ran {
  rows(node: string, port: string): Row[];
  value(node: string, port: string): PortValue;
  status: string;
  states: Record<string, string>;
  close(): void;
}

/** One cache for the training runs: the word-vector artifact is built once, as it would be for a user. */
const sharedCache = mkdtempSync(join(tmpdir(), 'synthcse-pipe-'));
const EPOCHS = 'nodes.train.with.epochs=1';

async function run(server: MockLlmServer, file: string, set: string[], variant?: string, cacheDir?: string): Promise<Ran> {
  const outcome = await runPipeline({
    file: join(pipelinesDir, file),
    registry: await registry(),
    variant,
    set: [`llm.base_url=${server.url}`, 'llm.requests_per_minute=60000', 'llm.tokens_per_minute=100000000', EPOCHS, 'params.senteval=false', ...set],
    env: { ...process.env, ANTHROPIC_API_KEY: KEY, SYNTHCSE_DATA: sharedData },
    cacheDir: cacheDir ?? sharedCache,
  });
  const store = outcome.prepared.store;
  const states: Record<string, string> = {};
  for (const [id, o] of outcome.outcomes) states[id] = o.state;
  return {
    status: outcome.status,
    states,
    value(node, port) {
      const rec = outcome.outcomes.get(node)?.outputs?.[port];
      assert.ok(rec, `no output ${node}.${port}`);
      return loadValue(store, rec);
    },
    rows(node, port) {
      const o = outcome.outcomes.get(node);
      const rec = o?.outputs?.[port];
      assert.ok(rec, `no output ${node}.${port} (state ${o?.state}${o?.diagnostic ? ': ' + o.diagnostic.message : ''})`);
      const v = loadValue(store, rec);
      assert.equal(v.form, 'rows');
      return v.form === 'rows' ? v.rows : [];
    },
    close: () => store.close(),
  };
}

const isText = (v: unknown) => typeof v === 'string' && v.trim() !== '';

/** The model was trained and evaluated on STS-B dev. */
function checkTrained(r: Ran): void {
  assert.equal(r.states['train'], 'ran');
  const metrics = r.rows('eval', 'metrics');
  const dev = metrics.find((m) => m['task'] === 'stsb-dev');
  assert.ok(dev && typeof dev['spearman'] === 'number', JSON.stringify(metrics));
}

/** The pipeline's file names its selection, and its table shows which columns picked the model and which are held out. */
function checkSelection(r: Ran, file: string, select: string, header: RegExp): void {
  const model = r.value('train', 'model');
  assert.equal(model.form === 'file' ? model.meta['select'] : undefined, select);
  assert.match(readFileSync(join(pipelinesDir, file), 'utf8'), new RegExp(`# Selection: select: ${select}`));
  const metrics = r.rows('eval', 'metrics');
  assert.ok(metrics.some((m) => m['task'] === 'sickr-dev'), 'SICK-R dev is reported');
  const table = markdownTable(metrics as never, selectionTasks(select));
  assert.match(table.split('\n')[0]!, header);
}

test('every shipped pipeline (and its variants) validates', { skip: unlessPresent(hasData, `no shared data at ${sharedData}`) }, async () => {
  for (const [file, variant] of [
    ['syncse-partial.yaml', undefined],
    ['syncse-partial.yaml', 'scratch'],
    ['syncse-partial.yaml', 'roberta'],
    ['syncse-scratch.yaml', undefined],
    ['dino-x2.yaml', undefined],
    ['dino-x2.yaml', 'x1x2'],
    ['dino-x2.yaml', 'roberta'],
    ['multicsr.yaml', undefined],
    ['multicsr.yaml', 'bert'],
    ['human-vs-llm.yaml', undefined],
  ] as const) {
    const prepared = await preparePipeline({
      file: join(pipelinesDir, file),
      registry: await registry(),
      variant,
      env: { ...process.env, ANTHROPIC_API_KEY: KEY, SYNTHCSE_DATA: sharedData },
      cacheDir: mkdtempSync(join(tmpdir(), 'synthcse-plan-')),
    });
    assert.ok(prepared.graph.order.some((id) => id.startsWith('train')), `${file} ${variant ?? ''}`);
    prepared.store.close();
  }
});

test('each pipeline file says which selection it uses, and it is the one its train nodes use; methods.md has a fidelity table per method', { skip: unlessPresent(hasData, `no shared data at ${sharedData}`) }, async () => {
  for (const file of ['syncse-partial.yaml', 'syncse-scratch.yaml', 'dino-x2.yaml', 'multicsr.yaml', 'sup-nli.yaml', 'human-vs-llm.yaml']) {
    const prepared = await preparePipeline({
      file: join(pipelinesDir, file),
      registry: await registry(),
      env: { ...process.env, ANTHROPIC_API_KEY: KEY, SYNTHCSE_DATA: sharedData },
      cacheDir: mkdtempSync(join(tmpdir(), 'synthcse-plan-')),
    });
    try {
      const text = readFileSync(join(pipelinesDir, file), 'utf8') + (file === 'syncse-scratch.yaml' ? readFileSync(join(pipelinesDir, 'syncse-partial.yaml'), 'utf8') : '');
      const said = /^# Selection: select: ([a-z-]+)/m.exec(text)?.[1];
      const trains = [...prepared.graph.nodes.values()].filter((n) => n.type.type === 'train' && n.id !== 'frozen');
      assert.ok(trains.length > 0);
      for (const t of trains) assert.equal((t.params as Record<string, unknown>)['select'], said, `${file}: ${t.id}`);
    } finally {
      prepared.store.close();
    }
  }
  const dino = await preparePipeline({ file: join(pipelinesDir, 'dino-x2.yaml'), registry: await registry(), env: { ...process.env, ANTHROPIC_API_KEY: KEY, SYNTHCSE_DATA: sharedData }, cacheDir: mkdtempSync(join(tmpdir(), 'synthcse-plan-')) });
  assert.deepEqual((dino.graph.nodes.get('x1')!.params as { columns: { text: string[] } }).columns.text, ['sentence1', 'sentence2'], 'x1 from both STS-B columns');
  dino.store.close();
  const methods = readFileSync(join(pipelinesDir, '..', 'docs', 'methods.md'), 'utf8');
  const fidelity = methods.slice(methods.indexOf('## Fidelity to the papers'));
  for (const method of ['### DINO', '### SynCSE', '### MultiCSR']) {
    const section = fidelity.slice(fidelity.indexOf(method));
    assert.ok(fidelity.includes(method), method);
    assert.match(section, /\| element \| paper and code \| synthcse \| difference and why \|/, method);
  }
});

test('human-vs-llm: the same training parameters on both sources, equal sizes, one table with both rows', { skip: unlessPresent(hasData, `no shared data at ${sharedData}`) }, async () => {
  const prepared = await preparePipeline({
    file: join(pipelinesDir, 'human-vs-llm.yaml'),
    registry: await registry(),
    env: { ...process.env, SYNTHCSE_DATA: sharedData },
    cacheDir: mkdtempSync(join(tmpdir(), 'synthcse-plan-')),
  });
  try {
    const params = (id: string) => prepared.graph.nodes.get(id)!.params as Record<string, unknown>;
    assert.deepEqual(params('train_human'), params('train_llm'), 'nothing differs but the data input');
    assert.equal(params('train_human')['epochs'], 8);
    assert.equal(params('human')['sample'], params('llm_written')['sample']);
    const evalNode = prepared.graph.nodes.get('eval')!;
    assert.deepEqual(evalNode.inputs.map((b) => b.port).sort(), ['baseline', 'model']);
  } finally {
    prepared.store.close();
  }
});

test('syncse-partial: premises → SynCSE triplets → filtered triplets', { skip: unlessPresent(hasData, `no shared data at ${sharedData}`) }, async () => {
  const server = await startMockLlmServer();
  try {
    const r = await run(server, 'syncse-partial.yaml', ['params.premises=12']);
    assert.equal(r.status, 'ok', JSON.stringify(r.states));
    checkSelection(r, 'syncse-partial.yaml', 'stsb-sickr-dev', /stsb-dev \(dev, used for selection\) \| sickr-dev \(dev, used for selection\) \|$/);
    assert.equal(r.rows('premises', 'sentences').length, 12);
    const triplets = r.rows('annotate', 'triplets');
    assert.ok(triplets.length >= 6, `annotated ${triplets.length}`);
    const clean = r.rows('clean', 'triplets');
    assert.ok(clean.length > 0);
    for (const t of clean) assert.ok(isText(t['anchor']) && isText(t['positive']) && isText(t['negative']));
    checkTrained(r);
    // The embedding rule with the encoder this run trained (nodes/encoders loadEncoder on the exported ONNX).
    const model = r.value('train', 'model');
    assert.equal(model.form, 'file');
    const ctx = fakeContext({ options: {} });
    const out = await runNode(filter, { triplets: rowsValue(clean), model }, { rules: [{ rule: 'embedding' }] }, ctx);
    const kept = out['triplets'] as Row[];
    assert.ok(kept.length <= clean.length);
    assert.equal(ctx.stats.removed?.['1.embedding'], clean.length - kept.length);
    r.close();
  } finally {
    await server.close();
  }
});

test('variant scratch: generated sentences → SynCSE triplets; the same cache reuses unchanged nodes', { skip: unlessPresent(hasData, `no shared data at ${sharedData}`) }, async () => {
  const server = await startMockLlmServer();
  const cacheDir = sharedCache;
  try {
    const set = ['nodes.generate.with.calls_per_genre=1', 'nodes.generate.with.sentences_per_call=2'];
    const r = await run(server, 'syncse-partial.yaml', set, 'scratch', cacheDir);
    assert.equal(r.status, 'ok', JSON.stringify(r.states));
    const sentences = r.rows('generate', 'sentences');
    assert.ok(sentences.length >= 15, `generated ${sentences.length}`);
    for (const s of sentences) assert.ok(isText(s['text']) && isText(s['genre']) && isText(s['topics']));
    assert.ok(r.rows('clean', 'triplets').length > 0);
    checkTrained(r);
    r.close();
    const again = await run(server, 'syncse-partial.yaml', set, 'scratch', cacheDir);
    // Fully successful nodes are cached; a node with failed items (the mock cannot answer every instruction) is
    // 'partial' and only retries those items, from the LLM request cache.
    for (const id of ['generate', 'sentences']) assert.equal(again.states[id], 'cached', `${id}: ${again.states[id]}`);
    for (const id of ['annotate', 'clean']) assert.ok(['cached', 'partial'].includes(again.states[id]!), `${id}: ${again.states[id]}`);
    again.close();
  } finally {
    await server.close();
  }
});

test('dino-x2: x1 → labelled pairs → DINO post-processing', { skip: unlessPresent(hasData, `no shared data at ${sharedData}`) }, async () => {
  const server = await startMockLlmServer();
  try {
    const r = await run(server, 'dino-x2.yaml', ['params.x1=5']);
    assert.equal(r.status, 'ok', JSON.stringify(r.states));
    const raw = r.rows('x2', 'pairs');
    assert.equal(raw.length, 5 * 3 * 2);
    const pairs = r.rows('pairs', 'pairs');
    const labels = new Set(pairs.map((p) => p['label']));
    for (const l of labels) assert.ok([0, 0.1, 0.5, 0.9].includes(l as number), `label ${String(l)}`);
    assert.equal(pairs.filter((p) => p['label'] === 0).length, 2 * new Set(pairs.filter((p) => p['label'] !== 0).map((p) => p['text_a'])).size);
    checkTrained(r);
    checkSelection(r, 'dino-x2.yaml', 'holdout', /stsb-dev \(dev, held out\) \| sickr-dev \(dev, held out\) \|$/);
    r.close();
  } finally {
    await server.close();
  }
});

test('dino-x2 --variant x1x2: x1 written from the three sts-x1 instructions, then x2', { skip: unlessPresent(hasData, `no shared data at ${sharedData}`) }, async () => {
  const server = await startMockLlmServer();
  try {
    const r = await run(server, 'dino-x2.yaml', ['params.x1_per_label=3'], 'x1x2');
    assert.equal(r.status, 'ok', JSON.stringify(r.states));
    const x1 = r.rows('x1_written', 'sentences');
    assert.equal(x1.length, 9);
    assert.deepEqual([...new Set(x1.map((s) => s['task_label']))].sort(), [0, 0.5, 1]);
    const inputs = new Set(r.rows('x2', 'pairs').map((p) => p['text_a']));
    for (const s of r.rows('x1_unique', 'sentences')) assert.ok(inputs.has(s['text']), 'every written x1 is annotated');
    checkTrained(r);
    r.close();
  } finally {
    await server.close();
  }
});

test('multicsr: premises → entailment/contradiction → scores → self-curation', { skip: unlessPresent(hasData, `no shared data at ${sharedData}`) }, async () => {
  const server = await startMockLlmServer({ responder });
  try {
    const r = await run(server, 'multicsr.yaml', ['params.premises=30']);
    assert.equal(r.status, 'ok', JSON.stringify(r.states));
    const scored = r.rows('score', 'scored');
    assert.ok(scored.length > 0);
    for (const s of scored) assert.ok(typeof s['positive_score'] === 'number' && typeof s['negative_score'] === 'number');
    const curated = r.rows('curate', 'triplets');
    for (const t of curated) {
      assert.ok((t['positive_score'] as number) >= 3 && (t['negative_score'] as number) <= 3);
      assert.ok((t['positive_score'] as number) > (t['negative_score'] as number));
    }
    checkTrained(r);
    assert.equal(r.states['frozen'], 'ran', 'an unsupervised SimCSE encoder is trained first');
    const frozen = r.value('frozen', 'model');
    assert.equal(frozen.form === 'file' ? frozen.meta['objective'] : undefined, 'simcse-unsup');
    checkSelection(r, 'multicsr.yaml', 'stsb-dev', /stsb-dev \(dev, used for selection\) \| sickr-dev \(dev, held out\) \|$/);
    r.close();
  } finally {
    await server.close();
  }
});

test('editing one instruction in the pool file re-sends only the calls that used it', { skip: unlessPresent(hasData, `no shared data at ${sharedData}`) }, async () => {
  // Every request is answered with a usable sentence, so every item succeeds and its instruction is known.
  const server = await startMockLlmServer({ responder: (r) => (defaultResponder(r).startsWith('Echo:') ? 'A rewritten sentence.' : defaultResponder(r)) });
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-edit-'));
  cpSync(pipelinesDir, dir, { recursive: true });
  const cacheDir = mkdtempSync(join(tmpdir(), 'synthcse-pipe-'));
  const reg = await registry();
  const sent = () => [...server.stats.received.values()].reduce((a, b) => a + b, 0);
  const runIt = () =>
    runPipeline({
      file: join(dir, 'syncse-partial.yaml'),
      registry: reg,
      set: [`llm.base_url=${server.url}`, 'llm.requests_per_minute=60000', 'llm.tokens_per_minute=100000000', 'params.premises=30'],
      env: { ...process.env, ANTHROPIC_API_KEY: KEY, SYNTHCSE_DATA: sharedData },
      cacheDir,
      only: ['annotate'],
    });
  try {
    const first = await runIt();
    const value = loadValue(first.prepared.store, first.outcomes.get('annotate')!.outputs!['triplets']!);
    const rows = value.form === 'rows' ? value.rows : [];
    first.prepared.store.close();
    assert.equal(rows.length, 30);
    const used = rows.filter((r) => r['positive_instruction'] === 2).length;
    assert.ok(used > 0, 'some premises drew instruction 2');
    const before = sent();
    const file = join(dir, 'prompts/syncse/v1/positive.yaml');
    const old = 'Rewrite the following sentence or phrase using different words and sentence structure while preserving its original meaning.';
    writeFileSync(file, readFileSync(file, 'utf8').replace(old, 'Rewrite the sentence in other words, keeping its meaning.'));
    const second = await runIt();
    second.prepared.store.close();
    // Only the edited instruction's positive requests reach the server; every other request is answered from the
    // LLM request cache (and every other item from the item cache).
    assert.equal(sent() - before, used);
  } finally {
    await server.close();
  }
});
