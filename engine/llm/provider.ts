/** What the executors need from a provider: one online call, validation, and (optionally) a batch API. */
import type { Json } from '../json.js';
import type { EndpointProbe } from './preflight.js';
import type { LlmRequest, LlmUsage, ProviderName } from './types.js';

export interface ProviderReply {
  text: string;
  /** Normalized: end_turn | max_tokens | stop_sequence | refusal | other. */
  stopReason: string;
  model: string;
  usage: LlmUsage;
  requestId?: string;
  /** The response body as the provider sent it. */
  raw: Json;
  limits?: RateLimitInfo;
}

/** Limits the provider reported in response headers (per minute). */
export interface RateLimitInfo {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
}

export type ProviderFailureKind =
  | 'rate-limited'
  | 'overloaded'
  | 'server-error'
  | 'network-error'
  | 'timeout'
  | 'invalid-request'
  | 'auth'
  | 'malformed-response'
  | 'aborted';

/** A failed attempt, classified so the executor knows whether and how to retry. */
export class ProviderFailure extends Error {
  constructor(
    readonly kind: ProviderFailureKind,
    message: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
    readonly limits?: RateLimitInfo,
  ) {
    super(message);
    this.name = 'ProviderFailure';
  }

  get retryable(): boolean {
    return this.kind !== 'invalid-request' && this.kind !== 'auth' && this.kind !== 'aborted';
  }
}

export interface SendOptions {
  signal?: AbortSignal;
  timeoutMs: number;
  /**
   * Sent as the x-synthcse-request-key header: samples of one request have equal bodies, and this tells them apart
   * in server logs (and lets the test server count resends per key).
   */
  requestKey?: string;
}

export const REQUEST_KEY_HEADER = 'x-synthcse-request-key';

export interface OnlineProvider {
  readonly name: ProviderName;
  /**
   * Whether the provider's tokens-per-minute limit counts output tokens (OpenAI: yes; Anthropic's binding limit is
   * input tokens per minute, with output tokens limited separately).
   */
  readonly tokenLimitCountsOutput: boolean;
  send(request: LlmRequest, options: SendOptions): Promise<ProviderReply>;
  /** Problems with the request's parameters for this provider, as user messages. */
  validate(request: LlmRequest): string[];
  /**
   * Providers that run a model file (local): the key material naming the model's weights, i.e. the file's sha256,
   * which replaces the model name in request keys. Undefined until `prepare` has found the file.
   */
  modelKeyOf?(model: string): string | undefined;
  /** Finds the model file (and with `download`, fetches it) before keys are computed. */
  prepare?(model: string, options: { download: boolean }): Promise<void>;
  close?(): Promise<void>;
  /** The request that checks reachability and the key before the first paid call (none for a local model). */
  probe?(): EndpointProbe;
}

export type BatchItemOutcome =
  | { type: 'succeeded'; reply: ProviderReply }
  | { type: 'errored'; message: string }
  | { type: 'expired' }
  | { type: 'canceled' };

export interface BatchProvider {
  createBatch(items: readonly { customId: string; request: LlmRequest }[]): Promise<string>;
  /** True once processing has ended and results can be read. */
  batchEnded(batchId: string): Promise<boolean>;
  batchResults(batchId: string): AsyncIterable<{ customId: string; outcome: BatchItemOutcome }>;
}

export function parseRetryAfterMs(headers: { get(name: string): string | null } | undefined): number | undefined {
  if (headers === undefined) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  if (Number.isFinite(Number(value))) return Math.max(0, Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
