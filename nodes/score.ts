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
import { estimateJob, llmJobReport, runJob, type LlmJob } from './prompts/llm-job.js';
import { PARSER_VERSIONS, parseScore } from './prompts/parsers.js';
import { DEFAULT_SCORING_SYSTEM, DEFAULT_SCORING_TEMPLATE, buildScoringRequest } from './prompts/scoring.js';
import { textsOf } from './prompts/rows.js';

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

function scoreJob(rows: readonly Row[], p: ScoreParams, ctx: NodeContext<LlmNodeOptions>): LlmJob<ScoreItem, { positive_score: number; negative_score: number }> {
  const anchors = textsOf(rows, 'anchor', 'triplets');
  const positives = textsOf(rows, 'positive', 'triplets');
  const negatives = textsOf(rows, 'negative', 'triplets');
  const llm = ctx.llm(p.model === undefined ? { mode: ctx.options.mode } : { mode: ctx.options.mode, model: p.model });
  const s = { model: llm.model, template: p.template, system: p.system ?? undefined, temperature: p.temperature ?? undefined, max_tokens: p.max_tokens };
  const items = rows.map((row, i) => ({
    row,
    pos: { request: buildScoringRequest(anchors[i]!, positives[i]!, s), sample: 0 },
    neg: { request: buildScoringRequest(anchors[i]!, negatives[i]!, s), sample: 0 },
  }));
  return {
    llm,
    items,
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
    return estimateJob(scoreJob(inputRows(inputs.triplets), p, ctx));
  },
  async run(inputs, p, ctx) {
    const job = scoreJob(inputRows(inputs.triplets), p, ctx);
    const result = await runJob(job, ctx);
    const out: Row[] = [];
    result.results.forEach((r, i) => {
      if (r !== undefined) out.push({ ...job.items[i]!.row, ...r });
    });
    ctx.stats.values = { ...ctx.stats.values, scored: out.length, unparseable_or_failed: result.failures.length };
    return { scored: out };
  },
});
