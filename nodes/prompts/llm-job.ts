/**
 * An LLM node's work as data: the client, the items, each item's exact planned calls and how to compute its
 * result. `runJob` executes it through ctx.mapItems (item key = the calls + parser version); `estimateJob` gives
 * `synthcse plan` the item count, how many are fully cached, and the token/cost estimate of the rest, without
 * calling anything. Both share the same request construction, so the plan is exactly what the run will send.
 */
import type { ItemMapResult, NodeContext, NodeEstimate } from '../../engine/node-type.js';
import type { Json } from '../../engine/json.js';
import type { LlmClient } from '../../engine/llm/types.js';
import { callsKey, itemConcurrency, validateRequests, type LlmNodeOptions, type PlannedCall } from './llm-call.js';

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
}

export async function runJob<I, R extends Json>(job: LlmJob<I, R>, ctx: NodeContext<LlmNodeOptions>): Promise<ItemMapResult<R>> {
  // A generator: the requests are built one at a time, never all held at once.
  validateRequests(job.llm, requestsOf(job), job.param ?? []);
  return ctx.mapItems(job.items, {
    namespace: job.namespace,
    label: job.label,
    concurrency: itemConcurrency(ctx.options, job.items.length),
    key: (item) => ({ requests: callsKey(job.calls(item)) as Json, parser: job.parser }),
    run: (item, _i, signal) => job.run(item, signal),
  });
}

function* requestsOf<I, R extends Json>(job: LlmJob<I, R>): Generator<PlannedCall['request']> {
  for (const item of job.items) for (const call of job.calls(item)) yield call.request;
}

export function estimateJob<I, R extends Json>(job: LlmJob<I, R>): NodeEstimate {
  let cachedItems = 0;
  const pending: { request: PlannedCall['request']; sample: number }[] = [];
  for (const item of job.items) {
    const calls = job.calls(item);
    const missing = calls.filter((c) => !job.llm.isCached(c.request, c.sample));
    if (missing.length === 0) cachedItems++;
    pending.push(...missing);
  }
  const cost = job.llm.estimate(pending);
  return {
    items: job.items.length,
    cachedItems,
    inputTokens: cost.inputTokens,
    outputTokens: cost.outputTokens,
    costUsd: cost.costUsd,
    note: [
      job.llm.provider === 'local'
        ? `${cost.requests} local generations, about ${cost.outputTokens} tokens to generate`
        : `${cost.requests} LLM requests to send`,
      ...(job.notes ?? []),
    ].join('; '),
  };
}

export function present<R>(results: readonly (R | undefined)[]): R[] {
  return results.filter((r): r is R => r !== undefined);
}
