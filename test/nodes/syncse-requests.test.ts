/**
 * SynCSE requests are part of every request key: the same (pool, sentence, sample, sampling) must build the same
 * request byte for byte whatever the builder's internals, or every user's cached answers stop matching.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { digestJson } from '../../engine/json.js';
import { itemKey } from '../../engine/keys.js';
import { requestKeyOf } from '../../engine/llm/request-key.js';
import { callsKey } from '../../nodes/prompts/llm-call.js';
import { HashRng, hashRank } from '../../nodes/prompts/sampling.js';
import { buildSyncseRequest, readSyncsePool } from '../../nodes/prompts/syncse.js';
import { pipelinesDir } from './paths.js';

const sampling = { seed: 13, shots: 5, model: 'claude-haiku-4-5', max_tokens: 64, top_p: 0.9 };

test('the per-item sampling stream draws what it drew before', () => {
  // Every recipe's sampled instructions, exemplars and topics come from here: a change re-draws every request.
  const rng = new HashRng({ seed: 7, text: 'x', sample: 2 });
  assert.deepEqual([rng.next(), rng.next(), rng.int(1000), rng.sampleIndices(18, 5)], [0.8737240280882794, 0.794222001144437, 701, [3, 9, 16, 8, 4]]);
  assert.equal(hashRank({ a: 1 }), '015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862');
});

test('the shipped pools build the requests (and request keys) they built before', () => {
  // Pinned from the builder as it was before its turns were precomputed and its sampling hash was made one-shot.
  const golden = [
    ['positive', 'A man plays a guitar.', 0, 3, '4e49d18a1d904f634de38d6da7acdb209ab2ccfbfd8ea35d61d7470f38073752', '16520923f22a2557d6d7727d7e9054300b8e8f4517305512e5b116c59dc703ce'],
    ['positive', 'Two dogs run on the beach.', 3, 4, 'a607ec82a8178ca47f756ebee97e08f236629f123ce0cc4902be5ff77a900fd0', '24d09fb7f73b50bdcf5065928f6fcfe6cf464f20b47bea01435c409c91e39b9e'],
    ['negative', 'A man plays a guitar.', 0, 1, '9eaaefca3cac2e1191484def4308617646573dbca2bf3e26d1587f32c119087e', '64980e3b2d40ab1ed16df332b3ac7ebddad54aa5644183b16265c5a1fe617ed1'],
    ['negative', 'Two dogs run on the beach.', 3, 1, '578f55272a676a6838bf745483ef25b92e7844672ea40d7526d6ebc1638e69c8', '9c0dd2b8747858ff65a91e1f1d288f4f2919baafbd399c13b056f73b7d447841'],
  ] as const;
  for (const [role, text, sample, instruction, requestDigest, key] of golden) {
    const pool = readSyncsePool(join(pipelinesDir, 'prompts', 'syncse', 'v1', `${role}.yaml`), [role]);
    const built = buildSyncseRequest(pool, text, sample, sampling);
    assert.equal(built.instruction, instruction);
    assert.equal(digestJson(built.request), requestDigest);
    assert.equal(requestKeyOf('anthropic', null, built.request, sample), key);
  }
});

test('an item of both requests keeps its item key (the requests go into the key record uncopied)', () => {
  const pool = (role: string) => readSyncsePool(join(pipelinesDir, 'prompts', 'syncse', 'v1', `${role}.yaml`), [role]);
  const s = { ...sampling, temperature: undefined, system: undefined };
  const calls = [
    { request: buildSyncseRequest(pool('positive'), 'A man plays a guitar.', 0, { ...s, top_p: 0.9 }).request, sample: 0 },
    { request: buildSyncseRequest(pool('negative'), 'A man plays a guitar.', 0, { ...s, top_p: 0.95 }).request, sample: 0 },
  ];
  const scope = { type: 'annotate', version: 1, llm: { provider: 'anthropic' as const, model: 'claude-haiku-4-5', base_url: null }, code: null };
  // Pinned from callsKey as it was when it deep-copied each request through JSON.
  assert.equal(itemKey(scope, 'annotate/syncse@1', { requests: callsKey(calls) as never, parser: 'sentence@1' }), '532c9c055e76357271bfb18465be17ecc707145ee3120dac2b3d5c96c697131b');
});

test('a turn inserts the instruction and the input as written, wherever the template puts them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-syncse-turns-'));
  try {
    const file = join(dir, 'pool.yaml');
    writeFileSync(
      file,
      [
        'role: positive',
        "turn_template: \"{input} | {instruction} | {input} {other}\"",
        'instructions:',
        "  - id: 1",
        "    text: \"Keep {input} and $& as they are\"",
        '    exemplars:',
        "      - { input: \"an $' exemplar {instruction}\", output: out }",
        '',
      ].join('\n'),
    );
    const pool = readSyncsePool(file, ['positive']);
    const { request } = buildSyncseRequest(pool, 'the {input} sentence $1', 0, { ...sampling, shots: 1 });
    const instruction = 'Keep {input} and $& as they are';
    const exemplar = "an $' exemplar {instruction}";
    const sentence = 'the {input} sentence $1';
    assert.deepEqual(request.messages, [
      { role: 'user', content: `${exemplar} | ${instruction} | ${exemplar} {other}` },
      { role: 'assistant', content: 'out' },
      { role: 'user', content: `${sentence} | ${instruction} | ${sentence} {other}` },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
