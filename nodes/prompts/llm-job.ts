/**
 * An LLM node's work as data: the client, the items, each item's exact planned calls and how to compute its
 * result. `runJob` executes it through ctx.mapItems (item key = the calls + parser version); `estimateJob` gives
 * `synthcse plan` the item count, how many are fully cached, and the token/cost estimate of the rest, without
 * calling anything. Both share the same request construction, so the plan is exactly what the run will send.
 */
import type { ItemMapResult, NodeContext, NodeEstimate, NodeStats, ReportSection } from '../../engine/node-type.js';
import type { Json } from '../../engine/json.js';
import type { LlmClient } from '../../engine/llm/types.js';
import { callsKey, itemConcurrency, RejectedAnswer, validateRequests, type LlmNodeOptions, type PlannedCall } from './llm-call.js';

export interface LlmJob<I, R extends Json> {
  llm: LlmClient;
  items: I[];
  /** The exact requests (with sample indices) the item will send. */
  calls(item: I): PlannedCall[];
  /** mapItems namespace, e.g. annotate/syncse@1. */
  namespace: string;
  label: string;
  /** Parser version; part of the item key. */
  parser: string;
  run(item: I, signal: AbortSignal): Promise<R>;
  /** The parameter validate() problems are attributed to. */
  param?: readonly (string | number)[];
  /** Where the requests differ from what the params ask (a value the provider caps): shown by `synthcse plan`. */
  notes?: readonly string[];
  /** Extra tries, each as a new sample, for items whose answer was refused or unusable (the node's `resample`). */
  resample?: number;
  /** What the report groups yields by (the sampled instruction, the genre, the label), and what it calls that. */
  group?: { name: string; of(item: I): string };
  /** The item's input in a few words, for the report's failed items. */
  describe?(item: I): string;
}

/** Failed items shown in the report, with the raw answer when there was one. */
const FAILED_EXAMPLES = 10;
const ANSWER_CHARS = 400;

/** Added to every sample index per re-sample round, so re-drawn samples never meet the pipeline's own samples. */
export const RESAMPLE_STRIDE = 1_000_000;

/**
 * The item moved to the re-sample round `attempt`: same requests, new sample indices, so new answers (and new item
 * keys). The indices moved are those of every planned call ({request, sample}) in the item and, for an item that
 * builds its calls on demand (SynCSE, MultiCSR), the item's own `sample`, which it gives its calls.
 */
export function resampled<I>(item: I, attempt: number): I {
  if (attempt === 0) return item;
  const own = item as { sample?: unknown };
  if (own !== null && typeof own === 'object' && !Array.isArray(own) && typeof own.sample === 'number') {
    item = { ...own, sample: own.sample + attempt * RESAMPLE_STRIDE } as I;
  }
  const shift = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(shift);
    if (value === null || typeof value !== 'object') return value;
    const object = value as Record<string, unknown>;
    if (typeof object.sample === 'number' && object.request !== null && typeof object.request === 'object') {
      return { ...object, sample: object.sample + attempt * RESAMPLE_STRIDE };
    }
    return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, shift(v)]));
  };
  return shift(item) as I;
}

export async function runJob<I, R extends Json>(job: LlmJob<I, R>, ctx: NodeContext<LlmNodeOptions>): Promise<ItemMapResult<R>> {
  // A generator: the requests are built one at a time, never all held at once.
  validateRequests(job.llm, requestsOf(job), job.param ?? []);
  const lastFailure = new Map<number, { reason: string; answer: string | null }>();
  const result = await ctx.mapItems(job.items, {
    namespace: job.namespace,
    label: job.label,
    concurrency: itemConcurrency(ctx.options, job.items.length),
    attempts: 1 + (job.resample ?? 0),
    key: (item, _i, attempt) => ({ requests: callsKey(job.calls(resampled(item, attempt))) as Json, parser: job.parser }),
    run: async (item, index, signal, attempt) => {
      try {
        return await job.run(resampled(item, attempt), signal);
      } catch (error) {
        const answer = error instanceof RejectedAnswer ? error.answer : null;
        lastFailure.set(index, { reason: error instanceof Error ? error.message.split('\n')[0]! : String(error), answer: answer === null ? null : answer.slice(0, ANSWER_CHARS) });
        throw error;
      }
    },
  });
  recordJobStats(job, result, lastFailure, ctx);
  return result;
}

/** Yield per group (instruction, genre, label) and the first failed items with their raw answers, for the report. */
function recordJobStats<I, R extends Json>(job: LlmJob<I, R>, result: ItemMapResult<R>, lastFailure: ReadonlyMap<number, { reason: string; answer: string | null }>, ctx: NodeContext<LlmNodeOptions>): void {
  const failedExamples: Json[] = result.failures.slice(0, FAILED_EXAMPLES).map((f) => {
    const item = job.items[f.index]!;
    const seen = lastFailure.get(f.index);
    return { input: job.describe?.(item) ?? '', reason: f.reason, answer: seen?.answer ?? null };
  });
  const values: Record<string, Json> = { failed_examples: failedExamples };
  if (job.group) {
    const groups = new Map<string, { items: number; ok: number; rows: number }>();
    job.items.forEach((item, i) => {
      const name = job.group!.of(item);
      const entry = groups.get(name) ?? { items: 0, ok: 0, rows: 0 };
      entry.items++;
      const value = result.results[i];
      if (value !== undefined) {
        entry.ok++;
        entry.rows += Array.isArray(value) ? value.length : 1;
      }
      groups.set(name, entry);
    });
    values.yield = { by: job.group.name, groups: [...groups].map(([name, g]) => ({ name, ...g })) };
  }
  ctx.stats.values = { ...ctx.stats.values, ...values };
}

/** The report sections every LLM node shares: yield per group, failed items with their raw answers. */
export function llmJobReport(stats: NodeStats): ReportSection[] {
  const sections: ReportSection[] = [];
  const yields = stats.values?.yield as { by: string; groups: { name: string; items: number; ok: number; rows: number }[] } | undefined;
  if (yields && yields.groups.length > 0) {
    const rows = [...yields.groups]
      .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }))
      .map((g) => [g.name, String(g.items), String(g.ok), `${((100 * g.ok) / Math.max(1, g.items)).toFixed(1)}%`, String(g.rows)]);
    sections.push({ title: `Yield per ${yields.by}`, text: 'Items that got a usable answer, and the rows they gave, before any filter.', tables: [{ header: [yields.by, 'items', 'usable', 'yield', 'rows'], rows }] });
  }
  const failed = (stats.values?.failed_examples ?? []) as { input: string; reason: string; answer: string | null }[];
  if (failed.length > 0) {
    sections.push({
      title: 'Failed items with their raw answers',
      text: `The first ${failed.length} items that ended without a usable answer after every try.`,
      tables: [{ header: ['input', 'reason', 'raw answer'], rows: failed.map((f) => [f.input, f.reason, f.answer ?? '(no answer: the request failed)']) }],
    });
  }
  return sections;
}

function* requestsOf<I, R extends Json>(job: LlmJob<I, R>): Generator<PlannedCall['request']> {
  for (const item of job.items) for (const call of job.calls(item)) yield call.request;
}

export async function estimateJob<I, R extends Json>(job: LlmJob<I, R>, signal: AbortSignal = new AbortController().signal): Promise<NodeEstimate> {
  // One look at the cache for the whole job; each request is built and keyed once, and priced as soon as it is
  // known to be missing (nothing is held per item).
  const planner = job.llm.planner(job.items.length);
  const cost = { requests: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
  let cachedItems = 0;
  let resampledItems = 0;
  for (const item of job.items) {
    // An item whose cached answer is refused is re-drawn when the node resamples: price the round it will reach.
    for (let attempt = 0; ; attempt++) {
      const calls = job.calls(resampled(item, attempt));
      const missing = calls.filter((c) => !planner.isCached(c.request, c.sample));
      if (missing.length > 0) {
        for (const call of missing) {
          const one = planner.cost(call.request);
          cost.requests++;
          cost.inputTokens += one.inputTokens;
          cost.outputTokens += one.outputTokens;
          cost.costUsd += one.costUsd;
        }
        if (attempt > 0) resampledItems++;
        break;
      }
      if (attempt >= (job.resample ?? 0) || (await succeedsFromCache(job, item, attempt, signal))) {
        if (attempt === 0) cachedItems++;
        break;
      }
    }
  }
  return {
    items: job.items.length,
    cachedItems,
    inputTokens: cost.inputTokens,
    outputTokens: cost.outputTokens,
    costUsd: cost.costUsd,
    requests: cost.requests,
    note: [
      (job.llm.provider === 'local' ? `${cost.requests} local generations, about ${cost.outputTokens} tokens to generate` : `${cost.requests} LLM requests to send`) +
        (resampledItems > 0 ? ` (${resampledItems} item(s) re-sampled after a refused or unusable answer)` : ''),
      ...(job.notes ?? []),
    ].join('; '),
  };
}

/** Parses an item's cached answers (no request is sent: every call of this attempt is cached). */
async function succeedsFromCache<I, R extends Json>(job: LlmJob<I, R>, item: I, attempt: number, signal: AbortSignal): Promise<boolean> {
  try {
    await job.run(resampled(item, attempt), signal);
    return true;
  } catch {
    return false;
  }
}

export function present<R>(results: readonly (R | undefined)[]): R[] {
  return results.filter((r): r is R => r !== undefined);
}
