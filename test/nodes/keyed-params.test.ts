/**
 * Reproductions of parameters that were keyed but did not change the output, or changed it without being keyed
 * (issue 11): each fails on the engine and nodes before the fix.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { preparePipeline, runPipeline } from '../../engine/api.js';
import { builtinRegistry } from '../../engine/cli/registry.js';
import { loadValue } from '../../engine/values.js';
import { annotate } from '../../nodes/annotate.js';
import { FakeLlmClient, fakeContext, rowsValue, runNode } from './fake-context.js';
import { pipelinesDir } from './paths.js';

test('load with a relative path that does not exist and a url reads the url', async () => {
  const server = createServer((_req, res) => res.end('one\ntwo\n'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const dir = mkdtempSync(join(tmpdir(), 'synthcse-load-'));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x.txt`;
    writeFileSync(join(dir, 'p.yaml'), `name: p\nnodes:\n  src:\n    type: load\n    with:\n      path: data/x.txt\n      url: ${url}\n`);
    const result = await runPipeline({ file: join(dir, 'p.yaml'), registry: builtinRegistry, cacheDir: join(dir, 'cache') });
    const src = result.outcomes.get('src')!;
    assert.equal(src.state, 'ran', src.diagnostic?.message);
    const rows = loadValue(result.prepared.store, src.outputs!.sentences!);
    assert.deepEqual(rows.form === 'rows' ? rows.rows.map((r) => r.text) : [], ['one', 'two']);
    result.prepared.store.close();
  } finally {
    server.close();
  }
});

test('MultiCSR annotate has no seed to key: its prompts are fixed and its generation greedy', async () => {
  assert.throws(() => annotate.params.parse({ recipe: 'multicsr', seed: 1 }), /seed/);
  const client = new FakeLlmClient(() => 'A sentence.');
  const ctx = fakeContext({ options: {}, baseDir: pipelinesDir, llm: client });
  await runNode(annotate, { sentences: rowsValue([{ text: 'A man walks his dog.' }]) }, { recipe: 'multicsr', samples: 2 }, ctx);
  assert.deepEqual(client.calls.map((c) => c.sample).sort(), [0, 0, 1, 1], '`samples` asks for more draws');
});

test("the embedding filter's batch size is an option: changing it keeps the node key", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-filter-'));
  const pipeline = (batch: number) =>
    `name: p\nnodes:\n  src:\n    type: load\n    with:\n      path: t.tsv\n      kind: triplets\n  base:\n    type: encoder\n  clean:\n    type: filter\n    inputs:\n      triplets: src.triplets\n      model: base.model\n` +
    `    with:\n      rules: [{ rule: embedding, margin: 0 }]\n      embedding_batch_size: ${batch}\n`;
  writeFileSync(join(dir, 't.tsv'), 'anchor\tpositive\tnegative\na\tb\tc\n');
  const params = async (batch: number) => {
    writeFileSync(join(dir, 'p.yaml'), pipeline(batch));
    const prepared = await preparePipeline({ file: join(dir, 'p.yaml'), registry: builtinRegistry, cacheDir: join(dir, 'cache') });
    prepared.store.close();
    const node = prepared.graph.nodes.get('clean')!;
    return { params: node.params, options: node.options };
  };
  const [small, large] = [await params(8), await params(512)];
  assert.deepEqual(small.params, large.params);
  assert.deepEqual([small.options, large.options], [{ embedding_batch_size: 8 }, { embedding_batch_size: 512 }]);
});
