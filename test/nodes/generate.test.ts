import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Json } from '../../engine/json.js';
import type { LlmRequest } from '../../engine/llm/types.js';
import { generate } from '../../nodes/generate.js';
import { FakeLlmClient, fakeContext, runNode, type FakeLlm } from './fake-context.js';
import { pipelinesDir } from './paths.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

const content = (r: LlmRequest): string => r.messages[0]!.content;
const listLlm: FakeLlm = (r) => {
  const n = Number(/(\d+) (?:[\w-]+ ){0,3}(?:sentences|captions|photographs)/.exec(content(r))?.[1] ?? 3);
  return ['Here you go:', ...Array.from({ length: n }, (_, i) => `${i + 1}. Generated sentence ${i + 1}.`)].join('\n');
};

async function runGenerate(params: Record<string, unknown>, client: FakeLlmClient) {
  const ctx = fakeContext({ options: {}, baseDir: pipelinesDir, llm: client });
  const out = await runNode(generate, {}, params, ctx);
  return { out, ctx };
}

test('syncse-scratch: one call per genre and call index, 6 topics, 20 sentences, paper sampling on openai-compatible', async () => {
  const client = new FakeLlmClient(listLlm);
  const { out } = await runGenerate({ recipe: 'syncse-scratch', calls_per_genre: 2 }, client);
  assert.equal(client.calls.length, 21 * 2);
  const r = client.calls[0]!.request;
  assert.equal(r.temperature, 1.3);
  assert.equal(r.top_p, 1.0);
  assert.equal(r.presence_penalty, 0.3);
  assert.equal(r.frequency_penalty, 0.3);
  assert.ok(content(r).includes('20'));
  assert.deepEqual(client.calls.slice(0, 2).map((c) => c.sample), [0, 1]);
  const rows = out['sentences'] as Record<string, Json>[];
  assert.equal(rows.length, 21 * 2 * 20);
  assert.equal(rows[0]!['text'], 'Generated sentence 1.');
  assert.equal(rows[0]!['genre'], 'news');
  const topics = String(rows[0]!['topics']).split('; ');
  assert.equal(topics.length, 6);
  for (const t of topics) assert.ok(content(r).includes(t));
  const bank = newsBank();
  const shown = bank.filter((b) => content(r).includes(b));
  assert.equal(shown.length, 10, 'a one-shot example of 10 sentences drawn from the genre\'s bank of 30');
  const other = bank.filter((b) => content(client.calls[1]!.request).includes(b));
  assert.notDeepEqual(other, shown, 'each call draws its own example');
});

function newsBank(): string[] {
  const genres = parseYaml(readFileSync(join(pipelinesDir, 'prompts/syncse/v2/genres.yaml'), 'utf8')) as { genres: { name: string; bank: string[] }[] };
  assert.equal(genres.genres.length, 21, 'the 21 genres');
  assert.ok(genres.genres.every((g) => g.bank.length === 30), 'a bank of 30 per genre');
  return genres.genres.find((g) => g.name === 'news')!.bank;
}

test('syncse-scratch: short image captions use the caption templates; the others the general ones', async () => {
  const client = new FakeLlmClient(listLlm);
  const { out } = await runGenerate({ recipe: 'syncse-scratch', calls_per_genre: 4 }, client);
  const rows = out['sentences'] as Record<string, Json>[];
  const captionCalls = client.calls.filter((c) => /caption/i.test(content(c.request)));
  assert.equal(captionCalls.length, 4, 'the short image captions genre, 4 calls, and no other genre');
  assert.equal(rows.filter((r) => r['genre'] === 'short image captions').length, 4 * 20);
});

test('syncse-scratch on anthropic: temperature capped at 1 with a note in plan, top_p 1.0 not sent', async () => {
  const anthropic = new FakeLlmClient(listLlm, 'anthropic');
  const ctx = fakeContext({ options: {}, baseDir: pipelinesDir, llm: anthropic });
  const estimate = await generate.estimate!({} as never, generate.params.parse({ recipe: 'syncse-scratch', calls_per_genre: 1 }), ctx as never);
  assert.match(estimate.note ?? '', /temperature 1\.3 \(SynCSE\) is above anthropic's maximum; sending 1, the closest allowed value/);
  assert.match(estimate.note ?? '', /presence_penalty 0\.3 \(SynCSE\) is not supported by anthropic/);
  await runGenerate({ recipe: 'syncse-scratch', calls_per_genre: 1 }, anthropic);
  assert.equal(anthropic.calls[0]!.request.temperature, 1);
  assert.equal(anthropic.calls[0]!.request.top_p, undefined);
  const openai = new FakeLlmClient(listLlm);
  const plain = await generate.estimate!({} as never, generate.params.parse({ recipe: 'syncse-scratch', calls_per_genre: 1 }), fakeContext({ options: {}, baseDir: pipelinesDir, llm: openai }) as never);
  assert.doesNotMatch(plain.note ?? '', /closest allowed/);
});

test('syncse-scratch: penalties are omitted on anthropic by default and rejected when set explicitly', async () => {
  const anthropic = new FakeLlmClient(listLlm, 'anthropic');
  const { ctx } = await runGenerate({ recipe: 'syncse-scratch', calls_per_genre: 1 }, anthropic);
  assert.equal(anthropic.calls[0]!.request.presence_penalty, undefined);
  assert.equal(anthropic.calls[0]!.request.frequency_penalty, undefined);
  assert.ok(ctx.logs.some((l) => l.startsWith('warn: presence_penalty')));
  const strict = new FakeLlmClient(listLlm, 'anthropic');
  await assert.rejects(runGenerate({ recipe: 'syncse-scratch', calls_per_genre: 1, presence_penalty: 0.3 }, strict), /presence_penalty/);
  assert.equal(strict.calls.length, 0);
  const none = new FakeLlmClient(listLlm);
  await runGenerate({ recipe: 'syncse-scratch', calls_per_genre: 1, presence_penalty: null, frequency_penalty: null }, none);
  assert.equal(none.calls[0]!.request.presence_penalty, undefined);
});

test('syncse-scratch: sampling is per (seed, genre, call): more calls keep the earlier requests', async () => {
  const a = new FakeLlmClient(listLlm);
  const b = new FakeLlmClient(listLlm);
  await runGenerate({ recipe: 'syncse-scratch', calls_per_genre: 1 }, a);
  await runGenerate({ recipe: 'syncse-scratch', calls_per_genre: 3 }, b);
  const firstCalls = b.calls.filter((c) => c.sample === 0).map((c) => JSON.stringify(c.request));
  assert.deepEqual(firstCalls, a.calls.map((c) => JSON.stringify(c.request)));
});

test('dino-x1: one instruction per label, answer cut at the closing quote', async () => {
  const client = new FakeLlmClient((_r, s) => `Sentence number ${s}." and then`);
  const { out } = await runGenerate({ recipe: 'dino-x1', calls_per_label: 2 }, client);
  assert.equal(client.calls.length, 6);
  assert.equal(content(client.calls[0]!.request), 'Task: Write two sentences that mean the same thing.\nSentence 1: "');
  assert.deepEqual((out['sentences'] as Record<string, Json>[]).slice(0, 2), [
    { text: 'Sentence number 0.', task_label: 1 },
    { text: 'Sentence number 1.', task_label: 1 },
  ]);
});
