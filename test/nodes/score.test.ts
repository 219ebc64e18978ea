import { test } from 'node:test';
import assert from 'node:assert/strict';
import { score } from '../../nodes/score.js';
import { FakeLlmClient, fakeContext, rowsValue, runNode } from './fake-context.js';

test('score: MultiCSR judge prompt on (anchor, positive) and (anchor, negative); unparseable triplets are dropped', async () => {
  const replies: Record<string, string> = {
    'p1': '4.5', 'n1': '1.0',
    'p2': 'I would say 4', 'n2': '2',
    'p3': '3', 'n3': '3.75',
    'p4': '5', 'n4': '0',
  };
  const client = new FakeLlmClient((r) => {
    const m = /\(b\) (\S+)$/.exec(r.messages[0]!.content);
    return replies[m![1]!]!;
  });
  const ctx = fakeContext({ options: {}, llm: client });
  const rows = [1, 2, 3, 4].map((i) => ({ anchor: `a${i}`, positive: `p${i}`, negative: `n${i}` }));
  const out = await runNode(score, { triplets: rowsValue(rows) }, {}, ctx);
  assert.equal(client.calls[0]!.request.messages[0]!.content, 'Scoring the semantic similarity of the following sentences between 0.0 and 5.0: (a) a1 (b) p1');
  assert.equal(client.calls[0]!.request.temperature, 0);
  assert.deepEqual(out['scored'], [
    { anchor: 'a1', positive: 'p1', negative: 'n1', positive_score: 4.5, negative_score: 1 },
    { anchor: 'a4', positive: 'p4', negative: 'n4', positive_score: 5, negative_score: 0 },
  ]);
  assert.equal(ctx.failures.length, 2);
  assert.ok(ctx.failures.every((f) => f.reason.startsWith('not a score')));
  assert.equal(ctx.stats.values?.['unparseable_or_failed'], 2);
});
