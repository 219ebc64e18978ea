/**
 * Guarantee 7 (provider faults), through the real CLI against the loopback server: timeouts, connection resets,
 * 429 storms, 500/529 bursts and malformed JSON bodies. The run either finishes (faults absorbed by retries) or
 * stops cleanly with the failed items listed by reason; a rerun once the provider is healthy completes the dataset,
 * equal to a fault-free run's, and no request that was answered successfully is sent again.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { startMockLlmServer, type MockFaults, type MockLlmServer } from '../support/mock-llm-server.js';
import { oneLineResponder } from './crash-scenario.js';
import { exportText, failedItems, FaultProject, hasStackTrace, pipelineYaml, premises, type CliResult } from './support.js';

const PREMISES = 10;
/** A long timeout except where timeouts are the fault under test: a loaded CI machine must not add timeouts. */
const LLM = { timeout_ms: 30000, max_attempts: 4, backoff_base_ms: 10, backoff_max_ms: 100 };
let expected: string;

function project(llm: Record<string, number> = {}): FaultProject {
  const p = new FaultProject();
  p.write('premises.txt', premises(PREMISES).join('\n') + '\n');
  p.write('p.yaml', pipelineYaml({ train: false, llm: { ...LLM, ...llm } }));
  return p;
}

function assertClean(r: CliResult): void {
  const out = r.stdout + r.stderr;
  assert.ok(!hasStackTrace(out), out);
  assert.doesNotMatch(out, /Internal error|looks like a bug/, out);
}

before(async () => {
  const server = await startMockLlmServer({ responder: oneLineResponder });
  try {
    const p = project();
    const r = await p.run(['run', 'p.yaml'], server.url);
    assert.equal(r.code, 0, r.stderr);
    expected = await exportText(p, 'annotate', 'triplets');
    assert.equal(expected.trim().split('\n').length, PREMISES);
  } finally {
    await server.close();
  }
});

/**
 * Runs under the given faults (optionally lifted after `liftAfterMs`), then checks: a clean end, every failure
 * listed with its reason, and a healthy rerun that completes the same dataset without re-paying answered requests.
 */
async function underFaults(faults: Partial<MockFaults>, reasons: RegExp, liftAfterMs?: number, llm: Record<string, number> = {}): Promise<{ first: CliResult; failed: number }> {
  const server: MockLlmServer = await startMockLlmServer({ responder: oneLineResponder, seed: 3, ...faults });
  try {
    const p = project(llm);
    // A storm is lifted `liftAfterMs` after the first request it turned away (process start-up time varies).
    let lift: NodeJS.Timeout | undefined;
    const watch = setInterval(() => {
      if (liftAfterMs === undefined || lift !== undefined || [...server.stats.received.values()].length === 0) return;
      lift = setTimeout(() => server.setFaults({ alwaysStatus: undefined }), liftAfterMs);
    }, 10);
    const first = await p.run(['run', 'p.yaml'], server.url);
    clearInterval(watch);
    clearTimeout(lift);
    assertClean(first);
    const faulted = Object.entries(server.stats.byStatus).filter(([status]) => status !== '200').reduce((n, [, k]) => n + k, 0);
    const received = [...server.stats.received.values()].reduce((a, b) => a + b, 0);
    assert.ok(faulted > 0 || received > (server.stats.byStatus[200] ?? 0), 'faults were injected');
    const failed = failedItems(first.stderr).get('annotate');
    // Failed items fail the run (exit 4) unless allowed; a run without any finishes with 0.
    assert.equal(first.code, failed ? 4 : 0, first.stderr);
    if (failed) assert.match(first.stderr, /got no answer: running the same command again sends only those/);
    if (failed) assert.match(failed.reasons, reasons, first.stderr);
    const rows = (await exportText(p, 'annotate', 'triplets')).trim().split('\n').filter(Boolean).length;
    assert.equal(rows + (failed?.count ?? 0), PREMISES, 'every item is either in the dataset or listed as failed');

    server.setFaults({ hangRate: 0, resetRate: 0, error500Rate: 0, overloaded529Rate: 0, malformedRate: 0, alwaysStatus: undefined, requestsPerSecond: undefined });
    const second = await p.run(['run', 'p.yaml'], server.url);
    assertClean(second);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(failedItems(second.stderr).size, 0, second.stderr);
    assert.equal(await exportText(p, 'annotate', 'triplets'), expected, 'the dataset equals a fault-free run');
    assert.equal(server.stats.resentAfterSuccess, 0, 'no successfully answered request was sent again');
    return { first, failed: failed?.count ?? 0 };
  } finally {
    await server.close();
  }
}

test('timeouts and connection resets: retried, the run finishes, failures (if any) listed', async () => {
  // Hung requests are given up after 1.5 s.
  await underFaults({ hangRate: 0.25, resetRate: 0.25 }, /timeout|network/, undefined, { timeout_ms: 1500 });
});

test('a 429 storm: the pool waits (retry-after) and the run finishes once it passes', async () => {
  const { failed } = await underFaults({ alwaysStatus: 429, retryAfterSeconds: 1 }, /rate-limited/, 1500);
  assert.equal(failed, 0, 'a storm shorter than the retry budget loses nothing');
});

test('500 and 529 bursts and malformed JSON bodies: retried, the run finishes, failures (if any) listed', async () => {
  await underFaults({ error500Rate: 0.3, overloaded529Rate: 0.2, malformedRate: 0.2, retryAfterSeconds: 0 }, /server-error|rate-limited|malformed/);
});

test('a provider that keeps failing: the run stops cleanly with every item listed; a rerun completes the dataset', async () => {
  const { failed } = await underFaults({ alwaysStatus: 500 }, /server-error/);
  assert.equal(failed, PREMISES);
});

test('a rejected API key: the run stops before any paid request, naming the URL and the fix; a rerun with a good key completes', async () => {
  const server = await startMockLlmServer({ responder: oneLineResponder, apiKey: 'sk-ant-the-right-key' });
  try {
    const p = project();
    const started = Date.now();
    const first = await p.run(['run', 'p.yaml'], server.url, { ANTHROPIC_API_KEY: 'sk-ant-a-wrong-key' });
    assertClean(first);
    assert.ok(Date.now() - started < 10_000, 'stops within seconds');
    assert.equal(first.code, 1, first.stderr);
    assert.ok(first.stderr.includes(`The LLM endpoint ${server.url} rejected the key (HTTP 401)`), first.stderr);
    assert.match(first.stderr, /Set ANTHROPIC_API_KEY to a valid key/);
    assert.doesNotMatch(first.stderr, /sk-ant-a-wrong-key/, 'the key is never printed');
    assert.equal(server.stats.byRoute['POST /v1/messages'] ?? 0, 0, 'no messages request was sent');
    const second = await p.run(['run', 'p.yaml'], server.url, { ANTHROPIC_API_KEY: 'sk-ant-the-right-key' });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(await exportText(p, 'annotate', 'triplets'), expected);
  } finally {
    await server.close();
  }
});

test('an endpoint that is down: the run stops within seconds with the URL and the fix, exit 1, nothing sent', async () => {
  const server = await startMockLlmServer({ responder: oneLineResponder });
  const url = server.url;
  await server.close();
  const p = project();
  const started = Date.now();
  const r = await p.run(['run', 'p.yaml'], url);
  assertClean(r);
  assert.ok(Date.now() - started < 10_000, `stops within seconds (${Date.now() - started} ms)`);
  assert.equal(r.code, 1, r.stderr);
  assert.ok(r.stderr.includes(`Cannot reach the LLM endpoint ${url}`), r.stderr);
  assert.match(r.stderr, /fix: Start the server or correct ANTHROPIC_BASE_URL/);
});
