/**
 * The local provider: a GGUF model run in this process by llama.cpp (node-llama-cpp, prebuilt CPU binary).
 *
 * - Model: a file path or an hf:OWNER/REPO/FILE.gguf reference that node-llama-cpp resolves and downloads once into
 *   its models folder. The file's sha256 names the model in request keys (`modelKeyOf`), so a renamed or moved file
 *   keeps its cached answers and a different file with the same name does not inherit them.
 * - Prompts: chat requests go through the chat template the GGUF carries; `prompt_format: completion` sends the
 *   single user message as raw text for a base LM to continue (DINO).
 * - Sampling is seeded by the request key (which holds the sample index), so an answer is reproducible.
 * - Concurrency: one llama.cpp context with `sequences` sequences; calls take one sequence per prompt and their
 *   evaluations are batched together by node-llama-cpp. A call waits for free sequences (first come, first served).
 *   A sequence keeps its tokens after a call, and a prompt sharing a prefix with them evaluates only the rest.
 * - Guidance (request.guidance): the request's prompt and its counter/contrast prompts run as parallel sequences;
 *   each step reads every sequence's full next-token distribution, combines them (guidance.ts), draws one token and
 *   appends it to every sequence. Plain calls sample inside llama.cpp.
 * - Generation stops at an end-of-generation token, at a stop string (the answer is cut before it), or at max_tokens.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Llama, LlamaContext, LlamaContextSequence, LlamaModel, Token } from 'node-llama-cpp';
import { contrast, sampleToken, seededUniform, selfDebias, type Distribution, type SamplingParameters } from '../guidance.js';
import { ProviderFailure, type OnlineProvider, type ProviderReply, type SendOptions } from '../provider.js';
import type { GuidancePrompt, LlmRequest } from '../types.js';

export interface LocalProviderOptions {
  /** Parallel sequences in the model's context. */
  sequences: number;
  /** Tokens per sequence. */
  contextSize: number;
  threads?: number;
  /** Download folder for hf: references (default: node-llama-cpp's). */
  modelsDir?: string;
  /** The Hugging Face endpoint hf: references resolve against (HF_ENDPOINT; default huggingface.co). */
  hfEndpoint?: string;
  log: { info(message: string): void; warn(message: string): void };
}

interface ModelFile {
  path: string;
  sha256: string;
  bytes: number;
}

interface LoadedModel {
  model: LlamaModel;
  context: LlamaContext;
  free: LlamaContextSequence[];
  waiting: { prompts: readonly Token[][]; grant: (sequences: LlamaContextSequence[]) => void }[];
  chat: ChatTemplate;
}

interface ChatTemplate {
  tokens(prompt: GuidancePrompt): Token[];
  stopTokens: Set<Token>;
}

type StopReason = 'end_turn' | 'stop_sequence' | 'max_tokens';

let llamaRuntime: Promise<Llama> | undefined;

/** One llama.cpp runtime per process: the prebuilt CPU binary, never a build. */
function llama(): Promise<Llama> {
  llamaRuntime ??= import('node-llama-cpp').then(({ getLlama, LlamaLogLevel }) =>
    getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error }),
  );
  return llamaRuntime;
}

/** sha256 of files already hashed in this process, by path, size and modification time. */
const digestMemo = new Map<string, string>();

async function fileDigest(path: string): Promise<ModelFile> {
  const stat = statSync(path);
  const memoKey = `${path}\u0000${stat.size}\u0000${stat.mtimeMs}`;
  let sha256 = digestMemo.get(memoKey);
  if (sha256 === undefined) {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 22 })) hash.update(chunk as Buffer);
    sha256 = hash.digest('hex');
    digestMemo.set(memoKey, sha256);
  }
  return { path, sha256, bytes: stat.size };
}

export class LocalProvider implements OnlineProvider {
  readonly name = 'local' as const;
  readonly tokenLimitCountsOutput = true;
  private readonly files = new Map<string, Promise<ModelFile | undefined>>();
  private readonly resolved = new Map<string, ModelFile>();
  private readonly models = new Map<string, Promise<LoadedModel>>();

  constructor(private readonly options: LocalProviderOptions) {}

  /** The key material for `model`: its file's sha256, once `prepare` found the file; else undefined. */
  modelKeyOf(model: string): string | undefined {
    return this.resolved.get(model)?.sha256;
  }

  /** Finds (and with `download`, downloads) the model file and hashes it. */
  async prepare(model: string, options: { download: boolean }): Promise<void> {
    if (this.resolved.has(model)) return;
    const key = `${options.download}\u0000${model}`;
    let pending = this.files.get(key);
    if (pending === undefined) {
      pending = this.locate(model, options.download);
      this.files.set(key, pending);
      pending.catch(() => this.files.delete(key));
    }
    const file = await pending;
    if (file !== undefined) this.resolved.set(model, file);
  }

  private async locate(model: string, download: boolean): Promise<ModelFile | undefined> {
    if (!model.startsWith('hf:')) {
      const path = resolve(model);
      if (!existsSync(path)) throw new ProviderFailure('invalid-request', `The model file ${model} does not exist: set llm.model to a GGUF file or an hf: reference.`);
      return fileDigest(path);
    }
    const { resolveModelFile } = await import('node-llama-cpp');
    let lastReport = 0;
    const resolving = resolveModelFile(model, {
      ...(this.options.modelsDir === undefined ? {} : { directory: this.options.modelsDir }),
      download: download ? 'auto' : false,
      cli: false,
      ...(this.options.hfEndpoint === undefined ? {} : { endpoints: { huggingFace: this.options.hfEndpoint } }),
      onProgress: ({ totalSize, downloadedSize }) => {
        if (Date.now() - lastReport < 5_000) return;
        lastReport = Date.now();
        this.options.log.info(`downloading ${model}: ${(downloadedSize / 1e6).toFixed(0)} of ${(totalSize / 1e6).toFixed(0)} MB`);
      },
    });
    // Without download (plan), a model not fetched yet is simply absent: nothing can be cached for it.
    const path = download ? await resolving : await resolving.catch(() => undefined);
    return path !== undefined && existsSync(path) ? fileDigest(path) : undefined;
  }

  validate(request: LlmRequest): string[] {
    const problems: string[] = [];
    if (request.temperature !== undefined && (request.temperature < 0 || request.temperature > 2)) {
      problems.push(`temperature ${request.temperature} is outside the range 0 to 2.`);
    }
    if (request.top_p !== undefined && !(request.top_p > 0 && request.top_p <= 1)) problems.push(`top_p ${request.top_p} is outside (0, 1].`);
    if (request.top_k !== undefined && !(Number.isInteger(request.top_k) && request.top_k >= 1)) problems.push(`top_k must be a positive integer.`);
    if (request.min_p !== undefined && !(request.min_p >= 0 && request.min_p <= 1)) problems.push(`min_p ${request.min_p} is outside [0, 1].`);
    if (request.presence_penalty !== undefined || request.frequency_penalty !== undefined) {
      problems.push('presence_penalty and frequency_penalty are not supported by the local provider.');
    }
    const prompts = 1 + extraPrompts(request).length;
    if (request.prompt_format === 'completion') {
      for (const prompt of [request, ...extraPrompts(request)]) {
        if (prompt.system !== undefined || prompt.messages.length !== 1) {
          problems.push('prompt_format completion takes exactly one user message (the text to continue) and no system prompt.');
          break;
        }
      }
    }
    if (request.guidance?.type === 'self-debias' && !(request.guidance.decay >= 0 && request.guidance.epsilon >= 0 && request.guidance.epsilon <= 1)) {
      problems.push('self-debias needs decay ≥ 0 and epsilon in [0, 1].');
    }
    if (prompts > this.options.sequences) {
      problems.push(`a guided call evaluates ${prompts} prompts at once but llm.sequences is ${this.options.sequences}; set llm.sequences to at least ${prompts}.`);
    }
    return problems;
  }

  async send(request: LlmRequest, options: SendOptions): Promise<ProviderReply> {
    await this.prepare(request.model, { download: true });
    const file = this.resolved.get(request.model);
    if (file === undefined) throw new ProviderFailure('invalid-request', `The model ${request.model} could not be found or downloaded.`);
    let loaded: LoadedModel;
    try {
      loaded = await this.load(file);
    } catch (error) {
      throw new ProviderFailure('invalid-request', `llama.cpp could not load ${request.model} (${file.path}): ${(error as Error).message}`);
    }
    const prompts = [request, ...extraPrompts(request)];
    const tokens = prompts.map((p) => (request.prompt_format === 'completion' ? completionTokens(loaded.model, p) : loaded.chat.tokens(p)));
    const longest = Math.max(...tokens.map((t) => t.length));
    if (longest + request.max_tokens > loaded.context.contextSize) {
      throw new ProviderFailure(
        'invalid-request',
        `A prompt of ${longest} tokens plus max_tokens ${request.max_tokens} does not fit the context of ${loaded.context.contextSize} tokens; raise llm.context_size.`,
      );
    }
    const sequences = await acquire(loaded, tokens, options.signal);
    try {
      const seed = seedOf(options.requestKey ?? '');
      const generated = await generate(loaded, sequences, tokens, request, seed, options.signal);
      const text = generated.text;
      return {
        text,
        stopReason: generated.stopReason,
        model: request.model,
        // As for the APIs, input_tokens excludes what was read from a cache: here, prompt tokens a sequence held.
        usage: {
          input_tokens: generated.evaluatedPromptTokens,
          output_tokens: generated.tokens.length,
          cache_read_input_tokens: tokens.reduce((n, t) => n + t.length, 0) - generated.evaluatedPromptTokens,
          cache_creation_input_tokens: 0,
        },
        raw: {
          text,
          stop_reason: generated.stopReason,
          generated_tokens: generated.tokens.length,
          prompts: prompts.length,
          seed,
          model_sha256: file.sha256,
        },
      };
    } finally {
      release(loaded, sequences);
    }
  }

  private load(file: ModelFile): Promise<LoadedModel> {
    let pending = this.models.get(file.sha256);
    if (pending === undefined) {
      pending = (async () => {
        const runtime = await llama();
        const model = await runtime.loadModel({ modelPath: file.path });
        const context = await model.createContext({
          sequences: this.options.sequences,
          contextSize: Math.min(this.options.contextSize, model.trainContextSize),
          // node-llama-cpp's default may exceed the cores that do math (4 threads on 2 cores), and spinning threads on
          // a busy machine slow every step down by orders of magnitude.
          threads: this.options.threads ?? runtime.cpuMathCores,
        });
        const free = Array.from({ length: this.options.sequences }, () => context.getSequence());
        return { model, context, free, waiting: [], chat: await chatTemplate(model) };
      })();
      this.models.set(file.sha256, pending);
      pending.catch(() => this.models.delete(file.sha256));
    }
    return pending;
  }

  async close(): Promise<void> {
    for (const pending of this.models.values()) {
      const loaded = await pending.catch(() => undefined);
      if (loaded === undefined) continue;
      await loaded.context.dispose();
      await loaded.model.dispose();
    }
    this.models.clear();
  }
}

function extraPrompts(request: LlmRequest): GuidancePrompt[] {
  const g = request.guidance;
  if (g === undefined) return [];
  return g.type === 'self-debias' ? g.counter_prompts : [g.contrast_prompt];
}

function completionTokens(model: LlamaModel, prompt: GuidancePrompt): Token[] {
  const text = prompt.messages[0]?.content ?? '';
  const tokens = model.tokenize(text);
  const bos = model.tokens.bos;
  return model.tokens.shouldPrependBosToken && bos !== null ? [bos, ...tokens] : tokens;
}

async function chatTemplate(model: LlamaModel): Promise<ChatTemplate> {
  const { resolveChatWrapper } = await import('node-llama-cpp');
  const wrapper = resolveChatWrapper(model);
  const stopTokens = new Set<Token>();
  return {
    stopTokens,
    tokens(prompt) {
      const history = [
        ...(prompt.system === undefined ? [] : [{ type: 'system' as const, text: prompt.system }]),
        ...prompt.messages.map((m) => (m.role === 'user' ? { type: 'user' as const, text: m.content } : { type: 'model' as const, response: [m.content] })),
        { type: 'model' as const, response: [] },
      ];
      const { contextText, stopGenerationTriggers } = wrapper.generateContextState({ chatHistory: history });
      for (const trigger of stopGenerationTriggers) {
        const tokens = trigger.tokenize(model.tokenizer);
        if (tokens.length === 1) stopTokens.add(tokens[0]!);
      }
      return contextText.tokenize(model.tokenizer);
    },
  };
}

/**
 * Takes one free sequence per prompt (first come, first served: a guided call waiting for three sequences is not
 * overtaken by plain ones). Sequences keep what they last evaluated, and each prompt gets the free sequence that
 * already holds the longest prefix of it: DINO evaluates the same instructions for one x1 in several calls (samples,
 * and counter-label prompts), and those tokens are then evaluated once.
 */
function acquire(loaded: LoadedModel, prompts: readonly Token[][], signal: AbortSignal | undefined): Promise<LlamaContextSequence[]> {
  if (loaded.waiting.length === 0 && loaded.free.length >= prompts.length) return Promise.resolve(pick(loaded.free, prompts));
  return new Promise((resolvePromise, reject) => {
    const entry = {
      prompts,
      grant: (sequences: LlamaContextSequence[]) => {
        signal?.removeEventListener('abort', onAbort);
        resolvePromise(sequences);
      },
    };
    const onAbort = (): void => {
      loaded.waiting.splice(loaded.waiting.indexOf(entry), 1);
      reject(new ProviderFailure('aborted', 'The call was aborted while waiting for a llama.cpp sequence.'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    loaded.waiting.push(entry);
  });
}

/** Removes from `free` and returns, for each prompt in order, the sequence holding the longest prefix of it. */
function pick(free: LlamaContextSequence[], prompts: readonly Token[][]): LlamaContextSequence[] {
  return prompts.map((prompt) => {
    let best = 0;
    let bestLength = -1;
    free.forEach((sequence, i) => {
      const length = commonPrefixLength(sequence.contextTokens, prompt);
      if (length > bestLength) [best, bestLength] = [i, length];
    });
    return free.splice(best, 1)[0]!;
  });
}

function commonPrefixLength(a: readonly Token[], b: readonly Token[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

/**
 * Erases what the sequence holds beyond the prompt's longest shared prefix and returns the tokens still to evaluate
 * (at least the last one, whose next-token distribution is needed).
 */
async function reuse(sequence: LlamaContextSequence, prompt: readonly Token[]): Promise<Token[]> {
  const keep = Math.min(commonPrefixLength(sequence.contextTokens, prompt), prompt.length - 1);
  if (sequence.nextTokenIndex > keep) await sequence.eraseContextTokenRanges([{ start: keep, end: sequence.nextTokenIndex }]);
  return prompt.slice(keep);
}

function release(loaded: LoadedModel, sequences: LlamaContextSequence[]): void {
  loaded.free.push(...sequences);
  while (loaded.waiting.length > 0 && loaded.free.length >= loaded.waiting[0]!.prompts.length) {
    const next = loaded.waiting.shift()!;
    next.grant(pick(loaded.free, next.prompts));
  }
}

/** A 32-bit seed from the request key (hex), so each request and sample draws its own reproducible stream. */
function seedOf(requestKey: string): number {
  const hex = requestKey.replace(/[^0-9a-f]/gi, '').slice(0, 8);
  return hex === '' ? 0 : Number.parseInt(hex, 16);
}

interface Generated {
  text: string;
  tokens: Token[];
  stopReason: StopReason;
  /** Prompt tokens evaluated by this call (the rest were held by the sequences from earlier calls). */
  evaluatedPromptTokens: number;
}

async function generate(
  loaded: LoadedModel,
  sequences: LlamaContextSequence[],
  prompts: Token[][],
  request: LlmRequest,
  seed: number,
  signal: AbortSignal | undefined,
): Promise<Generated> {
  const { model } = loaded;
  const uniform = seededUniform(seed);
  const sampling: SamplingParameters = {
    temperature: request.temperature ?? 1,
    ...(request.top_k === undefined ? {} : { topK: request.top_k }),
    ...(request.top_p === undefined ? {} : { topP: request.top_p }),
    ...(request.min_p === undefined ? {} : { minP: request.min_p }),
  };
  const guidance = request.guidance;
  const stops = request.stop ?? [];
  const output: Token[] = [];

  // Plain: llama.cpp samples (seeded per step from the same stream). Guided: every sequence returns its distribution.
  const nextOptions = () =>
    guidance === undefined
      ? {
          token: true as const,
          options: {
            temperature: sampling.temperature!,
            topK: sampling.topK ?? 0,
            topP: sampling.topP ?? 1,
            minP: sampling.minP ?? 0,
            seed: Math.floor(uniform() * 2 ** 32),
          },
        }
      : { probabilities: true as const };

  let inputs: Token[][] = await Promise.all(sequences.map((sequence, i) => reuse(sequence, prompts[i]!)));
  const evaluatedPromptTokens = inputs.reduce((n, input) => n + input.length, 0);
  const finish = (stopReason: StopReason): Generated => ({ ...cut(model, output, stops), tokens: output, stopReason, evaluatedPromptTokens });
  for (;;) {
    if (signal?.aborted === true) throw new ProviderFailure('aborted', 'The call was aborted during generation.');
    const generateNext = nextOptions();
    const results = await Promise.all(
      sequences.map((sequence, i) => {
        const input = inputs[i]!;
        return sequence.controlledEvaluate([...input.slice(0, -1), [input[input.length - 1]!, { generateNext }]]);
      }),
    );
    const next = results.map((r) => r[r.length - 1]?.next);
    let token: Token;
    if (guidance === undefined) {
      const sampled = next[0]?.token;
      if (sampled === undefined || sampled === null) return finish('end_turn');
      token = sampled;
    } else {
      const maps = next.map((n) => n?.probabilities);
      const length = Math.max(...maps.map(vocabularyLength));
      const distributions = maps.map((m) => toDistribution(m, length));
      const [main, ...others] = distributions as [Distribution, ...Distribution[]];
      const combined =
        guidance.type === 'self-debias' ? selfDebias(main, others, guidance.decay, guidance.epsilon) : contrast(main, others[0]!, guidance.omega);
      token = sampleToken(combined, sampling, uniform()) as Token;
    }
    if (model.isEogToken(token) || loaded.chat.stopTokens.has(token)) return finish('end_turn');
    output.push(token);
    const text = model.detokenize(output);
    if (stops.some((s) => text.includes(s))) return finish('stop_sequence');
    if (output.length >= request.max_tokens) return finish('max_tokens');
    inputs = sequences.map(() => [token]);
  }
}

/** The answer's text, cut before the first stop string. */
function cut(model: LlamaModel, output: Token[], stops: readonly string[]): { text: string } {
  let text = model.detokenize(output);
  for (const stop of stops) {
    const at = text.indexOf(stop);
    if (at >= 0) text = text.slice(0, at);
  }
  return { text };
}

/** Entries a distribution needs: one past the largest token id llama.cpp returned. */
function vocabularyLength(probabilities: Map<Token, number> | undefined): number {
  if (probabilities === undefined) throw new ProviderFailure('malformed-response', 'llama.cpp returned no next-token probabilities.');
  let length = 0;
  for (const token of probabilities.keys()) if (token >= length) length = token + 1;
  return length;
}

function toDistribution(probabilities: Map<Token, number> | undefined, length: number): Distribution {
  const out = new Float64Array(length);
  for (const [token, p] of probabilities!) out[token] = p;
  return out;
}
