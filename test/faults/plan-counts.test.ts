/**
 * `plan` is what the run then does, whatever the cache holds: a new cache (no request is keyed: nothing can be
 * cached), a cache of other requests' answers (every request keyed and looked up), and a partly answered node (with
 * few answers beside its requests, those ruled out by the answered turns are not even keyed). The
 * run after each plan sends exactly the requests the plan counted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startMockLlmServer } from '../support/mock-llm-server.js';
import { oneLineResponder } from './crash-scenario.js';
import { FaultProject, pipelineYaml, premises } from './support.js';

const messages = (stats: { byRoute: Record<string, number> }) => stats.byRoute['POST /v1/messages'] ?? 0;

test('plan counts exactly on a new cache, beside unrelated answers and when partly answered; the run sends what it counted', async () => {
  const server = await startMockLlmServer({ responder: oneLineResponder });
  try {
    const p = new FaultProject();
    p.write('p.yaml', pipelineYaml({ train: false }));
    p.write('premises.txt', premises(10).join('\n') + '\n');

    const fresh = await p.run(['plan', 'p.yaml'], server.url);
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.match(fresh.stdout, /annotate +will run 10 items ~\$\d/);
    assert.match(fresh.stdout, /20 LLM requests to send/);

    // Answers to other requests (another max_tokens: other keys, other prefixes): the same plan, to the cent (only the
    // load node, run by then, is cached).
    const other = await p.run(['run', 'p.yaml', '--only', 'annotate', '--set', 'nodes.annotate.with.max_tokens=200'], server.url);
    assert.equal(other.code, 0, other.stderr);
    assert.equal(messages(server.stats), 20);
    const beside = await p.run(['plan', 'p.yaml'], server.url);
    assert.equal(beside.code, 0, beside.stderr);
    const withoutLoad = (stdout: string) => stdout.replace(/^ +premises .*\n/m, '');
    assert.equal(withoutLoad(beside.stdout), withoutLoad(fresh.stdout));

    // Four premises answered, then ten planned: the six new ones are counted, and the run sends exactly those.
    p.write('premises.txt', premises(4).join('\n') + '\n');
    assert.equal((await p.run(['run', 'p.yaml', '--only', 'annotate'], server.url)).code, 0);
    assert.equal(messages(server.stats), 28);
    p.write('premises.txt', premises(10).join('\n') + '\n');
    const partial = await p.run(['plan', 'p.yaml'], server.url);
    assert.equal(partial.code, 0, partial.stderr);
    assert.match(partial.stdout, /annotate +partial: 4 of 10 cached/);
    assert.match(partial.stdout, /12 LLM requests to send/);
    const run = await p.run(['run', 'p.yaml', '--only', 'annotate'], server.url);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(messages(server.stats), 40);
    const after = await p.run(['plan', 'p.yaml', '--only', 'annotate'], server.url);
    assert.match(after.stdout, /annotate +cached/);

    // Few answers beside the node's requests (40 of 100): the answered requests' turns rule the others out before
    // they are keyed; the ten answered premises are still found, and the run sends exactly the rest.
    p.write('premises.txt', premises(50).join('\n') + '\n');
    const few = await p.run(['plan', 'p.yaml'], server.url);
    assert.equal(few.code, 0, few.stderr);
    assert.match(few.stdout, /annotate +partial: 10 of 50 cached/);
    assert.match(few.stdout, /80 LLM requests to send/);
    assert.equal((await p.run(['run', 'p.yaml', '--only', 'annotate'], server.url)).code, 0);
    assert.equal(messages(server.stats), 120);
  } finally {
    await server.close();
  }
});
