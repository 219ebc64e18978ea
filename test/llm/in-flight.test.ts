/**
 * Calls in flight follow the pace and the observed latency (in flight ≈ rate × latency) unless
 * llm.max_concurrency fixes them: a slow provider with a high limit is not capped at a handful of slots.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_IN_FLIGHT, sizedInFlight } from '../../engine/llm/request-pool.js';
import { startMockLlmServer, type MockLlmServer } from '../support/mock-llm-server.js';
import { paraphraseRequest, tempCache, testService } from '../support/llm-fixtures.js';

describe('calls in flight', () => {
  let server: MockLlmServer;
  before(async () => {
    // 400 ms per answer; the account allows 60,000 requests/min (1,000/s): about 500 in flight reach it.
    server = await startMockLlmServer({ latencyMs: 400, reportedRequestsPerMinute: 60_000, reportedTokensPerMinute: 1_000_000_000 });
  });
  after(() => server.close());

  it('sizes from rate × latency, within bounds', () => {
    assert.equal(sizedInFlight(undefined, 500), DEFAULT_IN_FLIGHT);
    assert.equal(sizedInFlight(60_000, undefined), DEFAULT_IN_FLIGHT);
    assert.equal(sizedInFlight(60, 100), DEFAULT_IN_FLIGHT); // one per second never needs more than the default
    assert.equal(sizedInFlight(4_000, 1_500), Math.ceil((4_000 / 60_000) * 1_500 * 1.25) + 4);
    assert.equal(sizedInFlight(1e9, 60_000), 4096);
  });

  it('without max_concurrency, far more than 16 calls are in flight against a slow endpoint with a high limit', async () => {
    const cache = tempCache();
    try {
      server.stats.maxConcurrent = 0;
      const service = testService(server.url, cache.store, { config: { max_concurrency: undefined, requests_per_minute: undefined, tokens_per_minute: undefined } });
      const client = service.client('wide');
      // A first call teaches the pool the latency and the limit from the headers.
      await client.complete(paraphraseRequest('The first sentence.'), { sample: 0 });
      const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => client.complete(paraphraseRequest(`Sentence ${i}.`), { sample: 0 })));
      assert.equal(answers.length, 300);
      const stats = service.poolStats()['claude-haiku-4-5']!;
      assert.ok(stats.inFlightLimit > 300, `in-flight limit ${stats.inFlightLimit}`);
      assert.ok(server.stats.maxConcurrent > 100, `at most ${server.stats.maxConcurrent} in flight`);
      await service.close();
    } finally {
      cache.cleanup();
    }
  });

  it('llm.max_concurrency is a fixed limit', async () => {
    const cache = tempCache();
    try {
      server.stats.maxConcurrent = 0;
      const service = testService(server.url, cache.store, { config: { max_concurrency: 6, requests_per_minute: undefined, tokens_per_minute: undefined } });
      const client = service.client('fixed');
      await Promise.all(Array.from({ length: 30 }, (_, i) => client.complete(paraphraseRequest(`Fixed ${i}.`), { sample: 0 })));
      assert.ok(server.stats.maxConcurrent <= 6, `at most ${server.stats.maxConcurrent} in flight`);
      assert.equal(service.poolStats()['claude-haiku-4-5']!.inFlightLimit, 6);
      await service.close();
    } finally {
      cache.cleanup();
    }
  });
});
