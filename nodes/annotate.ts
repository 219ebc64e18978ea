/**
 * annotate: an LLM writes labels for given sentences.
 *   recipe syncse   → triplets {anchor, positive, negative} (SynCSE-partial, Zhang et al. 2023, Table 1 instructions)
 *   recipe multicsr → triplets (MultiCSR generation prompts, Wang et al. 2024)
 *   recipe dino-x2  → pairs {text_a, text_b, label} for labels 1 / 0.5 / 0 (DINO STS-x2, Schick & Schütze 2021)
 * The port the recipe does not produce is an empty dataset.
 *
 * Every item is one mapItems entry whose key is the exact list of LLM requests (with sample indices) and the
 * parser version; request sampling is seeded per item (see prompts/sampling.ts), so editing one instruction or
 * adding input rows re-runs only the calls whose requests changed. Unparseable, refused, empty or cut-off replies
 * fail the item with a short reason; the engine counts and reports them and the row is absent from the output.
 */
import { z } from 'zod';
import { defineNode, NodeUserError, type NodeContext, type PortValue } from '../engine/node-type.js';
import type { Json, Row } from '../engine/json.js';
import type { LlmClient } from '../engine/llm/types.js';
import { readFileSync } from 'node:fs';
import { LlmNodeOptions, completeAndParse, resampleParam, type PlannedCall } from './prompts/llm-call.js';
import { estimateJob, llmJobReport, results, streamJob, type LlmJob } from './prompts/llm-job.js';
import { dinoParserKey, PARSER_VERSIONS, parseDinoContinuation, parseSentence } from './prompts/parsers.js';
import { buildSyncseRequest, readSyncsePool } from './prompts/syncse.js';
import { buildDinoRequest, DinoOutputParams, dinoOutputRules, dinoSampling, readCheckedDinoSpec } from './prompts/dino.js';
import { ContrastiveGuidance, PromptFormat, SelfDebiasGuidance } from './prompts/guidance.js';
import { buildMulticsrRequest } from './prompts/multicsr.js';
import { streamedRows, textOf, textsOf } from './prompts/rows.js';

const RECIPE_VERSIONS = Object.freeze({ syncse: 1, multicsr: 1, 'dino-x2': 1 });

/**
 * Sampling parameters are nullable: null leaves the parameter out of the request, so the provider's default applies.
 * Claude 4.5 models reject temperature together with top_p; Anthropic's default temperature is 1.0, so a pipeline
 * on those models sets `temperature: null` and keeps the paper's top_p without changing the distribution.
 */
const temperature = (d: number) => z.number().min(0).max(2).nullable().default(d);
const topP = (d: number) => z.number().gt(0).max(1).nullable().default(d);

const Common = {
  /** Chat model; defaults to the pipeline's `llm.model`. */
  model: z.string().optional(),
  /** Seeds the per-item sampling of instructions and exemplars. */
  seed: z.number().int().default(0),
  resample: resampleParam,
};

const SyncseParams = z.strictObject({
  recipe: z.literal('syncse'),
  ...Common,
  /** Positive instruction pool with exemplars (relative to the pipeline file). */
  positive: z.string().default('prompts/syncse/v1/positive.yaml'),
  /** Hard-negative instruction pool with exemplars. */
  negative: z.string().default('prompts/syncse/v1/negative.yaml'),
  /** Few-shot exemplars per call, sampled from the instruction's pool (paper: 5). */
  shots: z.number().int().min(0).max(32).default(5),
  /** Triplets per input sentence; each sample draws its own instructions and exemplars. */
  samples: z.number().int().min(1).max(16).default(1),
  temperature: temperature(1.0),
  top_p_positive: topP(0.9),
  top_p_negative: topP(0.95),
  max_tokens: z.number().int().min(16).max(4096).default(256),
  system: z.string().optional(),
});

// No seed: the prompts are fixed and generation is greedy, so a seed would change the key and not the answers.
const MulticsrParams = z.strictObject({
  recipe: z.literal('multicsr'),
  model: Common.model,
  resample: Common.resample,
  entailment: z.string().default('prompts/multicsr/v1/entailment.txt'),
  contradiction: z.string().default('prompts/multicsr/v1/contradiction.txt'),
  samples: z.number().int().min(1).max(16).default(1),
  /** MultiCSR's Flan-T5 generation is greedy. */
  temperature: temperature(0),
  top_p: z.number().gt(0).max(1).nullable().default(null),
  max_tokens: z.number().int().min(16).max(4096).default(256),
  system: z
    .string()
    .optional()
    .default('Reply with the requested sentence only, without quotes or explanations.'),
  /** local provider: contrastive decoding, each instruction against the opposite one (MultiCSR stage 1). */
  guidance: ContrastiveGuidance.optional(),
});

const DinoX2Params = z.strictObject({
  recipe: z.literal('dino-x2'),
  ...Common,
  /** Task specification with one instruction per label. */
  spec: z.string().default('prompts/dino/v1/sts-x2.yaml'),
  /** Samples per input and label (DINO: num_entries_per_input_and_label = 2). */
  samples: z.number().int().min(1).max(32).default(2),
  temperature: temperature(1.0),
  /** DINO decoding: top_p 0.9, top_k 5; top_k is unset by default (OpenAI's own API ignores it; vLLM, llama.cpp and Anthropic read it). */
  top_p: topP(0.9),
  top_k: z.number().int().min(1).optional(),
  /** DINO cut outputs at 40 tokens; a little more room keeps chat models from being cut off. */
  max_tokens: z.number().int().min(8).max(1024).default(64),
  ...DinoOutputParams,
  /** local provider: completion continues the instruction as raw text (a base LM, as DINO), cut at the closing quote. */
  prompt_format: PromptFormat,
  /** local provider: self-debiasing against each label's counter_labels in the spec. */
  guidance: SelfDebiasGuidance.optional(),
});

export const AnnotateParams = z.discriminatedUnion('recipe', [SyncseParams, MulticsrParams, DinoX2Params]);
export type AnnotateParams = z.output<typeof AnnotateParams>;

type Ctx = NodeContext<LlmNodeOptions>;

/** SynCSE items whose built requests are kept (a few KB each). */
const RECENT_BUILDS = 1024;

interface SentenceItem {
  text: string;
  /** The calls' sample index; a re-sample round moves it (resampled()), so the answers are drawn anew. */
  sample: number;
  /** The sample index the requests are built for (SynCSE's exemplar draw): the same in every re-sample round. */
  draw: number;
}

/**
 * The items of a sentences input: `all()` builds them at once (for `plan`), `stream()` one at a time from the
 * input's stream (for a run, which then holds a window of them, not all).
 */
function sentenceItems(input: PortValue | undefined, samples: number): { all(): SentenceItem[]; stream(): AsyncIterable<SentenceItem> } {
  let all: SentenceItem[] | undefined;
  const expand = (text: string, into: (item: SentenceItem) => void) => {
    for (let sample = 0; sample < samples; sample++) into({ text, sample, draw: sample });
  };
  return {
    all() {
      if (all === undefined) {
        const items: SentenceItem[] = [];
        for (const text of textsOf(inputRows(input), 'text', 'sentences')) expand(text, (item) => items.push(item));
        all = items;
      }
      return all;
    },
    async *stream() {
      let index = 0;
      for await (const row of streamedRows(input)) {
        const items: SentenceItem[] = [];
        expand(textOf(row, index++, 'text', 'sentences'), (item) => items.push(item));
        yield* items;
      }
    },
  };
}

function client(ctx: Ctx, model: string | undefined): LlmClient {
  return ctx.llm(model === undefined ? { mode: ctx.options.mode } : { mode: ctx.options.mode, model });
}

function syncseJob(input: PortValue | undefined, p: z.output<typeof SyncseParams>, ctx: Ctx): LlmJob<SentenceItem, Row> {
  const pos = readSyncsePool(ctx.resolvePath(p.positive), ['positive']);
  const neg = readSyncsePool(ctx.resolvePath(p.negative), ['negative']);
  if (pos.role !== 'positive') throw new NodeUserError(`${p.positive} is a ${pos.role} pool`, ['positive']);
  if (neg.role !== 'negative') throw new NodeUserError(`${p.negative} is a ${neg.role} pool`, ['negative']);
  const llm = client(ctx, p.model);
  const base = { seed: p.seed, shots: p.shots, model: llm.model, temperature: p.temperature ?? undefined, max_tokens: p.max_tokens, system: p.system };
  // Requests are built when asked for (they are seeded per item, so every build is the same): holding them all
  // from the start would cost a few KB per premise for the whole run.
  const buildAnew = (item: SentenceItem) => {
    const positive = buildSyncseRequest(pos, item.text, item.draw, { ...base, top_p: p.top_p_positive ?? undefined });
    const negative = buildSyncseRequest(neg, item.text, item.draw, { ...base, top_p: p.top_p_negative ?? undefined });
    return {
      calls: [
        { request: positive.request, sample: item.sample },
        { request: negative.request, sample: item.sample },
      ],
      instructions: [positive.instruction, negative.instruction] as [Json, Json],
    };
  };
  // The run asks for an item's requests three times (its key, its group, its call) close together: the last builds
  // are kept, by item, so each is built once. A bounded map, not one per item: `plan` holds every item.
  const recent = new Map<SentenceItem, ReturnType<typeof buildAnew>>();
  const build = (item: SentenceItem) => {
    let built = recent.get(item);
    if (built === undefined) {
      built = buildAnew(item);
      if (recent.size >= RECENT_BUILDS) recent.delete(recent.keys().next().value!);
      recent.set(item, built);
    }
    return built;
  };
  const source = sentenceItems(input, p.samples);
  return {
    llm,
    get items() {
      return source.all();
    },
    stream: source.stream,
    calls: (item) => build(item).calls,
    namespace: `annotate/syncse@${RECIPE_VERSIONS.syncse}`,
    label: 'annotate (SynCSE)',
    resample: p.resample,
    group: { name: 'instruction (positive / negative)', of: (item) => build(item).instructions.map(String).join(' / ') },
    describe: (item) => item.text,
    parser: PARSER_VERSIONS.sentence,
    run: async (item, signal) => {
      const { calls, instructions } = build(item);
      const [positive, negative] = await Promise.all(calls.map((c) => completeAndParse(llm, c, signal, parseSentence)));
      return {
        anchor: item.text,
        positive: positive!,
        negative: negative!,
        positive_instruction: instructions[0],
        negative_instruction: instructions[1],
      };
    },
  };
}

function readMulticsrTemplate(ctx: Ctx, path: string, param: string): string {
  let text: string;
  try {
    text = readFileSync(ctx.resolvePath(path), 'utf8');
  } catch (error) {
    throw new NodeUserError(`cannot read ${path}: ${(error as Error).message}`, [param]);
  }
  if (!text.includes('{sentence}')) throw new NodeUserError(`${path} has no {sentence} placeholder`, [param]);
  const trimmed = text.replace(/\n+$/, '');
  // The original prompt ends with "': "; an editor's trailing newline (or stripped space) must not change it.
  return trimmed.endsWith(':') ? trimmed + ' ' : trimmed;
}

function multicsrJob(input: PortValue | undefined, p: z.output<typeof MulticsrParams>, ctx: Ctx): LlmJob<SentenceItem, Row> {
  const ent = readMulticsrTemplate(ctx, p.entailment, 'entailment');
  const con = readMulticsrTemplate(ctx, p.contradiction, 'contradiction');
  const llm = client(ctx, p.model);
  const s = {
    model: llm.model,
    temperature: p.temperature ?? undefined,
    top_p: p.top_p ?? undefined,
    max_tokens: p.max_tokens,
    system: p.system,
    ...(p.guidance === undefined ? {} : { contrastive: { omega: p.guidance.omega } }),
  };
  // Built when asked for, as SynCSE's: not held for every premise for the whole run.
  const calls = (item: SentenceItem): PlannedCall[] => [
    { request: buildMulticsrRequest(ent, item.text, s, con), sample: item.sample },
    { request: buildMulticsrRequest(con, item.text, s, ent), sample: item.sample },
  ];
  const source = sentenceItems(input, p.samples);
  return {
    llm,
    get items() {
      return source.all();
    },
    stream: source.stream,
    calls,
    namespace: `annotate/multicsr@${RECIPE_VERSIONS.multicsr}`,
    label: 'annotate (MultiCSR)',
    resample: p.resample,
    describe: (item) => item.text,
    parser: PARSER_VERSIONS.sentence,
    run: async (item, signal) => {
      const [positive, negative] = await Promise.all(calls(item).map((c) => completeAndParse(llm, c, signal, parseSentence)));
      return { anchor: item.text, positive: positive!, negative: negative! };
    },
  };
}

function dinoX2Job(input: PortValue | undefined, p: z.output<typeof DinoX2Params>, ctx: Ctx): LlmJob<{ x1: string; label: number; call: PlannedCall }, Row> {
  const spec = readCheckedDinoSpec(ctx.resolvePath(p.spec), p.spec);
  const rules = dinoOutputRules(p);
  for (const [i, l] of spec.labels.entries()) {
    if (!l.instruction.includes('{x1}')) throw new NodeUserError(`${p.spec}: labels[${i}].instruction has no {x1} placeholder`, ['spec']);
  }
  const llm = client(ctx, p.model);
  const s = dinoSampling(llm.model, p);
  // One item per (x1, label, sample): a failed sample loses one pair, not the whole x1.
  const itemsOf = (x1: string) =>
    spec.labels.flatMap((l) =>
      Array.from({ length: p.samples }, (_, sample) => ({ x1, label: l.label, call: { request: buildDinoRequest(spec, l.instruction, x1, s), sample } })),
    );
  let all: ReturnType<typeof itemsOf> | undefined;
  return {
    llm,
    get items() {
      all ??= textsOf(inputRows(input), 'text', 'sentences').flatMap(itemsOf);
      return all;
    },
    async *stream() {
      let index = 0;
      for await (const row of streamedRows(input)) yield* itemsOf(textOf(row, index++, 'text', 'sentences'));
    },
    calls: (item) => [item.call],
    namespace: `annotate/dino-x2@${RECIPE_VERSIONS['dino-x2']}`,
    label: 'annotate (DINO x2)',
    resample: p.resample,
    group: { name: 'label', of: (item) => String(item.label) },
    describe: (item) => item.x1,
    parser: dinoParserKey(rules),
    run: async (item, signal) => {
      const x2 = await completeAndParse(llm, item.call, signal, (r) => parseDinoContinuation(r, 'Sentence 2', rules));
      return { text_a: item.x1, text_b: x2, label: item.label };
    },
  };
}

function inputRows(value: PortValue | undefined): Row[] {
  return value !== undefined && value.form === 'rows' ? value.rows : [];
}

function recipeFiles(p: AnnotateParams): string[] {
  switch (p.recipe) {
    case 'syncse':
      return [p.positive, p.negative];
    case 'multicsr':
      return [p.entailment, p.contradiction];
    case 'dino-x2':
      return [p.spec];
  }
}

export const annotate = defineNode({
  type: 'annotate',
  version: 1,
  description: 'LLM annotation of given sentences: SynCSE positives + hard negatives, MultiCSR entailment/contradiction, or DINO x2 pairs.',
  params: AnnotateParams,
  options: LlmNodeOptions,
  inputs: { sentences: { kind: 'sentences', description: 'the sentences to annotate (`text` field)' } },
  outputs: {
    triplets: { kind: 'triplets', description: 'syncse / multicsr: {anchor, positive, negative} (empty for dino-x2)' },
    pairs: { kind: 'pairs', description: 'dino-x2: {text_a, text_b, label} (empty for the other recipes)' },
  },
  uses: { llm: true },
  files: recipeFiles,
  report: (view) => llmJobReport(view.stats),
  async estimate(inputs, params, ctx) {
    switch (params.recipe) {
      case 'syncse':
        return estimateJob(syncseJob(inputs.sentences, params, ctx));
      case 'multicsr':
        return estimateJob(multicsrJob(inputs.sentences, params, ctx));
      case 'dino-x2':
        return estimateJob(dinoX2Job(inputs.sentences, params, ctx));
    }
  },
  // Streamed: input rows are read, items run and output rows written a window at a time.
  async run(inputs, params, ctx) {
    switch (params.recipe) {
      case 'syncse':
        return { triplets: results(streamJob(syncseJob(inputs.sentences, params, ctx), ctx)), pairs: [] };
      case 'multicsr':
        return { triplets: results(streamJob(multicsrJob(inputs.sentences, params, ctx), ctx)), pairs: [] };
      case 'dino-x2':
        return { triplets: [], pairs: results(streamJob(dinoX2Job(inputs.sentences, params, ctx), ctx)) };
    }
  },
});
