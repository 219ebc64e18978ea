/**
 * bench:local — generation speed of the local provider (llama.cpp through node-llama-cpp), plain and guided, on
 * models with random weights written by the test support (nothing is downloaded):
 *   tiny:      2 layers, width 32, 642-token vocabulary (the test model);
 *   realistic: GPT-2-small layer sizes (12 layers, width 768, feed-forward 3072, 12 heads) and GPT-2's vocabulary
 *              size (50,257), f32 weights.
 * For each: DINO completion prompts, one call at a time, a fixed number of new tokens per call (no stop string).
 *   plain:  sampling inside llama.cpp (top-k 5, top-p 0.9), one sequence;
 *   guided: self-debiasing with two counter-label prompts, so three prompts per step evaluated as three sequences of
 *           one batch, the full distributions read back and combined in JavaScript, one token appended to all.
 * guided_cost_ratio = (plain tokens/s) / (guided tokens/s); the target is at most prompts_per_step (3), which holds
 * only when the three sequences are evaluated together rather than one after another. The same ratio is given for
 * decoding alone (guided_decode_cost_ratio: where batching pays) and for the prompt evaluation alone
 * (guided_prefill_cost_ratio: three prompts are three times the tokens). Plain and guided calls alternate.
 * The last stdout line is one JSON object (the realistic model's figures at top level, each model's under `models`).
 * BENCH_LOCAL_THREADS (default 1), BENCH_LOCAL_CALLS (default 6), BENCH_LOCAL_TOKENS (default 32),
 * BENCH_LOCAL_MODELS (tiny,realistic).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalProvider } from '../engine/llm/providers/local.js';
import type { LlmRequest } from '../engine/llm/types.js';
import { writeTinyGguf, type TinyGgufOptions } from '../test/support/tiny-gguf.js';

const THREADS = Number(process.env.BENCH_LOCAL_THREADS ?? 1);
const CALLS = Number(process.env.BENCH_LOCAL_CALLS ?? 6);
const TOKENS = Number(process.env.BENCH_LOCAL_TOKENS ?? 32);
const MODELS = (process.env.BENCH_LOCAL_MODELS ?? 'tiny,realistic').split(',');

const SHAPES: Record<string, TinyGgufOptions> = {
  tiny: { seed: 1 },
  realistic: { seed: 1, embedding: 768, layers: 12, heads: 12, feedForward: 3072, vocabularySize: 50_257 },
};

const X1 = ['a man sits on a chair', 'two children play with a ball in the park', 'a woman reads a book', 'the dog runs on the beach'];
const instruction = (kind: string, x1: string): string => `Task: Write two sentences that ${kind}.\nSentence 1: "${x1}"\nSentence 2: "`;

interface Figures {
  plain_tokens_per_s: number;
  guided_tokens_per_s: number;
  prompts_per_step: number;
  guided_cost_ratio: number;
  plain_decode_tokens_per_s: number;
  guided_decode_tokens_per_s: number;
  guided_decode_cost_ratio: number;
  guided_prefill_cost_ratio: number;
  plain_tokens: number;
  guided_tokens: number;
  model_bytes: number;
  write_s: number;
}

async function measure(name: string, dir: string): Promise<Figures> {
  const path = join(dir, `${name}.gguf`);
  let started = performance.now();
  const { bytes } = writeTinyGguf(path, SHAPES[name]!);
  const writeS = (performance.now() - started) / 1000;
  const provider = new LocalProvider({ sequences: 3, contextSize: 256, threads: THREADS, log: { info: () => {}, warn: () => {} } });
  // Every call gets its own x1 (a tag and a number in front), so no call finds its prompt already evaluated in a
  // sequence (the provider reuses held prefixes): calls share only the template's first line, as DINO's do.
  const request = (i: number, guided: boolean, tag = guided ? 'g' : 'p'): LlmRequest => {
    const x1 = `${tag}${i} ${X1[i % X1.length]!}`;
    return {
      model: path,
      messages: [{ role: 'user', content: instruction('are on completely different topics', x1) }],
      max_tokens: TOKENS,
      prompt_format: 'completion',
      temperature: 1,
      top_k: 5,
      top_p: 0.9,
      ...(guided
        ? {
            guidance: {
              type: 'self-debias' as const,
              decay: 100,
              epsilon: 0.01,
              counter_prompts: [
                { messages: [{ role: 'user' as const, content: instruction('mean the same thing', x1) }] },
                { messages: [{ role: 'user' as const, content: instruction('are somewhat similar', x1) }] },
              ],
            },
          }
        : {}),
    };
  };
  // Warm-up: loads the model and the context.
  await provider.send(request(0, false), { timeoutMs: 0, requestKey: 'ff' });
  // Plain and guided calls alternate, so a change in machine load affects both alike. Calls with max_tokens 1 measure
  // the prompt evaluation (prefill) alone; the rest of a call's time is decoding.
  const totals = { plain: { tokens: 0, s: 0, prefillS: 0 }, guided: { tokens: 0, s: 0, prefillS: 0 } };
  const timed = async (r: LlmRequest, key: string): Promise<{ tokens: number; s: number }> => {
    const t = performance.now();
    const reply = await provider.send(r, { timeoutMs: 0, requestKey: key });
    return { tokens: reply.usage.output_tokens, s: (performance.now() - t) / 1000 };
  };
  for (let i = 0; i < CALLS; i++) {
    const key = (i * 7919 + 1).toString(16).padStart(8, '0');
    for (const mode of ['plain', 'guided'] as const) {
      const full = await timed(request(i, mode === 'guided'), key);
      totals[mode].tokens += full.tokens;
      totals[mode].s += full.s;
      totals[mode].prefillS += (await timed({ ...request(i, mode === 'guided', `${mode}-prefill`), max_tokens: 1 }, key)).s;
    }
  }
  await provider.close();
  const rate = (t: { tokens: number; s: number }) => t.tokens / t.s;
  const decodeRate = (t: { tokens: number; s: number; prefillS: number }) => (t.tokens - CALLS) / (t.s - t.prefillS);
  return {
    plain_tokens_per_s: round(rate(totals.plain)),
    guided_tokens_per_s: round(rate(totals.guided)),
    prompts_per_step: 3,
    guided_cost_ratio: round(rate(totals.plain) / rate(totals.guided)),
    plain_decode_tokens_per_s: round(decodeRate(totals.plain)),
    guided_decode_tokens_per_s: round(decodeRate(totals.guided)),
    guided_decode_cost_ratio: round(decodeRate(totals.plain) / decodeRate(totals.guided)),
    guided_prefill_cost_ratio: round(totals.guided.prefillS / totals.plain.prefillS),
    plain_tokens: totals.plain.tokens,
    guided_tokens: totals.guided.tokens,
    model_bytes: bytes,
    write_s: round(writeS),
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

const dir = mkdtempSync(join(tmpdir(), 'synthcse-bench-local-'));
try {
  const models: Record<string, Figures> = {};
  for (const name of MODELS) {
    models[name] = await measure(name, dir);
    console.log(`${name}: ${JSON.stringify(models[name])}`);
  }
  const headline = models.realistic ?? models[MODELS[0]!]!;
  console.log(
    JSON.stringify({
      plain_tokens_per_s: headline.plain_tokens_per_s,
      guided_tokens_per_s: headline.guided_tokens_per_s,
      prompts_per_step: headline.prompts_per_step,
      guided_cost_ratio: headline.guided_cost_ratio,
      guided_decode_cost_ratio: headline.guided_decode_cost_ratio,
      guided_prefill_cost_ratio: headline.guided_prefill_cost_ratio,
      load_average_1m: round(loadavg()[0]!),
      threads: THREADS,
      calls: CALLS,
      tokens_per_call: TOKENS,
      models,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
