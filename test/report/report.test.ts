/**
 * `synthcse report` from real runs of the toy pipeline: what the report data says about each node (collected in
 * process from the same cache), and what the written page contains (escaping, no secrets, no remote resources).
 */
import assert from 'node:assert/strict';
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Store } from '../../cache/store.js';
import { builtinRegistry } from '../../engine/cli/registry.js';
import { collectReport } from '../../engine/report/collect.js';
import type { ReportData, ReportNode } from '../../engine/report/types.js';
import type { Workspace } from '../engine/support.js';
import { toyWorkspace } from './support.js';

const ENV_SECRET = 'sk-ant-api03-envsecretvalue0123456789';
const ARGV_SECRET = 'sk-ant-api03-argvsecretvalue987654321';

async function collect(ws: Workspace, file: string): Promise<ReportData> {
  const store = new Store(join(ws.dir, '.synthcse'));
  try {
    return await collectReport({ store, registry: await builtinRegistry(), pipelineFile: file });
  } finally {
    store.close();
  }
}

function node(data: ReportData, id: string): ReportNode {
  const found = data.nodes.find((n) => n.id === id);
  assert.ok(found, `node ${id} is in the report`);
  return found;
}

test('a finished run: states, rows in and out, removal reasons, spend, curves, STS table, samples', async () => {
  const { ws, file } = toyWorkspace();
  const run = ws.run(['run', file]);
  assert.equal(run.code, 0, run.stderr);
  const data = await collect(ws, file);

  assert.equal(data.run.pipelineName, 'toy-syncse');
  assert.equal(data.run.status, 'ok');
  assert.deepEqual(data.levels, [['sentences'], ['pairs'], ['clean'], ['train'], ['eval']]);
  assert.deepEqual(data.nodes.map((n) => n.state), ['ran', 'ran', 'ran', 'ran', 'ran']);
  assert.equal(data.edges.length, 4);

  assert.equal(node(data, 'sentences').rowsIn, null);
  assert.equal(node(data, 'sentences').rowsOut, 24);
  assert.deepEqual([node(data, 'pairs').rowsIn, node(data, 'pairs').rowsOut], [24, 24]);
  assert.deepEqual(node(data, 'pairs').items, { cached: 0, ran: 24, failed: 0 });
  const clean = node(data, 'clean');
  const removed = Object.values(clean.removed).reduce((s, n) => s + n, 0);
  assert.equal(clean.removed.refusals, 2);
  assert.ok(removed > 0);
  assert.equal(clean.rowsIn! - clean.rowsOut!, removed, 'every removed row has a reason');
  assert.equal(node(data, 'train').rowsOut, null, 'a model is a file, not rows');
  assert.equal(node(data, 'train').outputs[0]!.form, 'file');

  const spend = node(data, 'pairs').llm;
  assert.ok(spend && spend.costUsd > 0 && spend.requests === 24);
  assert.equal(data.totals.costUsd, spend.costUsd);

  assert.deepEqual(data.curves.map((c) => `${c.nodeId}.${c.name}`), ['train.loss', 'train.dev']);
  assert.ok(data.curves.every((c) => c.points.length > 0));
  assert.deepEqual(data.sections.map((s) => `${s.nodeId}: ${s.title}`), ['eval: Toy results'], 'sections come from the node types');
  const results = data.sections[0]!.tables![0]!;
  assert.deepEqual(results.header, ['Model', 'sickr', 'stsb-dev']);
  assert.deepEqual(results.rows.map((r) => r[0]), ['GloVe avg (baseline)', 'toy-model'], 'the baseline row first');
  assert.deepEqual(data.samples.map((s) => `${s.nodeId}.${s.port}`), ['sentences.sentences', 'pairs.pairs', 'clean.pairs', 'eval.metrics']);
  assert.ok(data.samples.every((s) => s.rows.length <= 5));

  // A rerun reuses everything: nothing is spent now, the earlier spend is still shown.
  assert.equal(ws.run(['run', file]).code, 0);
  const again = await collect(ws, file);
  assert.deepEqual(again.nodes.map((n) => n.state), ['cached', 'cached', 'cached', 'cached', 'cached']);
  assert.deepEqual(again.spendOverTime, [], 'nothing was paid in the rerun');
  assert.equal(again.totals.costUsd, 0);
  assert.equal(again.totals.costUsdAllResults, spend.costUsd);
  assert.ok(again.nodes.every((n) => n.originalMs !== null));
});

test('the page is self-contained, escapes text and carries no secrets', () => {
  const { ws, file } = toyWorkspace();
  const env = { ANTHROPIC_API_KEY: ENV_SECRET };
  const run = ws.run(['run', file, '--set', `params.note=${ARGV_SECRET}`], env);
  assert.equal(run.code, 0, run.stderr);
  const report = ws.run(['report', file, '--out', 'report.html'], env);
  assert.equal(report.code, 0, report.stderr);
  assert.match(report.stderr, /Wrote report\.html: run [0-9a-f]{8} of toy-syncse/);
  const html = readFileSync(join(ws.dir, 'report.html'), 'utf8');

  assert.ok(!html.includes(ENV_SECRET) && !html.includes(ARGV_SECRET), 'no API key in the page');
  assert.match(html, /\[redacted\]/, 'the key on the command line is shown redacted');
  assert.ok(html.includes('A child&#39;s kite &lt;b&gt;flies&lt;/b&gt; over the beach.'));
  assert.ok(html.includes('Two dogs run through the &quot;tall&quot; grass.'));
  assert.ok(html.includes('The ratio is &lt; 1 &amp; the result &gt; 0.'));
  assert.ok(!html.includes('<b>flies</b>'));
  assert.doesNotMatch(html, /<(script|link|img)[^>]+(src|href)=["']?https?:/i, 'nothing is loaded from the network');
  assert.match(html, /<svg class="dag"/);
  assert.match(html, /<section class="card node-section" id="section-0" data-node="eval"><h2>Toy results/);
  assert.match(html, /<tr class="baseline"><td class="">GloVe avg \(baseline\)/);
});

test('a failed run: the failing node, the nodes it held back, and what ran before it', async () => {
  const { ws, file } = toyWorkspace({ trainFailsWith: 'the toy trainer refuses' });
  const run = ws.run(['run', file]);
  assert.equal(run.code, 1, run.stderr);
  const data = await collect(ws, file);
  assert.equal(data.run.status, 'failed');
  assert.deepEqual(data.nodes.map((n) => [n.id, n.state]), [['sentences', 'ran'], ['pairs', 'ran'], ['clean', 'ran'], ['train', 'failed'], ['eval', 'skipped']]);
  assert.ok(node(data, 'train').rowsIn! > 0, 'rows into the failed node are known');
  assert.deepEqual(data.curves, []);
  assert.deepEqual(data.sections, []);
  const report = ws.run(['report', file, '--out', 'report.html']);
  assert.equal(report.code, 0, report.stderr);
  assert.match(report.stderr, /the run failed/);
});

test('a pipeline file that moved: the DAG is inferred from the recorded inputs', async () => {
  const { ws, file } = toyWorkspace();
  assert.equal(ws.run(['run', file]).code, 0);
  renameSync(file, join(ws.dir, 'moved.yaml'));
  const store = new Store(join(ws.dir, '.synthcse'));
  try {
    const data = await collectReport({ store, registry: await builtinRegistry() });
    assert.match(data.notes.join(' '), /inferred from the recorded inputs/);
    assert.deepEqual(data.levels, [['sentences'], ['pairs'], ['clean'], ['train'], ['eval']]);
    assert.deepEqual(data.edges.map((e) => `${e.from}.${e.fromPort}→${e.to}.${e.toPort}`), ['sentences.sentences→pairs.sentences', 'pairs.pairs→clean.pairs', 'clean.pairs→train.data', 'train.model→eval.model']);
    assert.equal(node(data, 'clean').rowsIn, 24);
  } finally {
    store.close();
  }
});

test('report without any run says so', () => {
  const { ws, file } = toyWorkspace();
  ws.run(['plan', file]);
  const report = ws.run(['report', file, '--out', 'report.html']);
  assert.notEqual(report.code, 0);
  assert.match(report.stderr, /No (run|cache)/);
});
