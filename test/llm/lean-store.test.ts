/**
 * The response store keeps texts shared by many requests (system prompt, few-shot turns) once and the response body
 * compressed, and still gives back every request exactly as it was sent and every body as it was received.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { canonicalJson, sha256, type ItemKey } from '../../engine/json.js';
import { LlmStore } from '../../engine/llm/llm-store.js';
import { keyedCall, prefixDigestOf, requestKeyOf, serializeRequest } from '../../engine/llm/request-key.js';
import type { LlmRequest } from '../../engine/llm/types.js';
import { startMockLlmServer, type MockLlmServer } from '../support/mock-llm-server.js';
import { tempCache, testService } from '../support/llm-fixtures.js';

const SYSTEM = 'You rewrite sentences. Keep the meaning, change the words, and answer with the sentence only, nothing else.';
const SHOTS = Array.from({ length: 6 }, (_, i) => `Exemplar number ${i}: a person is doing something ordinary in a place that is easy to picture, on a quiet afternoon, with nobody else around.`);

function fewShot(i: number): LlmRequest {
  const a = SHOTS[i % SHOTS.length]!;
  const b = SHOTS[(i + 1) % SHOTS.length]!;
  return {
    model: 'claude-haiku-4-5',
    system: SYSTEM,
    messages: [
      { role: 'user', content: a },
      { role: 'assistant', content: b },
      { role: 'user', content: `Sentence ${i}: a dog runs along the beach at sunrise while its owner watches.` },
    ],
    max_tokens: 64,
  };
}

describe('lean response store', () => {
  let server: MockLlmServer;
  before(async () => {
    server = await startMockLlmServer();
  });
  after(() => server.close());

  it('stores shared texts once, compresses bodies, and gives back the exact request and body', async () => {
    const cache = tempCache();
    try {
      const service = testService(server.url, cache.store);
      const client = service.client('lean');
      const requests = Array.from({ length: 30 }, (_, i) => fewShot(i));
      await Promise.all(requests.map((request) => client.complete(request, { sample: 0 })));
      await service.close();

      const store = new LlmStore(cache.store);
      const texts = (cache.store.db.prepare('SELECT count(*) AS n FROM llm_texts').get() as { n: number }).n;
      // The system prompt, and each (role, exemplar) turn: user and assistant turns draw from the same six texts.
      assert.equal(texts, 1 + 2 * SHOTS.length, 'the system prompt and each turn once');
      for (const request of requests) {
        const key = requestKeyOf('anthropic', server.url, request, 0) as ItemKey;
        const stored = store.storedRequest(key);
        assert.deepEqual(stored, request);
        assert.equal(requestKeyOf('anthropic', server.url, stored!, 0), key);
        const row = cache.store.db.prepare('SELECT raw_json, response_digest, length(request_json) AS requestBytes FROM llm_responses WHERE request_key = ?').get(key) as {
          raw_json: Buffer;
          response_digest: string;
          requestBytes: number;
        };
        assert.ok(Buffer.isBuffer(row.raw_json), 'the body is stored compressed');
        assert.equal(sha256(canonicalJson(store.storedRaw(key)!)), row.response_digest);
        assert.ok(row.requestBytes < canonicalJson(request).length / 2, `request stored in ${row.requestBytes} bytes`);
      }
      store.close();
    } finally {
      cache.cleanup();
    }
  });
});

describe('one serialisation per call', () => {
  it('gives the key, the canonical JSON and the prefix digest that serialising each on its own gives', () => {
    const requests: LlmRequest[] = [
      fewShot(1),
      { ...fewShot(2), cache_prefix: true, temperature: 1, top_p: 0.9 },
      { ...fewShot(3), cache_prefix: false, stop: ['\n'] },
      { model: 'm', messages: [{ role: 'user', content: 'x' }], max_tokens: 1, guidance: { type: 'contrastive', omega: 0.5, contrast_prompt: { messages: [{ role: 'user', content: 'y' }] } } },
    ];
    for (const request of requests) {
      for (const endpoint of [null, 'http://127.0.0.1:1/']) {
        const keyed = keyedCall('anthropic', endpoint, request, 3);
        assert.equal(keyed.key, requestKeyOf('anthropic', endpoint, request, 3));
        assert.equal(keyed.key, sha256(canonicalJson({ provider: 'anthropic', endpoint, request: { ...request, cache_prefix: undefined }, sample: 3 })));
        const serialized = serializeRequest(request, keyed.messages);
        assert.equal(serialized.prefixDigest, prefixDigestOf(request));
        assert.deepEqual(serialized, serializeRequest(request));
      }
      const local = keyedCall('local', null, request, 0, 'ab'.repeat(32));
      assert.equal(local.key, sha256(canonicalJson({ provider: 'local', endpoint: null, request: { ...request, cache_prefix: undefined, model: { gguf_sha256: 'ab'.repeat(32) } }, sample: 0 })));
    }
  });
});
