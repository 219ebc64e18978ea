/**
 * The small amount of glue every LLM-calling node shares: operational options, request validation before any call,
 * and "call, then parse" inside a mapItems `run`.
 */
import { z } from 'zod';
import { NodeUserError } from '../../engine/node-type.js';
import type { LlmClient, LlmRequest, LlmResponse } from '../../engine/llm/types.js';

/** Operational settings of LLM nodes: never part of the key (the same requests give the same answers either way). */
export const LlmNodeOptions = z.strictObject({
  /** Items in flight at once in online mode; unset: as many as the LLM service admits (its in-flight limit). */
  concurrency: z.number().int().min(1).max(4096).optional(),
  /** online: one call at a time per item; batch: requests are collected and sent through the provider's batch API. */
  mode: z.enum(['online', 'batch']).default('online'),
});
export type LlmNodeOptions = z.output<typeof LlmNodeOptions>;

/**
 * The `resample` parameter of LLM nodes: re-sample rounds for items whose answer was refused or unusable; each round
 * asks the same requests again as a new sample (index + 1,000,000 per round). Unset = none: a cached bad answer
 * stays bad on every rerun. Keyed (it changes the output), and absent by default so existing keys do not move.
 */
export const resampleParam = z.number().int().min(1).max(5).optional();

/**
 * mapItems concurrency: in batch mode items are started a large window at a time so the batch executor collects
 * their requests into batches; the window bounds what a run holds (each queued request body waits in memory until its
 * batch is submitted), so a very large input is sent as successive batches.
 */
export function itemConcurrency(options: LlmNodeOptions, items: number): number {
  return options.mode === 'batch' ? Math.max(1, Math.min(items, BATCH_WINDOW_ITEMS)) : (options.concurrency ?? FOLLOW_SERVICE_ITEMS);
}

/** Items started at once in batch mode (SynCSE: two requests each, so batches of up to 32,768 requests). */
export const BATCH_WINDOW_ITEMS = 16_384;

/** Items started when the node sets no concurrency: enough that the service's in-flight limit is what binds. */
const FOLLOW_SERVICE_ITEMS = 1024;

/** One request of an item, as it appears in the item key: the exact request body and its sample index. */
export interface PlannedCall {
  request: LlmRequest;
  sample: number;
}

/**
 * Planned calls as an item key record. LlmRequest is plain JSON, and canonical JSON drops undefined members, so the
 * requests go in as they are (no copy: the key of every item of a large node is built from here).
 */
export function callsKey(calls: readonly PlannedCall[]): { request: Record<string, unknown>; sample: number }[] {
  return calls.map((c) => ({ request: c.request as unknown as Record<string, unknown>, sample: c.sample }));
}

/**
 * What the provider would reject (unsupported sampling parameters, a model it does not serve), gathered while items
 * stream and reported before the first call, every distinct problem at once.
 */
export function throwRequestProblems(client: LlmClient, problems: ReadonlySet<string>, param: readonly (string | number)[] = []): void {
  if (problems.size > 0) {
    throw new NodeUserError(
      `the ${client.provider} provider cannot serve these requests: ${[...problems].join('; ')}`,
      param,
      'change the sampling parameters in `with:` or use a provider that supports them',
    );
  }
}

/** An answer the parser rejected (refusal, cut off, unparseable): the reason, with the raw answer for the report. */
export class RejectedAnswer extends Error {
  constructor(
    reason: string,
    readonly answer: string,
  ) {
    super(reason);
    this.name = 'RejectedAnswer';
  }
}

export async function completeAndParse<T>(
  client: LlmClient,
  call: PlannedCall,
  signal: AbortSignal,
  parse: (response: LlmResponse) => T,
): Promise<T> {
  const response = await client.complete(call.request, { sample: call.sample, signal });
  try {
    return parse(response);
  } catch (error) {
    throw new RejectedAnswer(error instanceof Error ? error.message : String(error), response.text);
  }
}

/** Drops keys whose value is undefined so that an unset optional parameter is absent from the request (and key). */
export function compactRequest(request: LlmRequest): LlmRequest {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(request)) if (v !== undefined) out[k] = v;
  return out as unknown as LlmRequest;
}
