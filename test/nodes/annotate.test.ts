import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalJson, type Json } from '../../engine/json.js';
import type { LlmRequest } from '../../engine/llm/types.js';
import { annotate } from '../../nodes/annotate.js';
import { FakeLlmClient, fakeContext, rowsValue, runNode, type FakeLlm } from './fake-context.js';
import { pipelinesDir } from './paths.js';
import { testProbe } from '../support/probe.js';

const lastUser = (r: LlmRequest): string => r.messages[r.messages.length - 1]!.content;
const inputOf = (r: LlmRequest): string => lastUser(r).split('Input: ').pop()!;

/** Answers SynCSE requests with a sentence derived from the input, so results can be checked. */
const syncseLlm: FakeLlm = (r) => (r.top_p === 0.9 ? `Positive for ${inputOf(r)}` : `Negative for ${inputOf(r)}`);

const sentences = (texts: string[]) => rowsValue(texts.map((text) => ({ text })));
const premises = Array.from({ length: 40 }, (_, i) => `Premise number ${i} about a man and a dog.`);

async function runAnnotate(texts: string[], params: Record<string, unknown>, llm: FakeLlm = syncseLlm, baseDir = pipelinesDir) {
  const client = new FakeLlmClient(llm);
  const ctx = fakeContext({ options: {}, baseDir, llm: client });
  const out = await runNode(annotate, { sentences: sentences(texts) }, params, ctx);
  return { out, ctx, client };
}

test('syncse: one positive and one negative call per sentence, 5 exemplars as chat turns, paper sampling', async () => {
  const { out, client, ctx } = await runAnnotate(premises.slice(0, 3), { recipe: 'syncse' });
  assert.equal(client.calls.length, 6);
  const triplets = out['triplets'] as Record<string, Json>[];
  assert.deepEqual(out['pairs'], []);
  assert.equal(triplets.length, 3);
  assert.deepEqual(
    triplets.map((t) => [t['anchor'], t['positive'], t['negative']]),
    premises.slice(0, 3).map((p) => [p, `Positive for ${p}`, `Negative for ${p}`]),
  );
  for (const call of client.calls) {
    const r = call.request;
    assert.equal(r.messages.length, 11);
    assert.deepEqual(r.messages.map((m) => m.role), ['user', 'assistant', 'user', 'assistant', 'user', 'assistant', 'user', 'assistant', 'user', 'assistant', 'user']);
    assert.equal(r.temperature, 1.0);
    assert.ok(r.top_p === 0.9 || r.top_p === 0.95);
    assert.equal(r.model, 'fake-model');
    // The instruction of every turn is the same sampled one.
    const instr = r.messages[0]!.content.split('\n\nInput: ')[0];
    for (const m of r.messages.filter((m) => m.role === 'user')) assert.ok(m.content.startsWith(instr + '\n\nInput: '));
    assert.equal(call.sample, 0);
  }
  const pos = client.calls.filter((c) => c.request.top_p === 0.9).length;
  assert.equal(pos, 3);
  assert.ok(ctx.itemKeys.every((k) => k.namespace === 'annotate/syncse@1'));
});

test('syncse: requests are a function of (seed, text, sample) only — adding or reordering rows changes no other request', async () => {
  const a = await runAnnotate(premises.slice(0, 10), { recipe: 'syncse' });
  const b = await runAnnotate(['A brand new sentence.', ...premises.slice(0, 10).reverse()], { recipe: 'syncse' });
  const keyByText = (ctx: typeof a.ctx, texts: string[]) =>
    new Map(ctx.itemKeys.map((k, i) => [texts[i]!, canonicalJson(k.key)]));
  const ka = keyByText(a.ctx, premises.slice(0, 10));
  const kb = keyByText(b.ctx, ['A brand new sentence.', ...premises.slice(0, 10).reverse()]);
  for (const p of premises.slice(0, 10)) assert.equal(kb.get(p), ka.get(p), p);
  // A different seed draws different instructions/exemplars for at least some rows.
  const c = await runAnnotate(premises.slice(0, 10), { recipe: 'syncse', seed: 1 });
  const kc = keyByText(c.ctx, premises.slice(0, 10));
  assert.ok(premises.slice(0, 10).some((p) => kc.get(p) !== ka.get(p)));
  // Samples of one sentence draw independently and carry their sample index.
  const d = await runAnnotate(premises.slice(0, 1), { recipe: 'syncse', samples: 3 });
  assert.deepEqual(d.client.calls.map((x) => x.sample).sort(), [0, 0, 1, 1, 2, 2]);
  assert.equal((d.out['triplets'] as unknown[]).length, 3);
});

test('changing one instruction in a pool changes only the requests that used it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-pool-'));
  mkdirSync(join(dir, 'prompts'), { recursive: true });
  cpSync(join(pipelinesDir, 'prompts'), join(dir, 'prompts'), { recursive: true });
  const before = await runAnnotate(premises, { recipe: 'syncse' }, syncseLlm, dir);
  const file = join(dir, 'prompts/syncse/v1/positive.yaml');
  const text = readFileSync(file, 'utf8');
  const old = 'Rewrite the following sentence or phrase using different words and sentence structure while preserving its original meaning.';
  assert.ok(text.includes(old));
  writeFileSync(file, text.replace(old, 'Rewrite the sentence in your own words, keeping its meaning.'));
  const after = await runAnnotate(premises, { recipe: 'syncse' }, syncseLlm, dir);
  const rowsBefore = before.out['triplets'] as Record<string, Json>[];
  let changed = 0;
  premises.forEach((p, i) => {
    const kb = canonicalJson(before.ctx.itemKeys[i]!.key);
    const ka = canonicalJson(after.ctx.itemKeys[i]!.key);
    const usedIt = rowsBefore[i]!['positive_instruction'] === 2;
    assert.equal(ka !== kb, usedIt, `${p}: used instruction 2: ${usedIt}`);
    if (usedIt) changed++;
  });
  assert.ok(changed > 0 && changed < premises.length, `changed ${changed}`);
  // The negative requests are untouched everywhere.
  const negs = (c: FakeLlmClient) => c.calls.filter((x) => x.request.top_p === 0.95).map((x) => canonicalJson(x.request));
  assert.deepEqual(negs(after.client), negs(before.client));
});

test('changing one exemplar changes only the requests whose sampled shots include it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-pool-'));
  cpSync(join(pipelinesDir, 'prompts'), join(dir, 'prompts'), { recursive: true });
  const before = await runAnnotate(premises, { recipe: 'syncse' }, syncseLlm, dir);
  const file = join(dir, 'prompts/syncse/v1/negative.yaml');
  const old = 'The chef slowly peels potatoes with a small knife.';
  writeFileSync(file, readFileSync(file, 'utf8').replace(old, 'The chef slowly peels carrots with a small knife.'));
  const after = await runAnnotate(premises, { recipe: 'syncse' }, syncseLlm, dir);
  const neg = (c: FakeLlmClient) => c.calls.filter((x) => x.request.top_p === 0.95).map((x) => x.request);
  const b = neg(before.client);
  const a = neg(after.client);
  b.forEach((req, i) => {
    const used = req.messages.some((m) => m.content === old);
    assert.equal(canonicalJson(a[i]) !== canonicalJson(req), used);
  });
});

test('syncse: unparseable, refused, empty and cut-off replies fail the item with a short reason', async () => {
  const replies: Record<string, { text: string; stopReason?: string }> = {
    [premises[0]!]: { text: "I'm sorry, but I can't help with that." },
    [premises[1]!]: { text: '' },
    [premises[2]!]: { text: 'A man and', stopReason: 'max_tokens' },
    [premises[3]!]: { text: 'Sure! Here it is:\nA man.' },
  };
  const { out, ctx } = await runAnnotate(premises.slice(0, 5), { recipe: 'syncse' }, (r) => replies[inputOf(r)] ?? syncseLlm(r, 0));
  assert.deepEqual((out['triplets'] as Record<string, Json>[]).map((t) => t['anchor']), [premises[4]]);
  const reasons = ctx.failures.map((f) => f.reason.split(':')[0]);
  assert.deepEqual(reasons, ['refused', 'empty reply', 'max_tokens', 'not one sentence']);
});

test('syncse: provider problems reported by validate() stop the node before any call', async () => {
  const client = new FakeLlmClient(syncseLlm, 'openai-compatible', 'fake-model', 'online', (r) => (r.top_p === 0.95 ? ['top_p 0.95 not allowed'] : []));
  const ctx = fakeContext({ options: {}, baseDir: pipelinesDir, llm: client });
  await assert.rejects(runNode(annotate, { sentences: sentences(['x']) }, { recipe: 'syncse' }, ctx), /top_p 0.95 not allowed/);
  assert.equal(client.calls.length, 0);
});

test('dino-x2: n samples per input and label, prompt ends inside the open quote, answer cut at the closing quote', async () => {
  const llm: FakeLlm = (r, sample) => {
    const c = lastUser(r);
    const kind = c.includes('mean the same thing') ? 'same' : c.includes('somewhat similar') ? 'similar' : 'different';
    return `A ${kind} sentence ${sample}." trailing text`;
  };
  const { out, client } = await runAnnotate(['A cat sits.', 'Rain falls.'], { recipe: 'dino-x2' }, llm);
  assert.equal(client.calls.length, 2 * 3 * 2);
  const first = client.calls[0]!.request;
  assert.equal(lastUser(first), 'Task: Write two sentences that mean the same thing.\nSentence 1: "A cat sits."\nSentence 2: "');
  assert.equal(first.top_p, 0.9);
  const pairs = out['pairs'] as Record<string, Json>[];
  assert.deepEqual(out['triplets'], []);
  assert.equal(pairs.length, 12);
  assert.deepEqual(pairs.slice(0, 6), [
    { text_a: 'A cat sits.', text_b: 'A same sentence 0.', label: 1 },
    { text_a: 'A cat sits.', text_b: 'A same sentence 1.', label: 1 },
    { text_a: 'A cat sits.', text_b: 'A similar sentence 0.', label: 0.5 },
    { text_a: 'A cat sits.', text_b: 'A similar sentence 1.', label: 0.5 },
    { text_a: 'A cat sits.', text_b: 'A different sentence 0.', label: 0 },
    { text_a: 'A cat sits.', text_b: 'A different sentence 1.', label: 0 },
  ]);
});

test('multicsr: the two-shot entailment and contradiction prompts of the MultiCSR code', async () => {
  const llm: FakeLlm = (r) => (lastUser(r).includes('entailment with') ? "'A man is outside.'" : "'Nobody is outside.'");
  const { out, client } = await runAnnotate(['A man walks his dog.'], { recipe: 'multicsr' }, llm);
  assert.equal(client.calls.length, 2);
  assert.equal(client.calls[0]!.request.temperature, 0, 'greedy, as its Flan-T5 generation');
  const ent = lastUser(client.calls[0]!.request);
  assert.ok(ent.startsWith('Help me write a sentence that is entailment with a given sentence. Here are some examples:\n\n'));
  assert.ok(ent.endsWith("Write a sentence that is entailment with 'A man walks his dog.': "));
  assert.ok(lastUser(client.calls[1]!.request).endsWith("Write a sentence that is negative with 'A man walks his dog.': "));
  assert.deepEqual(out['triplets'], [{ anchor: 'A man walks his dog.', positive: 'A man is outside.', negative: 'Nobody is outside.' }]);
});

test('annotate files() names the prompt files of the recipe', () => {
  assert.deepEqual(annotate.files!(annotate.params.parse({ recipe: 'syncse' }), {}, testProbe()), ['prompts/syncse/v1/positive.yaml', 'prompts/syncse/v1/negative.yaml']);
  assert.deepEqual(annotate.files!(annotate.params.parse({ recipe: 'dino-x2' }), {}, testProbe()), ['prompts/dino/v1/sts-x2.yaml']);
  assert.throws(() => annotate.params.parse({ recipe: 'syncse', shots: 5, temprature: 1 }));
});

test('null sampling parameters are left out of the request (Claude 4.5: temperature with top_p is rejected)', async () => {
  const { client } = await runAnnotate(premises.slice(0, 1), { recipe: 'syncse', temperature: null });
  for (const c of client.calls) {
    assert.equal('temperature' in c.request, false);
    assert.ok(c.request.top_p === 0.9 || c.request.top_p === 0.95);
  }
});

test('estimate() plans the same requests the run sends, without calling the LLM', async () => {
  const client = new FakeLlmClient(syncseLlm);
  const planned: string[] = [];
  client.planner = () => ({
    isCached: () => false,
    cost: (request: LlmRequest) => {
      planned.push(canonicalJson(request));
      return { inputTokens: 10, outputTokens: 2, costUsd: 0.001 };
    },
  });
  const ctx = fakeContext({ options: {}, baseDir: pipelinesDir, llm: client });
  const p = annotate.params.parse({ recipe: 'syncse' });
  (ctx as { options: unknown }).options = annotate.options!.parse({});
  const est = await annotate.estimate!({ sentences: sentences(premises.slice(0, 4)) } as never, p, ctx);
  assert.equal(est.items, 4);
  assert.equal(est.cachedItems, 0);
  assert.equal(est.requests, 8);
  assert.equal(est.inputTokens, 80);
  assert.equal(client.calls.length, 0);
  await runNode(annotate, { sentences: sentences(premises.slice(0, 4)) }, { recipe: 'syncse' }, ctx);
  assert.deepEqual(client.calls.map((c) => canonicalJson(c.request)).sort(), planned.sort());
});
