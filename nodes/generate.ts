/**
 * generate: an LLM writes sentences from nothing.
 *   recipe syncse-scratch → sentences {text, genre, topics} (SynCSE-scratch, Zhang et al. 2023, Sec. 3.2)
 *   recipe dino-x1        → sentences {text, task_label} (DINO STS-x1, Schick & Schütze 2021)
 * One item per call; the item key is the call's exact request (with its sample index) and the parser version.
 *
 * Penalties: the paper used presence and frequency penalty 0.3 with OpenAI models. Anthropic has no such
 * parameters, so `presence_penalty` / `frequency_penalty` default to "auto": 0.3 on openai-compatible providers and
 * omitted (with a warning and a stats note) on anthropic. An explicit number is always sent, and a provider that
 * cannot take it is reported by LlmClient.validate() before any call.
 */
import { z } from 'zod';
import { defineNode, NodeUserError, type NodeContext } from '../engine/node-type.js';
import type { Row } from '../engine/json.js';
import type { LlmClient } from '../engine/llm/types.js';
import { LlmNodeOptions, completeAndParse, resampleParam, type PlannedCall } from './prompts/llm-call.js';
import { estimateJob, llmJobReport, results, streamJob, type LlmJob } from './prompts/llm-job.js';
import { dinoParserKey, PARSER_VERSIONS, parseDinoContinuation, parseSentenceList } from './prompts/parsers.js';
import { readStringList, readYamlFile } from './prompts/files.js';
import { buildScratchRequest, checkTemplates, readGenres, templateSets, TemplatesFile, type Genre } from './prompts/scratch.js';
import { buildDinoRequest, DinoOutputParams, dinoOutputRules, dinoSampling, readCheckedDinoSpec } from './prompts/dino.js';
import { PromptFormat, SelfDebiasGuidance } from './prompts/guidance.js';

const RECIPE_VERSIONS = Object.freeze({ 'syncse-scratch': 1, 'dino-x1': 1 });
/** SynCSE's value, used for openai-compatible providers when the param is "auto". */
const PAPER_PENALTY = 0.3;

/** Nullable sampling parameters: null leaves the parameter out (provider default); see annotate.ts. */
const temperature = (d: number) => z.number().min(0).max(2).nullable().default(d);
const topP = (d: number) => z.number().gt(0).max(1).nullable().default(d);

const Penalty = z.union([z.literal('auto'), z.number().min(-2).max(2), z.null()]).default('auto');

const ScratchParams = z.strictObject({
  recipe: z.literal('syncse-scratch'),
  model: z.string().optional(),
  seed: z.number().int().default(0),
  resample: resampleParam,
  /**
   * Prompt templates with {n} {genre} {description} {topics} {example}: a YAML list, or named lists (general, and
   * e.g. captions for image captions); one template of the genre's set is sampled per call.
   */
  templates: z.string().default('prompts/syncse/v2/scratch-templates.yaml'),
  /** Genres with a description and an example sentence, or a bank of them. */
  genres: z.string().default('prompts/syncse/v2/genres.yaml'),
  /** Sentences drawn from a genre's bank as the call's one-shot example (SynCSE: 10 of a bank of 30). */
  example_sentences: z.number().int().min(1).max(100).default(10),
  /** Topic list, one per line. */
  topics: z.string().default('prompts/syncse/v1/topics.txt'),
  /** Calls per genre: the output size is about genres × calls_per_genre × sentences_per_call. */
  calls_per_genre: z.number().int().min(1).max(100000).default(4),
  topics_per_call: z.number().int().min(1).max(50).default(6),
  sentences_per_call: z.number().int().min(1).max(100).default(20),
  /** SynCSE: 1.3 (OpenAI range 0-2); on anthropic, which accepts at most 1, 1 is sent and plan says so. */
  temperature: temperature(1.3),
  /** SynCSE: 1.0; on anthropic, which refuses top_p with temperature on recent models, 1.0 (no-op) is not sent. */
  top_p: topP(1.0),
  /** "auto": 0.3 on openai-compatible, omitted on anthropic; null: never sent; a number: always sent. */
  presence_penalty: Penalty,
  frequency_penalty: Penalty,
  max_tokens: z.number().int().min(64).max(8192).default(2048),
});

const DinoX1Params = z.strictObject({
  recipe: z.literal('dino-x1'),
  model: z.string().optional(),
  resample: resampleParam,
  spec: z.string().default('prompts/dino/v1/sts-x1.yaml'),
  /** Calls per task instruction (DINO generated x1 with each of the three STS instructions). */
  calls_per_label: z.number().int().min(1).max(1000000).default(100),
  temperature: temperature(1.0),
  top_p: topP(0.9),
  top_k: z.number().int().min(1).optional(),
  max_tokens: z.number().int().min(8).max(1024).default(64),
  ...DinoOutputParams,
  /** local provider: completion continues the instruction as raw text (a base LM, as DINO), cut at the closing quote. */
  prompt_format: PromptFormat,
  /** local provider: self-debiasing against each label's counter_labels in the spec (none in sts-x1.yaml). */
  guidance: SelfDebiasGuidance.optional(),
});

export const GenerateParams = z.discriminatedUnion('recipe', [ScratchParams, DinoX1Params]);
export type GenerateParams = z.output<typeof GenerateParams>;

type Ctx = NodeContext<LlmNodeOptions>;

function client(ctx: Ctx, model: string | undefined): LlmClient {
  return ctx.llm(model === undefined ? { mode: ctx.options.mode } : { mode: ctx.options.mode, model });
}

function resolvePenalty(value: 'auto' | number | null, llm: LlmClient, name: string, ctx: Ctx, notes: string[]): number | undefined {
  if (value === null) return undefined;
  if (value !== 'auto') return value;
  if (llm.provider === 'openai-compatible') return PAPER_PENALTY;
  const note = `${name} 0.3 (SynCSE) is not supported by ${llm.provider}; none is sent`;
  ctx.log.warn(note);
  notes.push(note);
  ctx.stats.values = { ...ctx.stats.values, [`${name}_omitted`]: true };
  return undefined;
}

/** Anthropic accepts temperature up to 1: the closest allowed value is sent, and plan and the log say so. */
const ANTHROPIC_MAX_TEMPERATURE = 1;

function resolveScratchSampling(p: z.output<typeof ScratchParams>, llm: LlmClient, ctx: Ctx, notes: string[]): { temperature?: number; top_p?: number } {
  let temperature = p.temperature ?? undefined;
  let topP = p.top_p ?? undefined;
  if (llm.provider === 'anthropic') {
    if (temperature !== undefined && temperature > ANTHROPIC_MAX_TEMPERATURE) {
      const note = `temperature ${temperature} (SynCSE) is above anthropic's maximum; sending ${ANTHROPIC_MAX_TEMPERATURE}, the closest allowed value`;
      ctx.log.warn(note);
      notes.push(note);
      ctx.stats.values = { ...ctx.stats.values, temperature_sent: ANTHROPIC_MAX_TEMPERATURE };
      temperature = ANTHROPIC_MAX_TEMPERATURE;
    }
    // top_p 1.0 keeps the whole distribution, the same as sending none; recent Claude models refuse it beside temperature.
    if (topP === 1 && temperature !== undefined) topP = undefined;
  }
  return { ...(temperature === undefined ? {} : { temperature }), ...(topP === undefined ? {} : { top_p: topP }) };
}

interface ScratchItem {
  genre: Genre;
  /** The call index is the sample index: two calls that drew the same template and topics stay distinct. */
  call: PlannedCall;
  topics: string[];
}

function scratchJob(p: z.output<typeof ScratchParams>, ctx: Ctx): LlmJob<ScratchItem, Row[]> {
  const templates = templateSets(readYamlFile(ctx.resolvePath(p.templates), TemplatesFile, ['templates']));
  checkTemplates(templates, p.templates, ['templates']);
  const genres = readGenres(ctx.resolvePath(p.genres), ['genres']);
  const topics = readStringList(ctx.resolvePath(p.topics), ['topics']);
  if (topics.length < p.topics_per_call) {
    throw new NodeUserError(`${p.topics} has ${topics.length} topics, fewer than topics_per_call ${p.topics_per_call}`, ['topics_per_call']);
  }
  const llm = client(ctx, p.model);
  const notes: string[] = [];
  const s = {
    seed: p.seed,
    example_sentences: p.example_sentences,
    model: llm.model,
    topics_per_call: p.topics_per_call,
    sentences_per_call: p.sentences_per_call,
    ...resolveScratchSampling(p, llm, ctx, notes),
    presence_penalty: resolvePenalty(p.presence_penalty, llm, 'presence_penalty', ctx, notes),
    frequency_penalty: resolvePenalty(p.frequency_penalty, llm, 'frequency_penalty', ctx, notes),
    max_tokens: p.max_tokens,
  };
  // Items (each holding its request) are built one at a time for a run, all at once only for `plan`.
  function* each(): Generator<ScratchItem> {
    for (const genre of genres) {
      for (let call = 0; call < p.calls_per_genre; call++) {
        const built = buildScratchRequest(templates, genre, topics, call, s);
        yield { genre, call: { request: built.request, sample: call }, topics: built.topics };
      }
    }
  }
  const source = generatedItems(each);
  return {
    llm,
    get items() {
      return source.all();
    },
    stream: source.stream,
    calls: (item) => [item.call],
    namespace: `generate/syncse-scratch@${RECIPE_VERSIONS['syncse-scratch']}`,
    label: 'generate (SynCSE-scratch)',
    resample: p.resample,
    group: { name: 'genre', of: (item) => item.genre.name },
    describe: (item) => `${item.genre.name}: ${item.topics.join(', ')}`,
    parser: PARSER_VERSIONS.list,
    param: ['presence_penalty'],
    notes,
    run: async (item, signal) => {
      const sentences = await completeAndParse(llm, item.call, signal, parseSentenceList);
      return sentences.map((text) => ({ text, genre: item.genre.name, topics: item.topics.join('; ') }));
    },
  };
}

function dinoX1Job(p: z.output<typeof DinoX1Params>, ctx: Ctx): LlmJob<{ label: number; call: PlannedCall }, Row> {
  const spec = readCheckedDinoSpec(ctx.resolvePath(p.spec), p.spec);
  const rules = dinoOutputRules(p);
  const llm = client(ctx, p.model);
  const s = dinoSampling(llm.model, p);
  function* each(): Generator<{ label: number; call: PlannedCall }> {
    for (const l of spec.labels) {
      for (let sample = 0; sample < p.calls_per_label; sample++) yield { label: l.label, call: { request: buildDinoRequest(spec, l.instruction, undefined, s), sample } };
    }
  }
  const source = generatedItems(each);
  return {
    llm,
    get items() {
      return source.all();
    },
    stream: source.stream,
    calls: (item) => [item.call],
    namespace: `generate/dino-x1@${RECIPE_VERSIONS['dino-x1']}`,
    label: 'generate (DINO x1)',
    resample: p.resample,
    group: { name: 'label', of: (item) => String(item.label) },
    describe: (item) => `label ${item.label}`,
    parser: dinoParserKey(rules),
    run: async (item, signal) => {
      const text = await completeAndParse(llm, item.call, signal, (r) => parseDinoContinuation(r, 'Sentence 1', rules));
      return { text, task_label: item.label };
    },
  };
}

export const generate = defineNode({
  type: 'generate',
  version: 1,
  description: 'LLM sentence generation from scratch: SynCSE-scratch (genres × topics) or DINO x1.',
  params: GenerateParams,
  options: LlmNodeOptions,
  inputs: {},
  outputs: { sentences: { kind: 'sentences', description: '{text, ...}: genre and topics (syncse-scratch) or task_label (dino-x1)' } },
  uses: { llm: true },
  report: (view) => llmJobReport(view.stats),
  files: (p) => (p.recipe === 'syncse-scratch' ? [p.templates, p.genres, p.topics] : [p.spec]),
  async estimate(_inputs, params, ctx) {
    return params.recipe === 'syncse-scratch' ? estimateJob(scratchJob(params, ctx)) : estimateJob(dinoX1Job(params, ctx));
  },
  // Streamed: requests are built, sent and their sentences written a window at a time.
  async run(_inputs, params, ctx) {
    if (params.recipe === 'syncse-scratch') return { sentences: flatten(results(streamJob(scratchJob(params, ctx), ctx))) };
    return { sentences: results(streamJob(dinoX1Job(params, ctx), ctx)) };
  },
});

async function* flatten(lists: AsyncIterable<Row[]>): AsyncGenerator<Row> {
  for await (const list of lists) yield* list;
}

/** A job's items from a generator: built one at a time for a run, all at once (and once) only when `plan` asks. */
function generatedItems<I>(each: () => Iterable<I>): { all(): I[]; stream(): AsyncIterable<I> } {
  let all: I[] | undefined;
  return {
    all() {
      all ??= [...each()];
      return all;
    },
    async *stream() {
      yield* each();
    },
  };
}
