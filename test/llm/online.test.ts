import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startMockLlmServer, type MockLlmServer } from '../support/mock-llm-server.js';
import { paraphraseRequest, tempCache, testService } from '../support/llm-fixtures.js';

describe('anthropic online calls through the SDK', () => {
  let server: MockLlmServer;
  before(async () => {
    server = await startMockLlmServer();
  });
  after(async () => {
    await server.close();
  });

  it('answers, stores usage, and never sends a cached request again', async () => {
    const cache = tempCache();
    try {
      const service = testService(server.url, cache.store);
      const client = service.client('paraphrase');
      const request = paraphraseRequest('A man is playing a big guitar.');
      const first = await client.complete(request, { sample: 0 });
      assert.equal(first.cached, false);
      assert.equal(first.text, 'A guy is playing a large guitar.');
      assert.equal(first.stopReason, 'end_turn');
      assert.equal(first.model, 'claude-haiku-4-5');
      assert.ok(first.usage.input_tokens > 0 && first.usage.output_tokens > 0);
      assert.match(first.requestId ?? '', /^req_/);
      assert.ok(client.isCached(request, 0));
      const second = await client.complete(request, { sample: 0 });
      assert.equal(second.cached, true);
      assert.equal(second.text, first.text);
      assert.equal(second.responseDigest, first.responseDigest);
      await service.close();

      // Another service (another node, pipeline or run) sharing the cache does not pay again.
      const again = testService(server.url, cache.store);
      const third = await again.client('other-node').complete(request, { sample: 0 });
      assert.equal(third.cached, true);
      await again.close();
      assert.equal(server.stats.byRoute['POST /v1/messages'], 1);
      const spend = again.spendByNode();
      assert.equal(spend.length, 1);
      assert.equal(spend[0]!.nodeId, 'paraphrase');
      assert.equal(spend[0]!.requests, 1);
      assert.ok(spend[0]!.costUsd > 0);
    } finally {
      cache.cleanup();
    }
  });
});
