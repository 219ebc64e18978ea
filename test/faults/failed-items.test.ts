/**
 * Failures that fail, through the real CLI against the loopback server: a run whose items were refused exits 4 and
 * holds back the nodes that read them; --max-failed or the node's max_failed lets it through; the hint about
 * refusals is true (a rerun re-parses the cached answer and fails again, `resample` draws new samples, priced by
 * `plan` first); retries are shown while they happen.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LlmConfigSchema } from '../../engine/llm/config.js';
import { estimateLlmTime } from '../../engine/llm/pace.js';
import { startMockLlmServer, type MockChatRequest } from '../support/mock-llm-server.js';
import { oneLineResponder } from './crash-scenario.js';
import { exportText, failedItems, FaultProject, pipelineYaml, premises } from './support.js';

const PREMISES = 10;
const REFUSED = ['number 0.', 'number 1.', 'number 2.'];

/** Refuses the first sample of every request about the first three premises; later samples are answered. */
function refusingResponder(request: MockChatRequest): string {
  const last = request.messages[request.messages.length - 1]!.content;
  if (request.variant === 0 && REFUSED.some((marker) => last.includes(marker))) return "I'm sorry, but I can't help with that request.";
  return oneLineResponder(request);
}

function project(): FaultProject {
  const p = new FaultProject();
  p.write('premises.txt', premises(PREMISES).join('\n') + '\n');
  p.write('p.yaml', pipelineYaml({ train: false, llm: { backoff_base_ms: 10, backoff_max_ms: 50 } }));
  return p;
}

const messages = (stats: { byRoute: Record<string, number> }) => stats.byRoute['POST /v1/messages'] ?? 0;

test('refused items: exit 4 and downstream held back; allowed shares pass; a rerun is free and says so; resample re-draws them', async () => {
  const server = await startMockLlmServer({ responder: refusingResponder });
  try {
    const p = project();
    const first = await p.run(['run', 'p.yaml'], server.url);
    assert.equal(first.code, 4, first.stderr);
    assert.equal(failedItems(first.stderr).get('annotate')?.count, REFUSED.length, first.stderr);
    assert.match(first.stderr, /- skipped clean .*\n\s+not run: annotate left 3 failed item\(s\) \(30%, more than its max_failed of 0%\)/);
    assert.match(first.stderr, /3 got an answer that was refused or unusable; it is cached, so a rerun gives the same answer/);
    assert.match(first.stderr, /--set nodes\.annotate\.with\.resample=1/);
    const paid = messages(server.stats);

    // The hint is true: rerunning sends nothing and fails the same items.
    const again = await p.run(['run', 'p.yaml'], server.url);
    assert.equal(again.code, 4, again.stderr);
    assert.equal(messages(server.stats), paid, 'a rerun sends no request for refused items');

    // A share of failures can be allowed: on the command line, or per node.
    const allowed = await p.run(['run', 'p.yaml', '--max-failed', '50%'], server.url);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stderr, /✓ ran +clean/);
    const tooStrict = await p.run(['run', 'p.yaml', '--set', 'nodes.annotate.max_failed=0.1'], server.url);
    assert.equal(tooStrict.code, 4, tooStrict.stderr);
    const perNode = await p.run(['run', 'p.yaml', '--set', 'nodes.annotate.max_failed=0.3'], server.url);
    assert.equal(perNode.code, 0, perNode.stderr);
    const badShare = await p.run(['run', 'p.yaml', '--max-failed', 'lots'], server.url);
    assert.equal(badShare.code, 2, badShare.stderr);

    // plan prices the re-sampling before anything is paid: 3 items × 2 requests.
    const plan = await p.run(['plan', 'p.yaml', '--set', 'nodes.annotate.with.resample=1'], server.url);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /6 LLM requests to send \(3 item\(s\) re-sampled after a refused or unusable answer\)/);
    assert.match(plan.stdout, /Estimated LLM time: about \d+ ms for 6 requests, at 600000 requests\/min, set in llm:/);
    assert.equal(messages(server.stats), paid);

    const resampled = await p.run(['run', 'p.yaml', '--set', 'nodes.annotate.with.resample=1'], server.url);
    assert.equal(resampled.code, 0, resampled.stderr);
    assert.equal(messages(server.stats), paid + 6, 'only the refused items are asked again');
    const rows = (await exportText(p, 'annotate', 'triplets')).trim().split('\n');
    assert.equal(rows.length, PREMISES);
    assert.doesNotMatch(rows.join('\n'), /can't help/);
  } finally {
    await server.close();
  }
});

test('plan estimates time from the rate limits: the starting pace without headers, the configured one otherwise', () => {
  const anthropic = LlmConfigSchema.parse({});
  const slow = estimateLlmTime(anthropic, 100, 10_000, 2_000);
  assert.equal(slow.ms, 120_000);
  assert.match(slow.why, /^at 50 requests\/min, the starting pace before the provider's rate-limit headers arrive/);
  const tokenBound = estimateLlmTime(anthropic, 10, 100_000, 0);
  assert.equal(tokenBound.ms, 120_000);
  assert.match(tokenBound.why, /^at 50000 tokens\/min/);
  const configured = estimateLlmTime(LlmConfigSchema.parse({ requests_per_minute: 1000 }), 100, 0, 0);
  assert.equal(configured.ms, 6_000);
  assert.match(configured.why, /set in llm:/);
  const local = estimateLlmTime(LlmConfigSchema.parse({ provider: 'openai-compatible', base_url: 'http://localhost:8080/v1' }), 100, 0, 0);
  assert.equal(local.ms, undefined);
});

test('retries are shown while they happen', async () => {
  const server = await startMockLlmServer({ responder: oneLineResponder, alwaysStatus: 500 });
  try {
    const p = project();
    const r = await p.run(['run', 'p.yaml'], server.url);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /llm: annotate: server-error \(HTTP 500[^)]*\); retry 1 of \d+ in \d+ ms/);
  } finally {
    await server.close();
  }
});
