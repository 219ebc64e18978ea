/**
 * The local provider on a tiny llama GGUF the test writes itself (random weights, 600-token vocabulary): chat and
 * raw completion, seeded reproducible sampling, stop strings, token accounting and zero cost, keys that follow the
 * file's digest, sequences shared by concurrent calls, and both guidance types checked token by token against the
 * guidance arithmetic applied to distributions read from llama.cpp directly.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getLlama, LlamaLogLevel, type Token } from 'node-llama-cpp';
import { contrast, selfDebias } from '../../engine/llm/guidance.js';
import { LlmConfigSchema, createLlmService, llmConfigProblem, type LlmService } from '../../engine/llm/service.js';
import type { LlmRequest } from '../../engine/llm/types.js';
import { capturingLogger, tempCache, type TempCache } from '../support/llm-fixtures.js';
import { writeTinyGguf } from '../support/tiny-gguf.js';

const DINO_1 = 'Task: Write two sentences that mean the same thing.\nSentence 1: "a man sits on a chair"\nSentence 2: "';
const DINO_05 = 'Task: Write two sentences that are somewhat similar.\nSentence 1: "a man sits on a chair"\nSentence 2: "';
const DINO_0 = 'Task: Write two sentences that are on completely different topics.\nSentence 1: "a man sits on a chair"\nSentence 2: "';

function completion(text: string, model: string, extra: Partial<LlmRequest> = {}): LlmRequest {
  return { model, messages: [{ role: 'user', content: text }], max_tokens: 12, prompt_format: 'completion', temperature: 1, ...extra };
}

describe('local provider (llama.cpp) on a tiny GGUF', () => {
  let dir: string;
  let modelPath: string;
  const open: { service: LlmService; cache: TempCache }[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'synthcse-local-'));
    modelPath = join(dir, 'tiny.gguf');
    writeTinyGguf(modelPath, { seed: 7, outputScale: 8 });
  });
  after(async () => {
    for (const { service, cache } of open) {
      await service.close();
      cache.cleanup();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  async function localService(config: Record<string, unknown> = {}, model = modelPath): Promise<{ service: LlmService; cache: TempCache }> {
    const cache = tempCache();
    const service = createLlmService({
      config: LlmConfigSchema.parse({ provider: 'local', model, sequences: 4, context_size: 256, threads: 1, ...config }),
      store: cache.store,
      env: {},
      log: capturingLogger(),
    });
    await service.prepare({ download: false });
    open.push({ service, cache });
    return { service, cache };
  }

  it('completes raw text and chat prompts, reproducibly per request and sample, at zero cost', async () => {
    const a = (await localService()).service.client('n');
    const b = (await localService()).service.client('n');
    const request = completion(DINO_1, modelPath);
    const first = await a.complete(request, { sample: 0 });
    assert.equal(first.cached, false);
    assert.ok(first.usage.input_tokens > 10, `input tokens ${first.usage.input_tokens}`);
    assert.ok(first.usage.output_tokens >= 1 && first.usage.output_tokens <= 12);
    // Same request and sample in another cache: the same text, generated again.
    const again = await b.complete(request, { sample: 0 });
    assert.equal(again.cached, false);
    assert.equal(again.text, first.text);
    // Another sample draws its own stream.
    const samples = await Promise.all([1, 2, 3].map((sample) => a.complete(request, { sample })));
    assert.ok(samples.some((s) => s.text !== first.text), 'four samples gave one text');
    assert.equal((await a.complete(request, { sample: 0 })).cached, true);
    // Another sample of the same prompt: the sequences still hold it, so only its last token is evaluated again.
    const prompt = first.usage.input_tokens;
    const fifth = await a.complete(request, { sample: 4 });
    assert.deepEqual([fifth.usage.input_tokens, fifth.usage.cache_read_input_tokens], [1, prompt - 1]);
    // The answer does not depend on whether the prompt was evaluated again: a fresh service gives the same text.
    assert.equal((await (await localService()).service.client('n').complete(request, { sample: 4 })).text, fifth.text);

    const chat: LlmRequest = { model: modelPath, system: 'You write sentences.', messages: [{ role: 'user', content: 'Write a sentence about a dog.' }], max_tokens: 8 };
    const reply = await a.complete(chat, { sample: 0 });
    assert.ok(reply.usage.input_tokens > 10);
    assert.equal((await b.complete(chat, { sample: 0 })).text, reply.text);

    const estimate = a.estimate([{ request, sample: 7 }]);
    assert.equal(estimate.requests, 1);
    assert.equal(estimate.costUsd, 0);
    assert.equal(estimate.outputTokens > 0, true);
  });

  it('stops at a stop string (the answer is cut before it) and at max_tokens', async () => {
    const client = (await localService()).service.client('n');
    const long = await client.complete(completion(DINO_1, modelPath, { max_tokens: 40, temperature: 0 }), { sample: 0 });
    assert.equal(long.usage.output_tokens, 40);
    assert.equal(long.stopReason, 'max_tokens');
    // A stop string taken from the greedy answer itself: generation ends there and the text is cut before it.
    const stop = long.text.slice(3, 4);
    assert.ok(stop.trim() !== '', `stop string ${JSON.stringify(stop)}`);
    const cut = await client.complete(completion(DINO_1, modelPath, { max_tokens: 40, temperature: 0, stop: [stop] }), { sample: 0 });
    assert.equal(cut.stopReason, 'stop_sequence');
    assert.equal(cut.text, long.text.slice(0, long.text.indexOf(stop)));
    assert.ok(cut.usage.output_tokens < 40);
  });

  it('keys answers by the model file digest, not its path', async () => {
    const copy = join(dir, 'renamed.gguf');
    copyFileSync(modelPath, copy);
    const { service, cache } = await localService();
    const answer = await service.client('n').complete(completion(DINO_05, modelPath), { sample: 0 });
    const moved = createLlmService({
      config: LlmConfigSchema.parse({ provider: 'local', model: copy, sequences: 4, context_size: 256, threads: 1 }),
      store: cache.store,
      env: {},
      log: capturingLogger(),
    });
    await moved.prepare({ download: false });
    const client = moved.client('n');
    const request = completion(DINO_05, copy);
    assert.equal(client.isCached(request, 0), true);
    const cached = await client.complete(request, { sample: 0 });
    assert.equal(cached.cached, true);
    assert.equal(cached.text, answer.text);
    await moved.close();
    // A different file under the same name is another model.
    const other = join(dir, 'other.gguf');
    writeTinyGguf(other, { seed: 8, outputScale: 8 });
    const { service: otherService } = await localService({}, other);
    assert.notEqual(otherService.client('n').requestKey(completion(DINO_05, other), 0), client.requestKey(request, 0));
  });

  it('runs more calls than sequences: they wait for free sequences and all finish', async () => {
    const client = (await localService({ sequences: 2 })).service.client('n');
    const guided = (text: string): LlmRequest =>
      completion(text, modelPath, { guidance: { type: 'contrastive', omega: 0.5, contrast_prompt: { messages: [{ role: 'user', content: DINO_0 }] } } });
    const answers = await Promise.all([
      ...[0, 1, 2, 3, 4].map((sample) => client.complete(completion(DINO_1, modelPath), { sample })),
      ...[0, 1].map((sample) => client.complete(guided(DINO_05), { sample })),
    ]);
    assert.equal(answers.length, 7);
    assert.ok(answers.every((a) => a.usage.output_tokens > 0));
    // A guided call needing more sequences than there are is refused before any work.
    const three = completion(DINO_0, modelPath, {
      guidance: { type: 'self-debias', decay: 100, epsilon: 0.01, counter_prompts: [{ messages: [{ role: 'user', content: DINO_1 }] }, { messages: [{ role: 'user', content: DINO_05 }] }] },
    });
    assert.match(client.validate(three).join(' '), /evaluates 3 prompts at once but llm.sequences is 2/);
  });

  it('guided decoding: each token is the arithmetic applied to the distributions llama.cpp gives for every prompt', async () => {
    const client = (await localService()).service.client('n');
    const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
    const model = await llama.loadModel({ modelPath });
    const context = await model.createContext({ sequences: 3, contextSize: 256, threads: 1 });
    const tokensOf = (text: string): Token[] => (model.tokens.shouldPrependBosToken ? [model.tokens.bos!, ...model.tokenize(text)] : model.tokenize(text));

    /** Greedy decoding by hand: read each prompt's distribution, combine, take the argmax, append it to all. */
    async function byHand(prompts: string[], combine: (d: Float64Array[]) => Float64Array, steps: number): Promise<string> {
      const sequences = prompts.map(() => context.getSequence());
      let inputs = prompts.map(tokensOf);
      const out: Token[] = [];
      for (let step = 0; step < steps; step++) {
        const results = await Promise.all(
          sequences.map((s, i) => s.controlledEvaluate([...inputs[i]!.slice(0, -1), [inputs[i]!.at(-1)!, { generateNext: { probabilities: true } }]])),
        );
        const maps = results.map((r) => r.at(-1)!.next.probabilities!);
        const size = Math.max(...maps.map((m) => Math.max(...m.keys()) + 1));
        const distributions = maps.map((m) => {
          const d = new Float64Array(size);
          for (const [t, p] of m) d[t] = p;
          return d;
        });
        const combined = combine(distributions);
        let best = 0;
        for (let t = 1; t < combined.length; t++) if (combined[t]! > combined[best]!) best = t;
        if (model.isEogToken(best as Token)) break;
        out.push(best as Token);
        inputs = prompts.map(() => [best as Token]);
      }
      for (const s of sequences) s.dispose();
      return model.detokenize(out);
    }

    const counter = (text: string) => ({ messages: [{ role: 'user' as const, content: text }] });
    const debiased = await client.complete(
      completion(DINO_0, modelPath, {
        temperature: 0,
        max_tokens: 6,
        guidance: { type: 'self-debias', decay: 100, epsilon: 0.01, counter_prompts: [counter(DINO_1), counter(DINO_05)] },
      }),
      { sample: 0 },
    );
    assert.equal(debiased.text, await byHand([DINO_0, DINO_1, DINO_05], ([p, ...q]) => selfDebias(p!, q, 100, 0.01), 6));

    const contrasted = await client.complete(
      completion(DINO_1, modelPath, { temperature: 0, max_tokens: 6, guidance: { type: 'contrastive', omega: 0.8, contrast_prompt: counter(DINO_0) } }),
      { sample: 0 },
    );
    assert.equal(contrasted.text, await byHand([DINO_1, DINO_0], ([p, q]) => contrast(p!, q!, 0.8), 6));

    // The guidance changes what is generated: plain greedy decoding of the same prompt differs.
    const plain = await client.complete(completion(DINO_1, modelPath, { temperature: 0, max_tokens: 6 }), { sample: 0 });
    assert.equal(plain.text, await byHand([DINO_1], ([p]) => p!, 6));
    assert.notEqual(plain.text, contrasted.text);

    // Sampled (not greedy) guided generation is reproducible too.
    const sampled = completion(DINO_05, modelPath, { top_k: 5, top_p: 0.9, max_tokens: 8, guidance: { type: 'self-debias', decay: 100, epsilon: 0.01, counter_prompts: [counter(DINO_1)] } });
    const other = (await localService()).service.client('n');
    assert.equal((await client.complete(sampled, { sample: 3 })).text, (await other.complete(sampled, { sample: 3 })).text);
    await context.dispose();
    await model.dispose();
  });

  it('resolves an hf: reference from the hub file URL once into models_dir; plan before that downloads nothing', async () => {
    const body = readFileSync(modelPath);
    const requests: string[] = [];
    const hub = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      if (!req.url?.startsWith('/owner/tiny-GGUF/resolve/main/tiny.gguf')) {
        res.writeHead(404).end('{"error":"Entry not found"}');
        return;
      }
      const range = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? '');
      const start = range ? Number(range[1]) : 0;
      const end = range && range[2] !== '' ? Number(range[2]) : body.length - 1;
      res.writeHead(range ? 206 : 200, {
        'content-length': end - start + 1,
        'accept-ranges': 'bytes',
        'content-type': 'application/octet-stream',
        ...(range ? { 'content-range': `bytes ${start}-${end}/${body.length}` } : {}),
      });
      res.end(req.method === 'HEAD' ? undefined : body.subarray(start, end + 1));
    });
    await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r));
    try {
      const models = join(dir, 'models');
      const cache = tempCache();
      const config = LlmConfigSchema.parse({ provider: 'local', model: 'hf:owner/tiny-GGUF/tiny.gguf', models_dir: models, threads: 1, context_size: 256 });
      const env = { HF_ENDPOINT: `http://127.0.0.1:${(hub.address() as AddressInfo).port}/` };
      const planning = createLlmService({ config, store: cache.store, env, log: capturingLogger() });
      await planning.prepare({ download: false });
      const request = completion(DINO_1, 'hf:owner/tiny-GGUF/tiny.gguf');
      assert.equal(planning.client('n').isCached(request, 0), false);
      assert.equal(requests.length, 0, 'plan asks the hub nothing');
      await planning.close();

      const running = createLlmService({ config, store: cache.store, env, log: capturingLogger() });
      open.push({ service: running, cache });
      await running.prepare({ download: true });
      assert.ok(requests.length >= 1 && requests.every((r) => r.startsWith('GET /owner/tiny-GGUF/resolve/main/tiny.gguf')), requests.join(', '));
      const answer = await running.client('n').complete(request, { sample: 0 });
      // The same file as the local path: the same key, so the answer generated from the path is the same text.
      const local = (await localService()).service.client('n');
      assert.equal(local.requestKey(completion(DINO_1, modelPath), 0), running.client('n').requestKey(request, 0));
      assert.equal((await local.complete(completion(DINO_1, modelPath), { sample: 0 })).text, answer.text);
      // Downloaded once: a new service finds the file without asking the hub.
      const seen = requests.length;
      const again = createLlmService({ config, store: cache.store, env, log: capturingLogger() });
      await again.prepare({ download: true });
      assert.equal(again.client('n').isCached(request, 0), true);
      assert.equal(requests.length, seen);
      await again.close();
    } finally {
      hub.close();
    }
  });

  it('is refused by chat APIs, and a missing file is a configuration problem', async () => {
    const cache = tempCache();
    const anthropic = createLlmService({ config: LlmConfigSchema.parse({}), store: cache.store, env: { ANTHROPIC_API_KEY: 'k' }, log: capturingLogger() });
    const guided = completion(DINO_1, 'claude-haiku-4-5', { temperature: undefined, guidance: { type: 'contrastive', omega: 1, contrast_prompt: { messages: [{ role: 'user', content: DINO_0 }] } } });
    assert.match(anthropic.client('n').validate(guided).join(' '), /guidance needs the local provider/);
    await anthropic.close();
    rmSync(cache.dir, { recursive: true, force: true });

    assert.match(
      llmConfigProblem(LlmConfigSchema.parse({ provider: 'local', model: join(dir, 'missing.gguf') }), {}) ?? '',
      /missing.gguf is not a file/,
    );
    assert.equal(llmConfigProblem(LlmConfigSchema.parse({ provider: 'local', model: 'hf:owner/repo/file.gguf' }), {}), undefined);
    // Without a key: both ways forward, with the local model's name and download size.
    const problem = llmConfigProblem(LlmConfigSchema.parse({}), {}, { variants: ['local'] }) ?? '';
    assert.match(problem, /^No LLM is configured: set ANTHROPIC_API_KEY/);
    assert.match(problem, /--variant local \(downloads its GGUF model once: hf:mradermacher\/gpt2-xl-GGUF\/gpt2-xl\.Q8_0\.gguf, 1\.75 GB/);
    assert.match(llmConfigProblem(LlmConfigSchema.parse({}), {}) ?? '', /--set llm.provider=local --set llm.model=hf:Qwen\/.*0\.68 GB/);
  });
});
