/**
 * score: LLM-as-judge similarity of (anchor, positive) and (anchor, negative) for every triplet, MultiCSR's
 * self-curation scoring (Wang et al. 2024; flan_filter.py). Output rows are the input triplets plus
 * {positive_score, negative_score} on 0–5. The parser is strict (one number, at most one decimal); a triplet with
 * an unparseable score is an item failure, recorded by the engine and absent from the output.
 */
import { z } from 'zod';
import { defineNode, type NodeContext, type PortValue } from '../engine/node-type.js';
import type { Row } from '../engine/json.js';
import { LlmNodeOptions, completeAndParse, resampleParam, type PlannedCall } from './prompts/llm-call.js';
import { estimateJob, llmJobReport, streamJob, type LlmJob } from './prompts/llm-job.js';
import { PARSER_VERSIONS, parseScore } from './prompts/parsers.js';
import { DEFAULT_SCORING_SYSTEM, DEFAULT_SCORING_TEMPLATE, buildScoringRequest } from './prompts/scoring.js';
import { streamedRows, textOf } from './prompts/rows.js';

const SCORE_VERSION = 1;

export const ScoreParams = z.strictObject({
  model: z.string().optional(),
  /** The judge prompt with {a} and {b}; default MultiCSR's wording. */
  template: z.string().default(DEFAULT_SCORING_TEMPLATE),
  /** Asks a chat model for the bare number (Flan-T5 in the paper needed no such instruction). Set null to omit. */
  system: z.string().nullable().default(DEFAULT_SCORING_SYSTEM),
  /** Greedy, as the paper decoded Flan-T5. */
  temperature: z.number().min(0).max(2).nullable().default(0),
  max_tokens: z.number().int().min(1).max(256).default(8),
  resample: resampleParam,
});
export type ScoreParams = z.output<typeof ScoreParams>;

interface ScoreItem {
  row: Row;
  pos: PlannedCall;
  neg: PlannedCall;
}

function inputRows(value: PortValue | undefined): Row[] {
  return value !== undefined && value.form === 'rows' ? value.rows : [];
}

function scoreJob(input: PortValue | undefined, p: ScoreParams, ctx: NodeContext<LlmNodeOptions>): LlmJob<ScoreItem, { positive_score: number; negative_score: number }> {
  const llm = ctx.llm(p.model === undefined ? { mode: ctx.options.mode } : { mode: ctx.options.mode, model: p.model });
  const s = { model: llm.model, template: p.template, system: p.system ?? undefined, temperature: p.temperature ?? undefined, max_tokens: p.max_tokens };
  const item = (row: Row, i: number): ScoreItem => {
    const anchor = textOf(row, i, 'anchor', 'triplets');
    return {
      row,
      pos: { request: buildScoringRequest(anchor, textOf(row, i, 'positive', 'triplets'), s), sample: 0 },
      neg: { request: buildScoringRequest(anchor, textOf(row, i, 'negative', 'triplets'), s), sample: 0 },
    };
  };
  let all: ScoreItem[] | undefined;
  return {
    llm,
    get items() {
      all ??= inputRows(input).map(item);
      return all;
    },
    async *stream() {
      let index = 0;
      for await (const row of streamedRows(input)) yield item(row, index++);
    },
    calls: (item) => [item.pos, item.neg],
    namespace: `score/judge@${SCORE_VERSION}`,
    label: 'score',
    resample: p.resample,
    describe: (item) => String(item.row.anchor ?? ''),
    parser: PARSER_VERSIONS.score,
    param: ['template'],
    run: async (item, signal) => {
      const [positive_score, negative_score] = await Promise.all([
        completeAndParse(llm, item.pos, signal, parseScore),
        completeAndParse(llm, item.neg, signal, parseScore),
      ]);
      return { positive_score, negative_score };
    },
  };
}

export const score = defineNode({
  type: 'score',
  version: 1,
  description: 'LLM-as-judge 0–5 similarity of (anchor, positive) and (anchor, negative) (MultiCSR scoring prompt).',
  params: ScoreParams,
  options: LlmNodeOptions,
  inputs: { triplets: { kind: ['triplets', 'scored-triplets'] } },
  outputs: { scored: { kind: 'scored-triplets', description: 'triplets with positive_score and negative_score' } },
  uses: { llm: true },
  report: (view) => llmJobReport(view.stats),
  async estimate(inputs, p, ctx) {
    return estimateJob(scoreJob(inputs.triplets, p, ctx));
  },
  // Streamed: triplets are read, scored and written a window at a time.
  async run(inputs, p, ctx) {
    const job = scoreJob(inputs.triplets, p, ctx);
    const scored = streamJob(job, ctx, (counts) => {
      ctx.stats.values = { ...ctx.stats.values, scored: counts.ok, unparseable_or_failed: counts.failed };
    });
    return { scored: rowsOf(scored) };
  },
});

async function* rowsOf(scored: AsyncIterable<{ item: ScoreItem; result: { positive_score: number; negative_score: number } }>): AsyncGenerator<Row> {
  for await (const { item, result } of scored) yield { ...item.row, ...result };
}
