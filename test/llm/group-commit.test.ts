/**
 * Leases and answers of online calls are committed in groups, one transaction per turn of the event loop, and a
 * caller resumes only once its write is committed: what another process reads is never behind what this one acts on
 * (a lease is on disk before its request is sent, an answer before a node uses it).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Store } from '../../cache/store.js';
import { GroupCommit } from '../../engine/llm/group-commit.js';
import { LlmStore } from '../../engine/llm/llm-store.js';
import { keyedCall, serializeRequest } from '../../engine/llm/request-key.js';
import type { LlmRequest } from '../../engine/llm/types.js';
import { tempCache } from '../support/llm-fixtures.js';

function request(i: number): LlmRequest {
  return { model: 'claude-haiku-4-5', system: 'Rewrite the sentence.', messages: [{ role: 'user', content: `Sentence ${i}.` }], max_tokens: 16 };
}

const count = (store: Store, table: string) => (store.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

describe('group commit of leases and answers', () => {
  it('commits the claims and the answers of one turn in one transaction each, visible to another connection when they resolve', async () => {
    const cache = tempCache();
    const transaction = cache.store.transaction.bind(cache.store);
    let transactions = 0;
    cache.store.transaction = <T>(fn: () => T): T => {
      transactions++;
      return transaction(fn);
    };
    const llm = new LlmStore(cache.store);
    const other = new Store(cache.dir);
    try {
      const calls = Array.from({ length: 50 }, (_, i) => ({ request: request(i), ...keyedCall('anthropic', null, request(i), 0) }));
      const claims = calls.map((c) => llm.claimGrouped(c.key));
      assert.equal(count(other, 'llm_leases'), 0, 'nothing is committed before the turn ends');
      assert.deepEqual(await Promise.all(claims), calls.map(() => 'claimed'));
      assert.equal(transactions, 1);
      assert.equal(count(other, 'llm_leases'), 50);

      const saved = calls.map((c, i) =>
        llm.saveReplyGrouped({
          key: c.key,
          provider: 'anthropic',
          request: c.request,
          serialized: serializeRequest(c.request, c.messages),
          sample: 0,
          reply: {
            text: `answer ${i}`,
            stopReason: 'end_turn',
            model: 'claude-haiku-4-5',
            usage: { input_tokens: 10, output_tokens: 2, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
            raw: { answer: i },
          },
          latencyMs: 1,
          mode: 'online',
          nodeId: 'annotate',
          costUsd: 0,
          savingsUsd: 0,
        }),
      );
      assert.equal(count(other, 'llm_responses'), 0);
      const stored = await Promise.all(saved);
      assert.equal(transactions, 2);
      assert.equal(count(other, 'llm_responses'), 50);
      assert.equal(count(other, 'llm_leases'), 0, 'an answer drops its lease in the same transaction');
      assert.equal(stored[7]!.text, 'answer 7');
      // Another process asking for an answered key is told it is cached, not given a lease to pay again.
      const otherLlm = new LlmStore(other);
      assert.equal(otherLlm.claim(calls[7]!.key), 'cached');
      assert.deepEqual(otherLlm.storedRequest(calls[7]!.key), calls[7]!.request);
      otherLlm.close();
    } finally {
      llm.close();
      other.close();
      cache.cleanup();
    }
  });

  it('a failed transaction fails every write of its group; the next turn starts a new group', async () => {
    let fail = true;
    const group = new GroupCommit((fn) => {
      fn();
      if (fail) throw new Error('disk I/O error');
    });
    const outcomes = await Promise.allSettled([1, 2, 3].map((n) => group.add(() => n)));
    assert.ok(outcomes.every((o) => o.status === 'rejected' && (o.reason as Error).message === 'disk I/O error'));
    fail = false;
    assert.deepEqual(await Promise.all([4, 5].map((n) => group.add(() => n))), [4, 5]);
  });
});
