/**
 * The report of a real run of pipelines/syncse-partial.yaml (real node types, a few premises, the loopback LLM
 * server): the LLM layer's spend, the trainer's curves and the eval node's table end up in the report.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Store } from '../../cache/store.js';
import { builtinRegistry } from '../../engine/cli/registry.js';
import { collectReport } from '../../engine/report/collect.js';
import { repoRoot, Workspace } from '../engine/support.js';
import { startMockLlmServer } from '../support/mock-llm-server.js';
import { unlessPresent } from '../support/prerequisite.js';

const sharedData = process.env.SYNTHCSE_DATA ?? join(repoRoot, '..', 'shared', 'data');
const KEY = 'sk-ant-test-report-0123456789abcdef';
const PIPELINE = join(repoRoot, 'pipelines', 'syncse-partial.yaml');

async function cli(ws: Workspace, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  // Spawned, not spawnSync: the loopback server lives in this process and must keep answering.
  const child = ws.spawn(args, env);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.resume();
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stderr };
}

test('report of a real syncse-partial run', { skip: unlessPresent(existsSync(join(sharedData, 'unlabeled', 'snli_premises.txt')), `no shared data at ${sharedData}`), timeout: 240_000 }, async () => {
  const server = await startMockLlmServer({ apiKey: KEY });
  try {
    const ws = new Workspace();
    const cache = join(ws.dir, 'cache');
    const env = { SYNTHCSE_DATA: sharedData, ANTHROPIC_BASE_URL: server.url, ANTHROPIC_API_KEY: KEY };
    const run = await cli(ws, ['run', PIPELINE, '--cache', cache, '--set', 'params.premises=12', '--set', 'params.senteval=false', '--set', 'llm.requests_per_minute=6000'], env);
    assert.equal(run.code, 0, run.stderr);
    const report = await cli(ws, ['report', PIPELINE, '--cache', cache, '--out', 'report.html'], env);
    assert.equal(report.code, 0, report.stderr);
    const html = readFileSync(join(ws.dir, 'report.html'), 'utf8');
    assert.ok(!html.includes(KEY), 'the API key is not in the report');
    assert.match(html, /<section class="card" id="spend"><h2>LLM cost and requests over time/);
    assert.match(html, /Rows removed by each rule/);

    const store = new Store(cache);
    try {
      const data = await collectReport({ store, registry: await builtinRegistry(), pipelineFile: PIPELINE });
      assert.equal(data.run.pipelineName, 'syncse-partial');
      assert.deepEqual(data.nodes.map((n) => n.id), ['premises', 'baseline', 'annotate', 'clean', 'train', 'eval']);
      const annotate = data.nodes.find((n) => n.id === 'annotate')!;
      assert.equal(annotate.rowsIn, 12);
      assert.ok(annotate.llm && annotate.llm.requests > 0 && annotate.llm.inputTokens > 0, 'the LLM spend of annotate');
      assert.equal(annotate.llm.model, 'claude-haiku-4-5');
      assert.ok(annotate.items.ran + annotate.items.failed === 12);
      const clean = data.nodes.find((n) => n.id === 'clean')!;
      assert.equal(clean.rowsIn, annotate.rowsOut);
      assert.ok(data.curves.some((c) => c.nodeId === 'train' && c.name === 'loss' && c.points.length > 0), 'the training loss curve');
      assert.ok(data.curves.some((c) => c.nodeId === 'train' && c.name !== 'loss' && c.points.length > 0), 'a dev curve');
      const sts = data.sections.find((s) => s.nodeId === 'eval' && s.title.startsWith('STS results'));
      assert.ok(sts?.tables?.[0], 'the eval node contributes its table');
      const table = sts.tables[0];
      assert.ok(table.header.includes('stsb-dev (dev, used for selection)'), 'SynCSE selects on STS-B and SICK-R dev, and the table says so');
      assert.ok(table.header.includes('sickr-dev (dev, used for selection)'));
      const dev = table.header.indexOf('stsb-dev (dev, used for selection)');
      assert.ok(table.rows.some((r) => Number.isFinite(Number(r[dev]))));
      const yields = data.sections.find((s) => s.nodeId === 'annotate' && s.title.startsWith('Yield per instruction'));
      assert.ok(yields?.tables?.[0]?.rows.length, 'annotate reports its yield per instruction');
      assert.ok(data.spendOverTime.length > 1, 'cost and requests over time');
    } finally {
      store.close();
    }
  } finally {
    await server.close();
  }
});
