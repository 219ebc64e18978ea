/** One online call with admission control and retries: the pool reacts to 429/529, 5xx and network errors back off. */
import type { OnlineProvider, ProviderFailureKind, ProviderReply } from './provider.js';
import { ProviderFailure } from './provider.js';
import type { RequestPool } from './request-pool.js';
import { LlmCallError, type LlmRequest } from './types.js';

export interface RetryPolicy {
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  timeoutMs: number;
}

export interface OnlineCall {
  request: LlmRequest;
  requestKey: string;
  estimatedTokens: number;
  signal?: AbortSignal;
  /** Called once, right before the first attempt is sent (the budget check); may throw to cancel the call. */
  beforeFirstSend?: () => void;
  /** Told about each failed attempt that will be retried, so retries are visible while they happen. */
  onRetry?: (retry: RetryNotice) => void;
}

export interface RetryNotice {
  kind: ProviderFailureKind;
  message: string;
  /** The attempt that failed (1-based) and the most this kind of failure gets. */
  attempt: number;
  maxAttempts: number;
  waitMs: number;
}

/** Rate-limit answers say "not now", not "broken": they get a larger allowance than other failures. */
const RATE_LIMIT_ATTEMPT_FACTOR = 4;

export async function callOnline(
  provider: OnlineProvider,
  pool: RequestPool,
  policy: RetryPolicy,
  call: OnlineCall,
  redact: (text: string) => string,
): Promise<{ reply: ProviderReply; latencyMs: number; attempts: number }> {
  let failures = 0;
  let rateLimited = 0;
  let last: ProviderFailure | undefined;
  for (let attempt = 1; ; attempt++) {
    let slot;
    try {
      slot = await pool.acquire(call.estimatedTokens, call.signal);
    } catch {
      throw new LlmCallError('aborted', 'The call was aborted before it was sent.');
    }
    if (attempt === 1 && call.beforeFirstSend !== undefined) {
      try {
        call.beforeFirstSend();
      } catch (error) {
        slot.release();
        throw error;
      }
    }
    const started = performance.now();
    try {
      const reply = await provider.send(call.request, {
        timeoutMs: policy.timeoutMs,
        requestKey: call.requestKey,
        ...(call.signal ? { signal: call.signal } : {}),
      });
      const latencyMs = performance.now() - started;
      const { usage } = reply;
      slot.settleTokens(usage.input_tokens + usage.cache_creation_input_tokens + (provider.tokenLimitCountsOutput ? usage.output_tokens : 0));
      slot.release();
      pool.onSuccess(reply.limits, latencyMs);
      return { reply, latencyMs, attempts: attempt };
    } catch (error) {
      slot.release();
      if (!(error instanceof ProviderFailure)) throw error;
      last = error;
      if (!error.retryable) throw new LlmCallError(reasonOf(error.kind), redact(error.message));
      if (error.kind === 'rate-limited' || error.kind === 'overloaded') {
        rateLimited++;
        pool.adoptLimits(error.limits);
        if (rateLimited >= policy.maxAttempts * RATE_LIMIT_ATTEMPT_FACTOR) break;
        const waitMs = error.retryAfterMs ?? backoffMs(rateLimited, policy);
        call.onRetry?.({ kind: error.kind, message: redact(error.message), attempt: rateLimited, maxAttempts: policy.maxAttempts * RATE_LIMIT_ATTEMPT_FACTOR, waitMs });
        // The pool pause makes every caller (this one included) wait before its next start.
        pool.onRateLimited(waitMs, slot.grantedAt);
        continue;
      }
      failures++;
      if (failures >= policy.maxAttempts) break;
      const waitMs = backoffMs(failures, policy);
      call.onRetry?.({ kind: error.kind, message: redact(error.message), attempt: failures, maxAttempts: policy.maxAttempts, waitMs });
      await sleep(waitMs, call.signal);
      if (call.signal?.aborted === true) throw new LlmCallError('aborted', 'The call was aborted while waiting to retry.');
    }
  }
  throw new LlmCallError(reasonOf(last!.kind), redact(`Gave up after ${failures + rateLimited} attempts: ${last!.message}`));
}

/** Exponential backoff with jitter in [50%, 100%] of the step, so retries of many callers spread out. */
export function backoffMs(attempt: number, policy: Pick<RetryPolicy, 'backoffBaseMs' | 'backoffMaxMs'>): number {
  const step = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** (attempt - 1));
  return step * (0.5 + Math.random() * 0.5);
}

export function reasonOf(kind: ProviderFailureKind): LlmCallError['reason'] {
  switch (kind) {
    case 'overloaded':
      return 'server-error';
    default:
      return kind;
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
