/**
 * The README's main job, as a user runs it: `synthcse run pipelines/syncse-partial.yaml` against an
 * Anthropic-compatible endpoint (the loopback server), on a small subset, ending with the STS table. Then the same
 * command again: nothing is recomputed and no request is sent.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cliPath, repoRoot } from '../engine/support.js';
import { startMockLlmServer } from '../support/mock-llm-server.js';
import { unlessPresent } from '../support/prerequisite.js';

const data = process.env.SYNTHCSE_DATA ?? join(repoRoot, '..', 'shared', 'data');
const hasData = existsSync(join(data, 'unlabeled', 'snli_premises.txt')) && existsSync(join(data, 'stsb', 'dev.tsv'));
const KEY = 'sk-ant-e2e-not-a-real-key-0123456789';

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('the main job runs end to end against the loopback server and prints the STS table', { skip: unlessPresent(hasData, `no data folder at ${data}`), timeout: 15 * 60_000 }, async () => {
  // Like the real API, the server reports its rate limits, so the client does not stay at its cautious starting pace.
  const server = await startMockLlmServer({ apiKey: KEY, reportedRequestsPerMinute: 4000, reportedTokensPerMinute: 2_000_000 });
  try {
    const cache = mkdtempSync(join(tmpdir(), 'synthcse-e2e-'));
    const env = { ...process.env, SYNTHCSE_DATA: data, ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: server.url, SYNTHCSE_CACHE: cache };
    const args = ['run', 'pipelines/syncse-partial.yaml', '--set', 'params.premises=40', '--set', 'nodes.train.with.epochs=1', '--set', 'params.senteval=false'];
    const first = await runCli(args, env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /stsb-dev/i, 'the STS table is printed');
    assert.match(first.stdout, /\|/, 'as a markdown table');
    assert.match(first.stderr, /ran\s+annotate .*40 ran/);
    const sent = server.stats.byRoute['POST /v1/messages'] ?? 0;
    assert.ok(sent >= 80, `one positive and one negative request per premise (${sent})`);

    // The same command again: every node is cached, no request is sent.
    const second = await runCli(args, env);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /cached\s+annotate/);
    assert.match(second.stderr, /cached\s+eval/);
    assert.equal(server.stats.byRoute['POST /v1/messages'] ?? 0, sent);
    assert.match(second.stdout, /stsb-dev/i, 'the table is printed from the cache too');
    assert.ok(!second.stdout.includes(KEY) && !second.stderr.includes(KEY));
  } finally {
    await server.close();
  }
});

test('without an LLM configured, the main job stops before any work and says what to set', () => {
  const env: NodeJS.ProcessEnv = { ...process.env, SYNTHCSE_DATA: data, SYNTHCSE_CACHE: mkdtempSync(join(tmpdir(), "synthcse-e2e-")) };
  delete env.ANTHROPIC_API_KEY;
  delete env.ANTHROPIC_BASE_URL;
  const r = spawnSync(process.execPath, [cliPath, 'run', 'pipelines/syncse-partial.yaml'], { cwd: repoRoot, env, encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /No LLM is configured: set ANTHROPIC_API_KEY/);
  assert.match(r.stderr, /--set llm\.provider=openai-compatible --set llm\.base_url=/);
  assert.doesNotMatch(r.stderr, /ran\s+premises/, 'nothing ran');
});

test('--budget stops before a request could exceed it; a rerun with more budget finishes without paying twice', { skip: unlessPresent(hasData, `no data folder at ${data}`), timeout: 10 * 60_000 }, async () => {
  const server = await startMockLlmServer({ apiKey: KEY, reportedRequestsPerMinute: 4000, reportedTokensPerMinute: 2_000_000 });
  try {
    const cache = mkdtempSync(join(tmpdir(), 'synthcse-e2e-'));
    const env = { ...process.env, SYNTHCSE_DATA: data, ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: server.url, SYNTHCSE_CACHE: cache };
    const args = ['run', 'pipelines/syncse-partial.yaml', '--set', 'params.premises=40', '--set', 'nodes.train.with.epochs=1', '--set', 'params.senteval=false'];
    const capped = await runCli([...args, '--budget', '0.01'], env);
    assert.equal(capped.code, 3, capped.stderr);
    assert.match(capped.stderr, /stopped\s+annotate .*\d+ ran, \d+ not started/);
    assert.match(capped.stderr, /Stopped at the budget of \$0\.01/);
    assert.match(capped.stderr, /skipped\s+train/);
    const paidFirst = server.stats.received.size;
    assert.ok(paidFirst > 0 && paidFirst < 80, `some but not all requests were sent (${paidFirst})`);

    const full = await runCli(args, env);
    assert.equal(full.code, 0, full.stderr);
    assert.match(full.stderr, /ran\s+annotate .*cached/);
    assert.equal(server.stats.resentAfterSuccess, 0, 'no answered request was sent again');
    assert.equal(server.stats.received.size, 80, 'every request sent exactly once over both runs');
  } finally {
    await server.close();
  }
});
