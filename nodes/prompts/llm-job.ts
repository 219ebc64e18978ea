/**
 * An LLM node's work as data: the client, the items, each item's exact planned calls and how to compute its
 * result. `streamJob` executes it through ctx.streamItems, a window of items at a time (item key = the calls +
 * parser version); `estimateJob` gives
 * `synthcse plan` the item count, how many are fully cached, and the token/cost estimate of the rest, without
 * calling anything. Both share the same request construction, so the plan is exactly what the run will send.
 */
import type { ItemMapSpec, NodeContext, NodeEstimate, NodeStats, ReportSection } from '../../engine/node-type.js';
import type { Json } from '../../engine/json.js';
import type { LlmClient } from '../../engine/llm/types.js';
import { callsKey, itemConcurrency, RejectedAnswer, throwRequestProblems, type LlmNodeOptions, type PlannedCall } from './llm-call.js';

export interface LlmJob<I, R extends Json> {
  llm: LlmClient;
  items: I[];
  /**
   * The items one at a time, in the order of `items` (built from the input's stream()): streamJob reads them from
   * here, so a run never holds them all. Unset: `items`.
   */
  stream?(): AsyncIterable<I>;
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

/**
 * Runs a job in bounded memory: items come from job.stream() (validated in a first pass), are run a
 * window at a time through ctx.streamItems, and each usable result is given, in input order, with its item; the
 * report's stats are recorded once the stream ends. `done` gets the counts of items that gave a result and failed.
 */
export async function* streamJob<I, R extends Json>(
  job: LlmJob<I, R>,
  ctx: NodeContext<LlmNodeOptions>,
  done?: (counts: { ok: number; failed: number }) => void,
): AsyncGenerator<{ item: I; result: R }> {
  const items = job.stream ? () => job.stream!() : () => inOrder(job.items);
  // One pass before any call: every distinct request problem at once, and the count for progress and windows.
  const problems = new Set<string>();
  let total = 0;
  for await (const item of items()) {
    total++;
    for (const call of job.calls(item)) for (const p of job.llm.validate(call.request)) problems.add(p);
  }
  throwRequestProblems(job.llm, problems, job.param ?? []);
  const lastFailure = new Map<number, { reason: string; answer: string | null }>();
  const stats = new JobStats(job);
  const outcomes = ctx.streamItems(items(), { ...itemSpec(job, lastFailure), total, concurrency: itemConcurrency(ctx.options, total) });
  for await (const outcome of outcomes) {
    stats.add(outcome.item, outcome.result, outcome.failure?.reason, lastFailure.get(outcome.index));
    lastFailure.delete(outcome.index);
    if (outcome.result !== undefined) yield { item: outcome.item, result: outcome.result };
  }
  stats.record(ctx);
  done?.({ ok: stats.ok, failed: stats.failed });
}

async function* inOrder<I>(items: readonly I[]): AsyncGenerator<I> {
  yield* items;
}

/** The mapItems spec of a job: item key = the exact calls + parser version; a failure's raw answer is kept aside. */
function itemSpec<I, R extends Json>(job: LlmJob<I, R>, lastFailure: Map<number, { reason: string; answer: string | null }>): ItemMapSpec<I, R> {
  return {
    namespace: job.namespace,
    label: job.label,
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
  };
}

/** Yield per group (instruction, genre, label) and the first failed items with their raw answers, for the report. */
class JobStats<I, R extends Json> {
  private readonly groups = new Map<string, { items: number; ok: number; rows: number }>();
  private readonly failedExamples: Json[] = [];
  ok = 0;
  failed = 0;

  constructor(private readonly job: LlmJob<I, R>) {}

  add(item: I, value: R | undefined, failure: string | undefined, seen: { reason: string; answer: string | null } | undefined): void {
    if (value !== undefined) this.ok++;
    if (failure !== undefined) {
      this.failed++;
      if (this.failedExamples.length < FAILED_EXAMPLES) this.failedExamples.push({ input: this.job.describe?.(item) ?? '', reason: failure, answer: seen?.answer ?? null });
    }
    if (!this.job.group) return;
    const name = this.job.group.of(item);
    const entry = this.groups.get(name) ?? { items: 0, ok: 0, rows: 0 };
    entry.items++;
    if (value !== undefined) {
      entry.ok++;
      entry.rows += Array.isArray(value) ? value.length : 1;
    }
    this.groups.set(name, entry);
  }

  record(ctx: NodeContext<LlmNodeOptions>): void {
    const values: Record<string, Json> = { failed_examples: this.failedExamples };
    if (this.job.group) values.yield = { by: this.job.group.name, groups: [...this.groups].map(([name, g]) => ({ name, ...g })) };
    ctx.stats.values = { ...ctx.stats.values, ...values };
  }
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

/** The results of a streamed job, without their items: a node's rows output. */
export async function* results<I, R>(stream: AsyncIterable<{ item: I; result: R }>): AsyncGenerator<R> {
  for await (const { result } of stream) yield result;
}
