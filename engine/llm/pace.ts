/** The pace requests start at, and what `plan` expects a number of requests to take at it. */
import type { LlmConfig } from './config.js';
import { DEFAULT_IN_FLIGHT } from './request-pool.js';

/** Anthropic's entry tier: where the pace starts before the first rate-limit headers arrive. */
export const ANTHROPIC_INITIAL_RPM = 50;
export const ANTHROPIC_INITIAL_TPM = 50_000;

export interface TimeEstimate {
  /** Undefined when nothing limits the pace (an openai-compatible server without configured limits). */
  ms: number | undefined;
  /** Which limit sets it, and how to change it. */
  why: string;
}

/** The time `requests` (with `inputTokens` and `outputTokens` in all) take at the configured or starting pace. */
export function estimateLlmTime(config: LlmConfig, requests: number, inputTokens: number, outputTokens: number): TimeEstimate {
  const anthropic = config.provider === 'anthropic';
  const rpm = config.requests_per_minute ?? (anthropic ? ANTHROPIC_INITIAL_RPM : undefined);
  const tpm = config.tokens_per_minute ?? (anthropic ? ANTHROPIC_INITIAL_TPM : undefined);
  const tokens = anthropic ? inputTokens : inputTokens + outputTokens;
  const byRequests = rpm === undefined ? 0 : (requests / rpm) * 60_000;
  const byTokens = tpm === undefined ? 0 : (tokens / tpm) * 60_000;
  if (rpm === undefined && tpm === undefined) {
    const inFlight = config.max_concurrency === undefined ? `${DEFAULT_IN_FLIGHT} requests at once (growing with the observed latency once a rate limit is known; llm.max_concurrency fixes it)` : `${config.max_concurrency} requests at once (llm.max_concurrency)`;
    return { ms: undefined, why: `no rate limit is set: as fast as the server answers ${inFlight}` };
  }
  const binding = byTokens > byRequests ? `${tpm} tokens/min` : `${rpm} requests/min`;
  const source =
    (byTokens > byRequests ? config.tokens_per_minute : config.requests_per_minute) !== undefined
      ? 'set in llm:'
      : "the starting pace before the provider's rate-limit headers arrive; it rises to your tier's limits once they do (set llm.requests_per_minute and llm.tokens_per_minute to plan with yours)";
  return { ms: Math.max(byRequests, byTokens), why: `at ${binding}, ${source}` };
}
