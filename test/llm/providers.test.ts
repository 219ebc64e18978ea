import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { canonicalJson } from '../../engine/json.js';
import { LlmConfigSchema, llmConfigProblem, llmServiceKey } from '../../engine/llm/service.js';
import { toMessageParams } from '../../engine/llm/providers/anthropic.js';
import { LlmEndpointError, type LlmRequest } from '../../engine/llm/types.js';
import { startMockLlmServer, type MockLlmServer } from '../support/mock-llm-server.js';
import { TEST_KEY, capturingLogger, paraphraseRequest, tempCache, testService } from '../support/llm-fixtures.js';

describe('providers, validation, budget and secrets', () => {
  let server: MockLlmServer;
  before(async () => {
    server = await startMockLlmServer();
  });
  after(async () => {
    await server.close();
  });

  it('talks to an openai-compatible server with an optional key from a named env var', async () => {
    const cache = tempCache();
    try {
      const service = testService(`${server.url}/v1`, cache.store, {
        config: { provider: 'openai-compatible', model: 'local-llama', api_key_env: 'LOCAL_KEY' },
        env: { LOCAL_KEY: 'local-secret-123' },
      });
      const client = service.client('oa');
      assert.equal(client.provider, 'openai-compatible');
      const request: LlmRequest = { ...paraphraseRequest('The small child is happy.', 'local-llama'), temperature: 1.3, presence_penalty: 0.3, frequency_penalty: 0.3 };
      assert.deepEqual(client.validate(request), []);
      const answer = await client.complete(request, { sample: 0 });
      assert.equal(answer.text, 'The little kid is glad.');
      assert.equal(answer.stopReason, 'end_turn');
      assert.equal(answer.model, 'local-llama');
      assert.ok(answer.usage.input_tokens > 0);
      assert.equal((await client.complete(request, { sample: 0 })).cached, true);
      // Same request, other provider: another cache key.
      const anthropic = testService(server.url, cache.store).client('an');
      assert.notEqual(anthropic.requestKey(request, 0), client.requestKey(request, 0));
      assert.equal(server.stats.byRoute['POST /v1/chat/completions'], 1);
      await service.close();
    } finally {
      cache.cleanup();
    }
  });

  it('reports unsupported sampling parameters at plan time', () => {
    const cache = tempCache();
    try {
      const anthropic = testService(server.url, cache.store).client('a');
      const request: LlmRequest = { ...paraphraseRequest('x'), temperature: 1, top_p: 0.9, presence_penalty: 0.3, frequency_penalty: 0.3 };
      const problems = anthropic.validate(request);
      assert.ok(problems.some((p) => p.startsWith('presence_penalty')));
      assert.ok(problems.some((p) => p.startsWith('frequency_penalty')));
      assert.ok(problems.some((p) => p.startsWith('temperature is rejected by Anthropic API version 2026-10-21')));
      // The old API version accepts temperature, but not together with top_p on 4.5 models.
      const old = testService(server.url, cache.store, { config: { anthropic_version: '2023-06-01' } }).client('a');
      assert.deepEqual(old.validate({ ...paraphraseRequest('x'), temperature: 1 }), []);
      assert.ok(old.validate({ ...paraphraseRequest('x'), temperature: 1, top_p: 0.9 }).some((p) => p.includes('temperature and top_p together')));
      const openai = testService(server.url, cache.store, { config: { provider: 'openai-compatible', model: 'gpt-4o-mini' } }).client('o');
      assert.deepEqual(openai.validate({ ...paraphraseRequest('x', 'gpt-4o-mini'), top_k: 40, min_p: 0.05 }), [], 'vLLM and llama.cpp accept top_k and min_p');
      assert.ok(openai.validate({ ...paraphraseRequest('x', 'gpt-4o-mini'), min_p: 2 }).some((p) => p.startsWith('min_p')));
      assert.ok(anthropic.validate({ ...paraphraseRequest('x'), min_p: 0.1 }).some((p) => p.startsWith('min_p')));
      const openaiBatch = testService(server.url, cache.store, { config: { provider: 'openai-compatible', model: 'gpt-4o-mini' } }).client('o', { mode: 'batch' });
      assert.ok(openaiBatch.validate(paraphraseRequest('x', 'gpt-4o-mini')).some((p) => p.includes('mode: batch is not available')));
    } finally {
      cache.cleanup();
    }
  });

  it('sends temperature when the pipeline pins API version 2023-06-01', async () => {
    const cache = tempCache();
    try {
      const service = testService(server.url, cache.store, { config: { anthropic_version: '2023-06-01' } });
      const answer = await service.client('t').complete({ ...paraphraseRequest('A sad woman waits.'), temperature: 1 }, { sample: 0 });
      assert.equal(answer.text, 'A unhappy lady waits.');
      await service.close();
    } finally {
      cache.cleanup();
    }
  });

  it('marks the system prompt and few-shot turns for prompt caching and records the savings', async () => {
    const cache = tempCache();
    try {
      const longSystem = 'Please paraphrase the input sentence. '.repeat(500);
      const shots = [
        { role: 'user' as const, content: 'A man eats.' },
        { role: 'assistant' as const, content: 'A guy has a meal.' },
      ];
      const request = (s: string): LlmRequest => ({ model: 'claude-haiku-4-5', system: longSystem, messages: [...shots, { role: 'user', content: s }], max_tokens: 50, cache_prefix: true });
      const params = toMessageParams(request('x'));
      assert.ok(Array.isArray(params.system) && params.system[0]!.cache_control !== undefined);
      assert.ok(Array.isArray(params.messages[1]!.content));
      // Too short to be cached: left unmarked.
      assert.equal(typeof toMessageParams({ ...request('x'), system: 'short' }).system, 'string');
      const service = testService(server.url, cache.store);
      const client = service.client('cached-prefix');
      // cache_prefix changes the price, not the answer: it is not part of the key.
      assert.equal(client.requestKey(request('x'), 0), client.requestKey({ ...request('x'), cache_prefix: false }, 0));
      const first = await client.complete(request('The first sentence.'), { sample: 0 });
      const second = await client.complete(request('The second sentence.'), { sample: 0 });
      assert.ok(first.usage.cache_creation_input_tokens > 0);
      assert.ok(second.usage.cache_read_input_tokens > 0);
      const spend = service.spendByNode()[0]!;
      assert.ok(spend.cacheSavingsUsd > 0);
      await service.close();
    } finally {
      cache.cleanup();
    }
  });

  it('plans requests as estimate() prices them: on a new cache, then with some answered', async () => {
    const cache = tempCache();
    try {
      const service = testService(server.url, cache.store);
      const client = service.client('planner');
      const requests = Array.from({ length: 6 }, (_, i) => ({ request: { ...paraphraseRequest(`Planned sentence ${i}.`), max_tokens: 40 }, sample: 0 }));
      const total = (planner: ReturnType<typeof client.planner>) => {
        const sum = { requests: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
        for (const { request, sample } of requests) {
          if (planner.isCached(request, sample)) continue;
          const one = planner.cost(request);
          sum.requests++;
          sum.inputTokens += one.inputTokens;
          sum.outputTokens += one.outputTokens;
          sum.costUsd += one.costUsd;
        }
        return sum;
      };
      // A new cache: no key is looked up, and each request is priced at max_tokens, as estimate() does.
      assert.deepEqual(total(client.planner(6)), client.estimate(requests));
      assert.equal(total(client.planner(6)).outputTokens, 6 * 40);
      for (const { request, sample } of requests.slice(0, 2)) await client.complete(request, { sample });
      // Two answered: exactly the other four are planned, with the mean output length of the answered prefix, whether
      // the planner reads the answered keys at once (the cache holds few) or asks per request (it holds many).
      for (const planner of [client.planner(6), client.planner(0)]) {
        const planned = total(planner);
        assert.deepEqual(planned, client.estimate(requests));
        assert.equal(planned.requests, 4);
        assert.ok(planned.outputTokens < 4 * 40);
      }
      await client.complete(requests[2]!.request, { sample: 0 });
      assert.equal(total(client.planner(6)).requests, 3);
      assert.equal(total(client.planner(0)).requests, 3);
      await service.close();
    } finally {
      cache.cleanup();
    }
  });

  it('plans requests whose few-shot turns are shared frozen messages (SynCSE) as estimate() prices their copies', async () => {
    const cache = tempCache();
    try {
      const service = testService(server.url, cache.store);
      const client = service.client('planner');
      // Two shots every request shares (as a SynCSE exemplar pool gives them), then the request's own turn.
      const shots = [Object.freeze({ role: 'user' as const, content: 'Input: "A \\"quoted\\" man."' }), Object.freeze({ role: 'assistant' as const, content: 'A man.' })];
      const requests = Array.from({ length: 6 }, (_, i) => ({
        request: { ...paraphraseRequest(`Shot sentence ${i}.`), messages: [...shots, { role: 'user' as const, content: `Shot sentence ${i}.` }], max_tokens: 40 },
        sample: 0,
      }));
      // Copies with nothing frozen or shared: the same keys (no cache is invalidated) and the same prices.
      const copies = requests.map(({ request, sample }) => ({ request: structuredClone(request), sample }));
      requests.forEach(({ request, sample }, i) => assert.equal(client.requestKey(request, sample), client.requestKey(copies[i]!.request, sample)));
      const total = (planner: ReturnType<typeof client.planner>) => {
        const sum = { requests: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
        for (const { request, sample } of requests) {
          if (planner.isCached(request, sample)) continue;
          const one = planner.cost(request);
          sum.requests++;
          sum.inputTokens += one.inputTokens;
          sum.outputTokens += one.outputTokens;
          sum.costUsd += one.costUsd;
        }
        return sum;
      };
      for (const { request, sample } of copies.slice(0, 2)) await client.complete(request, { sample });
      // The answered copies' prefix is the shared one: its mean output length prices the four others.
      for (const planner of [client.planner(6), client.planner(0)]) {
        const planned = total(planner);
        assert.deepEqual(planned, client.estimate(copies));
        assert.equal(planned.requests, 4);
        assert.ok(planned.outputTokens < 4 * 40);
      }
      await service.close();
    } finally {
      cache.cleanup();
    }
  });

  it('plans exactly whatever the answered requests look like: turns stored inline (before they were shared), the same last turn', async () => {
    const cache = tempCache();
    try {
      const service = testService(server.url, cache.store);
      const client = service.client('planner');
      const shots = (i: number) => [{ role: 'user' as const, content: `Shot ${i % 2}.` }, { role: 'assistant' as const, content: `Answer ${i % 2}.` }];
      const request = (i: number, last = `Sentence ${i}.`): LlmRequest => ({ ...paraphraseRequest(last), messages: [...shots(i), { role: 'user', content: last }], max_tokens: 40 });
      const answered = [request(0), request(1)];
      for (const r of answered) await client.complete(r, { sample: 0 });
      // The same last turn under the other shots, or as another sample: not answered, though their last turn is.
      const planned = [
        { request: request(0), sample: 0 },
        { request: request(1), sample: 0 },
        { request: request(1, 'Sentence 0.'), sample: 0 },
        { request: request(0), sample: 1 },
        { request: request(2), sample: 0 },
        { request: { ...request(3), messages: [{ role: 'user' as const, content: 'No shots.' }] }, sample: 0 },
      ];
      const total = (planner: ReturnType<typeof client.planner>) => {
        const sum = { requests: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
        for (const { request: r, sample } of planned) {
          if (planner.isCached(r, sample)) continue;
          const one = planner.cost(r);
          sum.requests++;
          sum.inputTokens += one.inputTokens;
          sum.outputTokens += one.outputTokens;
          sum.costUsd += one.costUsd;
        }
        return sum;
      };
      const check = () => {
        const sum = total(client.planner(planned.length));
        assert.deepEqual(sum, client.estimate(planned));
        assert.equal(sum.requests, 4);
        // Request 2 shares request 0's prefix and the sample-1 copy its own: both are priced from the answers' mean.
        assert.ok(sum.outputTokens < 4 * 40);
      };
      check();
      // Rows written before turns were shared keep the whole request inline.
      const update = cache.store.db.prepare('UPDATE llm_responses SET request_json = ? WHERE request_key = ?');
      for (const r of answered) update.run(canonicalJson(r), client.requestKey(r, 0));
      check();
      await service.close();
    } finally {
      cache.cleanup();
    }
  });

  it('estimates uncached requests and stops before the budget is exceeded', async () => {
    const cache = tempCache();
    try {
      const service = testService(server.url, cache.store, { budgetUsd: 0.0005 });
      const client = service.client('budget');
      const requests = Array.from({ length: 20 }, (_, i) => ({ request: { ...paraphraseRequest(`Budget sentence ${i}.`), max_tokens: 40 }, sample: 0 }));
      const estimate = client.estimate(requests);
      assert.equal(estimate.requests, 20);
      assert.equal(estimate.outputTokens, 20 * 40);
      assert.ok(estimate.costUsd > 0.0005);
      let answered = 0;
      let refused = 0;
      for (const { request, sample } of requests) {
        try {
          await client.complete(request, { sample });
          answered++;
        } catch (error) {
          assert.equal((error as { reason?: string }).reason, 'budget-exceeded');
          refused++;
        }
      }
      assert.ok(answered > 0 && refused > 0);
      assert.ok(service.spentThisRunUsd() <= 0.0005);
      // Once answers are cached, the estimate uses their mean output length and skips them.
      const after = client.estimate(requests);
      assert.equal(after.requests, refused);
      assert.ok(after.outputTokens < refused * 40);
      await service.close();
    } finally {
      cache.cleanup();
    }
  });

  it('applies the budget to batch mode at the batch price', async () => {
    const cache = tempCache();
    try {
      const service = testService(server.url, cache.store, { budgetUsd: 0.0004 });
      const client = service.client('batch-budget', { mode: 'batch' });
      const requests = Array.from({ length: 20 }, (_, i) => ({ ...paraphraseRequest(`Batch budget sentence ${i}.`), max_tokens: 40 }));
      const outcomes = await Promise.allSettled(requests.map((request) => client.complete(request, { sample: 0 })));
      const refused = outcomes.filter((o) => o.status === 'rejected');
      assert.ok(refused.length > 0 && refused.length < 20);
      for (const o of refused) assert.equal(((o as PromiseRejectedResult).reason as { reason?: string }).reason, 'budget-exceeded');
      assert.ok(service.spentThisRunUsd() > 0 && service.spentThisRunUsd() <= 0.0004);
      await service.close();
    } finally {
      cache.cleanup();
    }
  });

  it('aborts a call when the node drains', async () => {
    const slow = await startMockLlmServer({ latencyMs: 2_000 });
    const cache = tempCache();
    try {
      const service = testService(slow.url, cache.store);
      const controller = new AbortController();
      const pending = service.client('drain').complete(paraphraseRequest('Slow one.'), { sample: 0, signal: controller.signal });
      setTimeout(() => controller.abort(), 100);
      await assert.rejects(pending, { reason: 'aborted' });
      await service.close();
    } finally {
      cache.cleanup();
      await slow.close();
    }
  });

  it('never writes the API key to errors, logs or the store', async () => {
    const guarded = await startMockLlmServer({ apiKey: 'sk-ant-the-right-key-000000' });
    const cache = tempCache();
    try {
      const log = capturingLogger();
      const service = testService(guarded.url, cache.store, { log });
      // The endpoint check before the first paid call finds the rejected key; nothing is sent.
      await assert.rejects(service.client('k').complete(paraphraseRequest('secret?'), { sample: 0 }), (error: Error) => {
        assert.ok(error instanceof LlmEndpointError, String(error));
        assert.match(error.message, /rejected the key \(HTTP 401\)/);
        assert.ok(!error.message.includes(TEST_KEY), error.message);
        return true;
      });
      assert.equal(guarded.stats.byRoute['POST /v1/messages'] ?? 0, 0);
      await service.close();
      cache.store.db.pragma('wal_checkpoint(TRUNCATE)');
      assert.ok(!readFileSync(join(cache.dir, 'cache.db')).includes(TEST_KEY));
      assert.ok(!log.lines.join('\n').includes(TEST_KEY));
    } finally {
      cache.cleanup();
      await guarded.close();
    }
  });

  it('parses the llm: section and explains a missing configuration', () => {
    const config = LlmConfigSchema.parse({});
    assert.equal(config.provider, 'anthropic');
    assert.equal(config.model, 'claude-haiku-4-5');
    assert.deepEqual(llmServiceKey(config, {}), { provider: 'anthropic', model: 'claude-haiku-4-5', base_url: null });
    assert.deepEqual(llmServiceKey(config, { ANTHROPIC_BASE_URL: 'http://127.0.0.1:9/' }).base_url, 'http://127.0.0.1:9/');
    assert.match(llmConfigProblem(config, {}) ?? '', /^No LLM is configured: set ANTHROPIC_API_KEY/);
    assert.equal(llmConfigProblem(config, { ANTHROPIC_API_KEY: 'k' }), undefined);
    assert.match(llmConfigProblem(LlmConfigSchema.parse({ provider: 'openai-compatible' }), {}) ?? '', /base URL/);
    assert.equal(llmConfigProblem(LlmConfigSchema.parse({ provider: 'openai-compatible', base_url: 'http://localhost:8000/v1' }), {}), undefined);
    assert.throws(() => LlmConfigSchema.parse({ api_key: 'sk-ant-xyz' }));
    assert.throws(() => LlmConfigSchema.parse({ api_key_env: 'sk-ant-not a name' }));
  });
});
