/**
 * Bookkeeping per run, through the real CLI: two pipelines with a node of the same name share one cache and each
 * `status` shows only its own spend; a rerun that sends nothing reports nothing spent; a killed run lists every node;
 * `runs` lists the runs with their --set values and cost; `report --run` and `report --compare` render them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startMockLlmServer } from '../support/mock-llm-server.js';
import { oneLineResponder } from './crash-scenario.js';
import { collect, FaultProject, pipelineYaml, premises, requestsReceived } from './support.js';

const spentLine = (stdout: string) => /Spent in this run: (\d+) input \+ (\d+) output tokens, \$([\d.]+)/.exec(stdout);

test('spend per run and pipeline, never by node name; runs lists them; report --run and --compare', async () => {
  const server = await startMockLlmServer({ responder: oneLineResponder });
  try {
    const p = new FaultProject();
    p.write('premises.txt', premises(6).join('\n') + '\n');
    p.write('p.yaml', pipelineYaml({ train: false }));
    p.write('q.yaml', pipelineYaml({ train: false }).replace('name: faults', 'name: other').replace('      shots: 2\n', '      shots: 2\n      seed: 7\n'));
    const a = await p.run(['run', 'p.yaml'], server.url);
    assert.equal(a.code, 0, a.stderr);
    const afterA = requestsReceived(server.stats);
    const b = await p.run(['run', 'q.yaml', '--set', 'nodes.annotate.with.concurrency=2'], server.url);
    assert.equal(b.code, 0, b.stderr);
    const q = await p.run(['run', 'q.yaml'], server.url);
    assert.equal(q.code, 0, q.stderr);
    assert.ok(requestsReceived(server.stats) > afterA, 'q paid for its own requests');

    const statusQ = await p.run(['status', 'q.yaml']);
    const statusP = await p.run(['status', 'p.yaml']);
    const spentP = spentLine(statusP.stdout);
    assert.ok(spentP, statusP.stdout);
    assert.ok(Number(spentP[3]) > 0, statusP.stdout);
    // q's last run sent nothing (its answers were cached by the run before): it reports nothing spent.
    assert.match(statusQ.stdout, /Spent in this run: 0 input \+ 0 output tokens, \$0\.0000/, statusQ.stdout);
    assert.match(statusQ.stdout, /annotate +cached/);

    // The same endpoint: base_url joins the LLM nodes' keys, so another one would recompute (and pay) them.
    const again = await p.run(['run', 'p.yaml', '--set', 'nodes.clean.with.rules=[{rule: trim}]'], server.url);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /LLM: 0 requests sent \(\$0\.0000/);

    const runs = await p.run(['runs', '--json']);
    assert.equal(runs.code, 0, runs.stderr);
    const listed = runs.stdout.trim().split('\n').map((l) => JSON.parse(l) as { runId: string; pipeline: string; set: string[]; costUsd: number; requests: number });
    assert.equal(listed.length, 4);
    const [latest, ofQ, ofB, first] = listed;
    assert.deepEqual(ofB!.set, ['nodes.annotate.with.concurrency=2']);
    assert.ok(ofB!.costUsd > 0);
    assert.deepEqual(latest!.set, ['nodes.clean.with.rules=[{rule: trim}]']);
    assert.equal(latest!.requests, 0);
    assert.equal(ofQ!.costUsd, 0);
    assert.ok(first!.costUsd > 0 && first!.pipeline.endsWith('p.yaml'));
    const table = await p.run(['runs', 'p.yaml']);
    assert.match(table.stdout, /^run +started \(UTC\) +pipeline +variant +status +requests +cost +--set/);
    assert.match(table.stdout, /nodes\.clean\.with\.rules=\[\{rule: trim\}\]/);
    assert.equal(table.stdout.trim().split('\n').length, 3, 'header and the two runs of p.yaml');

    const one = await p.run(['report', '--run', first!.runId.slice(0, 8), '--out', 'first.html']);
    assert.equal(one.code, 0, one.stderr);
    assert.match(readFileSync(join(p.dir, 'first.html'), 'utf8'), new RegExp(first!.runId.slice(0, 8)));
    const cmp = await p.run(['report', '--compare', first!.runId.slice(0, 8), latest!.runId.slice(0, 8), '--out', 'cmp.html']);
    assert.equal(cmp.code, 0, cmp.stderr);
    const html = readFileSync(join(p.dir, 'cmp.html'), 'utf8');
    for (const r of [first!, latest!]) assert.ok(html.includes(r.runId.slice(0, 8)));
    assert.match(html, /nodes\.clean\.with\.rules=\[\{rule: trim\}\]/);
    const unknown = await p.run(['report', '--compare', 'ffffffff', first!.runId.slice(0, 8), '--out', 'x.html']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /No run ffffffff/);
  } finally {
    await server.close();
  }
});

test('status after a kill lists every node of the run, the unfinished ones as such', async () => {
  const server = await startMockLlmServer({ responder: oneLineResponder, latencyMs: 400 });
  try {
    const p = new FaultProject();
    p.write('premises.txt', premises(40).join('\n') + '\n');
    p.write('p.yaml', pipelineYaml({ train: false, concurrency: 1 }));
    const child = p.spawn(['run', 'p.yaml'], server.url);
    const done = collect(child);
    while (requestsReceived(server.stats) < 2) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await done;
    const status = await p.run(['status', 'p.yaml']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /not finished \(still running, or killed\)/);
    for (const node of ['premises', 'annotate', 'clean']) assert.match(status.stdout, new RegExp(`^ {2}${node} `, 'm'), status.stdout);
    assert.match(status.stdout, /annotate +not finished/);
  } finally {
    await server.close();
  }
});
