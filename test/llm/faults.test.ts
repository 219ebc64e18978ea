import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Store } from '../../cache/store.js';
import { LlmCallError } from '../../engine/llm/types.js';
import { startMockLlmServer, type MockLlmServer } from '../support/mock-llm-server.js';
import { capturingLogger, paraphraseRequest, tempCache, testService } from '../support/llm-fixtures.js';

describe('retries, rate limits and failures', () => {
  let server: MockLlmServer;
  before(async () => {
    server = await startMockLlmServer();
  });
  after(async () => {
    await server.close();
  });
  beforeEach(() => {
    server.setFaults({ latencyMs: 0, requestsPerSecond: undefined, error500Rate: 0, overloaded529Rate: 0, hangRate: 0, resetRate: 0, malformedRate: 0, alwaysStatus: undefined, retryAfterSeconds: 1, reportRateHeaders: true });
  });

  it('caches each sample index separately', async () => {
    const cache = tempCache();
    try {
      const service = testService(server.url, cache.store);
      const client = service.client('negatives');
      const request = paraphraseRequest('The cat sat on the mat near the door.');
      const answers = await Promise.all([0, 1, 2].map((sample) => client.complete(request, { sample })));
      assert.equal(new Set(answers.map((a) => a.responseDigest)).size, 3);
      assert.equal(new Set(answers.map((a) => a.text)).size, 3);
      assert.equal(new Set([0, 1, 2].map((s) => client.requestKey(request, s))).size, 3);
      const again = await Promise.all([0, 1, 2].map((sample) => client.complete(request, { sample })));
      assert.ok(again.every((a) => a.cached));
      assert.deepEqual(again.map((a) => a.text), answers.map((a) => a.text));
      assert.equal(server.stats.resentAfterSuccess, 0);
      await service.close();
    } finally {
      cache.cleanup();
    }
  });

  it('slows the whole pool down on a 429 storm and still answers every item', async () => {
    const cache = tempCache();
    try {
      // 5/s is below what the client sends even on a loaded machine, so 429s are certain.
      server.setFaults({ requestsPerSecond: 5, reportRateHeaders: false });
      const service = testService(server.url, cache.store, { config: { max_concurrency: 16, requests_per_minute: 60_000 } });
      const client = service.client('storm');
      const started = Date.now();
      const items = Array.from({ length: 25 }, (_, i) => paraphraseRequest(`Storm sentence number ${i}.`));
      const answers = await Promise.all(items.map((request) => client.complete(request, { sample: 0 })));
      const seconds = (Date.now() - started) / 1000;
      assert.equal(answers.length, 25);
      const stats = service.poolStats()['claude-haiku-4-5']!;
      assert.ok(stats.rateLimited > 0, 'the server rate-limited us');
      // 5 in the first second (the bucket), then 5/s: at least 3 s for 25.
      assert.ok(seconds >= 3, `took ${seconds}s`);
      // The pool paused as a whole: 429s stay within a small multiple of the items instead of piling up per retry.
      assert.ok((server.stats.byStatus[429] ?? 0) <= 50, `429s: ${server.stats.byStatus[429]}`);
      assert.ok(stats.pausedMs >= 1000);
      assert.ok(stats.effectiveRequestsPerMinute! < 60_000);
      assert.equal(server.stats.resentAfterSuccess, 0);
      await service.close();
    } finally {
      cache.cleanup();
    }
  });

  it('retries 500 and 529 answers and connection resets', async () => {
    const cache = tempCache();
    try {
      server.setFaults({ error500Rate: 0.3, overloaded529Rate: 0.1, resetRate: 0.1, retryAfterSeconds: 0 });
      const service = testService(server.url, cache.store, { config: { max_attempts: 10 } });
      const client = service.client('flaky');
      const items = Array.from({ length: 40 }, (_, i) => paraphraseRequest(`Flaky sentence ${i}.`));
      const answers = await Promise.all(items.map((request) => client.complete(request, { sample: 0 })));
      assert.equal(answers.length, 40);
      assert.ok((server.stats.byStatus[500] ?? 0) > 0);
      assert.equal(server.stats.resentAfterSuccess, 0);
      await service.close();
    } finally {
      cache.cleanup();
    }
  });

  it('gives up after max_attempts with LlmCallError, caches nothing, and a rerun retries the item', async () => {
    const cache = tempCache();
    try {
      server.setFaults({ alwaysStatus: 500 });
      const service = testService(server.url, cache.store, { config: { max_attempts: 3 } });
      const client = service.client('doomed');
      const request = paraphraseRequest('This one always fails.');
      const before = server.stats.byRoute['POST /v1/messages'] ?? 0;
      await assert.rejects(client.complete(request, { sample: 0 }), (error: unknown) => {
        assert.ok(error instanceof LlmCallError);
        assert.equal(error.reason, 'server-error');
        assert.match(error.message, /Gave up after 3 attempts/);
        return true;
      });
      assert.equal((server.stats.byRoute['POST /v1/messages'] ?? 0) - before, 3);
      assert.equal(client.isCached(request, 0), false);
      server.setFaults({ alwaysStatus: undefined });
      const answer = await client.complete(request, { sample: 0 });
      assert.equal(answer.cached, false);
      await service.close();
    } finally {
      cache.cleanup();
    }
  });

  it('does not retry a 400 and reports invalid-request', async () => {
    const cache = tempCache();
    try {
      server.setFaults({ alwaysStatus: 400 });
      const service = testService(server.url, cache.store);
      const before = server.stats.byRoute['POST /v1/messages'] ?? 0;
      await assert.rejects(service.client('bad').complete(paraphraseRequest('x y z'), { sample: 0 }), { reason: 'invalid-request' });
      assert.equal((server.stats.byRoute['POST /v1/messages'] ?? 0) - before, 1);
      await service.close();
    } finally {
      cache.cleanup();
    }
  });

  it('retries malformed JSON, then fails with malformed-response', async () => {
    const cache = tempCache();
    try {
      server.setFaults({ malformedRate: 1 });
      const service = testService(server.url, cache.store, { config: { max_attempts: 2 } });
      await assert.rejects(service.client('m').complete(paraphraseRequest('Broken body.'), { sample: 0 }), { reason: 'malformed-response' });
      await service.close();
    } finally {
      cache.cleanup();
    }
  });

  it('times out hung requests and retries them', async () => {
    const cache = tempCache();
    try {
      server.setFaults({ hangRate: 1 });
      const service = testService(server.url, cache.store, { config: { max_attempts: 2, timeout_ms: 200 } });
      await assert.rejects(service.client('slow').complete(paraphraseRequest('Never answered.'), { sample: 0 }), { reason: 'timeout' });
      await service.close();
    } finally {
      cache.cleanup();
    }
  });

  it('returns max_tokens cut-offs and empty replies as responses', async () => {
    const local = await startMockLlmServer({ responder: (r) => (r.messages[0]!.content === 'empty' ? '' : 'word '.repeat(100)) });
    const cache = tempCache();
    try {
      const service = testService(local.url, cache.store);
      const client = service.client('edge');
      const cut = await client.complete({ ...paraphraseRequest('long'), max_tokens: 10 }, { sample: 0 });
      assert.equal(cut.stopReason, 'max_tokens');
      const empty = await client.complete(paraphraseRequest('empty'), { sample: 0 });
      assert.equal(empty.text, '');
      assert.equal(empty.stopReason, 'end_turn');
      await service.close();
    } finally {
      cache.cleanup();
      await local.close();
    }
  });

  it('two processes sharing the cache pay once for the same request', async () => {
    const cache = tempCache();
    const otherStore = new Store(cache.dir);
    try {
      server.setFaults({ latencyMs: 300 });
      const a = testService(server.url, cache.store);
      const b = testService(server.url, otherStore);
      const request = paraphraseRequest('Shared by two processes.');
      const before = server.stats.byRoute['POST /v1/messages'] ?? 0;
      const [x, y] = await Promise.all([a.client('n1').complete(request, { sample: 0 }), b.client('n2').complete(request, { sample: 0 })]);
      assert.equal((server.stats.byRoute['POST /v1/messages'] ?? 0) - before, 1);
      assert.equal(x.text, y.text);
      assert.ok(x.cached !== y.cached);
      await a.close();
      await b.close();
    } finally {
      otherStore.close();
      cache.cleanup();
    }
  });

  it('adopts the rate limit the server reports in its headers', async () => {
    const local = await startMockLlmServer({ reportedRequestsPerMinute: 600 });
    const cache = tempCache();
    try {
      const service = testService(local.url, cache.store, { config: { requests_per_minute: undefined }, log: capturingLogger() });
      const client = service.client('h');
      await client.complete(paraphraseRequest('first'), { sample: 0 });
      assert.equal(service.poolStats()['claude-haiku-4-5']!.effectiveRequestsPerMinute, 600);
      await service.close();
    } finally {
      cache.cleanup();
      await local.close();
    }
  });
});
