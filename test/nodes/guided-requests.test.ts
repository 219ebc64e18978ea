/**
 * The requests LLM nodes build for the local provider's token-level options: DINO's raw-completion prompts with
 * self-debiasing against each label's counter-labels (from the spec), MultiCSR's contrastive pairs, and that
 * without these options the requests (and so the keys) are exactly as before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LlmRequest } from '../../engine/llm/types.js';
import { annotate } from '../../nodes/annotate.js';
import { generate } from '../../nodes/generate.js';
import { parseDinoContinuation } from '../../nodes/prompts/parsers.js';
import { FakeLlmClient, fakeContext, rowsValue, runNode } from './fake-context.js';
import { pipelinesDir } from './paths.js';

const instruction = (kind: string, x1: string): string => `Task: Write two sentences that ${kind}.\nSentence 1: "${x1}"\nSentence 2: "`;
const user = (content: string) => ({ messages: [{ role: 'user' as const, content }] });

async function requestsOf(params: Record<string, unknown>, baseDir = pipelinesDir): Promise<LlmRequest[]> {
  const client = new FakeLlmClient(() => 'A sentence."');
  const ctx = fakeContext({ options: {}, baseDir, llm: client });
  await runNode(annotate, { sentences: rowsValue([{ text: 'A cat sits.' }]) }, params, ctx);
  return client.calls.map((c) => c.request);
}

test('dino-x2 local: raw completion cut at the quote, each label self-debiased against its counter-labels', async () => {
  const requests = await requestsOf({
    recipe: 'dino-x2',
    spec: 'prompts/dino/v1/sts-x2-lm.yaml',
    samples: 1,
    prompt_format: 'completion',
    guidance: { type: 'self-debias' },
    temperature: 1,
    top_p: 0.9,
    top_k: 5,
    max_tokens: 40,
  });
  const same = instruction('mean the same thing', 'A cat sits.');
  const similar = instruction('are somewhat similar', 'A cat sits.');
  const different = instruction('are on completely different topics', 'A cat sits.');
  const base = { model: 'fake-model', max_tokens: 40, temperature: 1, top_p: 0.9, top_k: 5, stop: ['"'], prompt_format: 'completion' };
  assert.deepEqual(requests, [
    { ...base, ...user(same) },
    { ...base, ...user(similar), guidance: { type: 'self-debias', decay: 100, epsilon: 0.01, counter_prompts: [user(same)] } },
    { ...base, ...user(different), guidance: { type: 'self-debias', decay: 100, epsilon: 0.01, counter_prompts: [user(same), user(similar)] } },
  ]);
});

test('dino-x2 without the local options: the chat requests of before (no new fields, so the same keys)', async () => {
  const [first] = await requestsOf({ recipe: 'dino-x2', samples: 1 });
  assert.deepEqual(Object.keys(first!).sort(), ['max_tokens', 'messages', 'model', 'system', 'temperature', 'top_p']);
});

test('dino-x2: a counter-label that is not another label of the spec is a user error naming the spec', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-spec-'));
  writeFileSync(
    join(dir, 'spec.yaml'),
    'task: sts-x2\nlabels:\n  - { label: 1, instruction: "same {x1}", counter_labels: [0.25] }\n  - { label: 0, instruction: "other {x1}", counter_labels: [0] }\n',
  );
  await assert.rejects(requestsOf({ recipe: 'dino-x2', spec: 'spec.yaml', guidance: { type: 'self-debias' } }, dir), (error: Error) => {
    assert.match(error.message, /spec\.yaml: labels\[0\]\.counter_labels: 0\.25 is not another label of the spec; labels\[1\]\.counter_labels: 0 is not another label/);
    return true;
  });
});

test('multicsr contrastive: entailment against contradiction and back, with the same system line', async () => {
  const requests = await requestsOf({ recipe: 'multicsr', guidance: { type: 'contrastive', omega: 0.5 } });
  assert.equal(requests.length, 2);
  const [entailment, contradiction] = requests as [LlmRequest, LlmRequest];
  assert.deepEqual(entailment.guidance, { type: 'contrastive', omega: 0.5, contrast_prompt: { system: contradiction.system, messages: contradiction.messages } });
  assert.deepEqual(contradiction.guidance, { type: 'contrastive', omega: 0.5, contrast_prompt: { system: entailment.system, messages: entailment.messages } });
  assert.ok(entailment.messages[0]!.content.includes('entailment with'));
  const [plain] = await requestsOf({ recipe: 'multicsr' });
  assert.equal(plain!.guidance, undefined);
});

test('generate dino-x1 local: the x1 instructions as raw completion, cut at the quote', async () => {
  const client = new FakeLlmClient(() => 'A sentence."');
  const ctx = fakeContext({ options: {}, baseDir: pipelinesDir, llm: client });
  await runNode(generate, {}, { recipe: 'dino-x1', calls_per_label: 1, prompt_format: 'completion', max_tokens: 40 }, ctx);
  const [first] = client.calls.map((c) => c.request);
  assert.deepEqual(first, {
    model: 'fake-model',
    messages: [{ role: 'user', content: 'Task: Write two sentences that mean the same thing.\nSentence 1: "' }],
    max_tokens: 40,
    temperature: 1,
    top_p: 0.9,
    stop: ['"'],
    prompt_format: 'completion',
  });
});

test("a DINO reply that stopped at the stop string '\"' closed the quote; one that ended otherwise did not", () => {
  assert.equal(parseDinoContinuation({ text: 'A dog runs on the beach', stopReason: 'stop_sequence' }), 'A dog runs on the beach');
  assert.throws(() => parseDinoContinuation({ text: 'A dog runs on the beach', stopReason: 'end_turn' }), /no closing quote/);
  assert.throws(() => parseDinoContinuation({ text: 'A dog runs\non the beach', stopReason: 'stop_sequence' }), /newline before the closing quote/);
});
