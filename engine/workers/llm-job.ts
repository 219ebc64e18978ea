/**
 * An LLM call as a BullMQ job: what a worker needs to send it (never a secret: the API key stays in each worker's
 * environment, named by apiKeyEnv) and what it sends back. The job id is the request key, so one request is one job
 * however often it is enqueued.
 */
import type { ItemKey } from '../json.js';
import type { RetryPolicy } from '../llm/online-executor.js';
import type { ProviderReply } from '../llm/provider.js';
import { LlmCallError, type LlmRequest, type ProviderName } from '../llm/types.js';

export const LLM_QUEUE = 'synthcse-llm';

/** The service a job is sent to, as the coordinator's llm: section describes it. */
export interface LlmJobService {
  provider: ProviderName;
  /** The coordinator's endpoint (null: the provider's default); a worker may be bound to its own. */
  baseUrl: string | null;
  /** The NAME of the variable holding the key in the worker's environment. */
  apiKeyEnv: string | null;
  anthropicVersion: '2023-06-01' | '2026-10-21' | null;
  /** Shared by all workers with the same provider and key (through Redis); null: each worker follows the headers. */
  requestsPerMinute: number | null;
  policy: RetryPolicy;
}

export interface LlmJobData {
  service: LlmJobService;
  request: LlmRequest;
  requestKey: ItemKey;
}

export interface LlmJobResult {
  reply: ProviderReply;
  latencyMs: number;
  /** Which worker paid for it (host:pid). */
  worker: string;
}

/** A failed job's reason carries the LlmCallError reason first, so the coordinator records the same failure. */
export function failureMessage(error: LlmCallError): string {
  return `${error.reason}: ${error.message}`;
}

const REASONS: readonly LlmCallError['reason'][] = ['rate-limited', 'server-error', 'network-error', 'timeout', 'invalid-request', 'auth', 'malformed-response'];

export function failureFromMessage(message: string): LlmCallError {
  const colon = message.indexOf(': ');
  const reason = REASONS.find((r) => r === message.slice(0, colon));
  return reason === undefined ? new LlmCallError('server-error', `A worker failed: ${message}`) : new LlmCallError(reason, message.slice(colon + 2));
}
