/**
 * Admission control for one provider+model: a concurrency limit, requests paced evenly to a per-minute rate, a
 * tokens-per-minute bucket, and a pool-wide pause. A 429/529 pauses every caller and lowers the pace (to 70%, or to
 * the rate that got through since the previous 429 when lower); successes raise it back. Limits reported in response headers replace the configured ones (which act as ceilings).
 */

export interface RequestPoolOptions {
  maxConcurrency: number;
  /** Ceiling set by the user; undefined = follow the provider's headers. */
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  /** Rate used before any header arrives when no ceiling is set (undefined = unpaced). */
  initialRequestsPerMinute?: number;
  initialTokensPerMinute?: number;
}

export interface PoolStats {
  granted: number;
  rateLimited: number;
  pausedMs: number;
  effectiveRequestsPerMinute: number | undefined;
  /** Why requests go at this pace, for the progress line ("50 req/min: the provider sent no rate-limit headers…"). */
  paceReason: string;
}

interface Waiter {
  tokens: number;
  resolve: (slot: PoolSlot) => void;
  reject: (error: Error) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

export interface PoolSlot {
  /** When the slot was granted (Date.now()). */
  readonly grantedAt: number;
  /** Corrects the token bucket with the tokens the call really used. */
  settleTokens(actualTokens: number): void;
  release(): void;
}

/** After a 429 the pace drops to at most 70% of what it was, and grows back by 1% per success. */
const DECREASE_FACTOR = 0.7;
const RECOVERY_PER_SUCCESS = 1.01;
const MIN_PACE_RPM = 1;
const CATCH_UP_MS = 100;

export class RequestPool {
  private active = 0;
  private readonly queue: Waiter[] = [];
  private pausedUntil = 0;
  private nextStartAt = 0;
  /** The pace after 429s, below the ceiling; undefined = at the ceiling. */
  private pace: number | undefined;
  private lastDecreaseAt = 0;
  private successesSinceDecrease = 0;
  private headerRpm: number | undefined;
  private headerTpm: number | undefined;
  private bucket: number;
  private bucketAt = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private readonly stats: Omit<PoolStats, 'paceReason'> = { granted: 0, rateLimited: 0, pausedMs: 0, effectiveRequestsPerMinute: undefined };

  constructor(private readonly options: RequestPoolOptions) {
    this.bucket = this.tokensPerMinute() ?? 0;
  }

  acquire(estimatedTokens: number, signal?: AbortSignal): Promise<PoolSlot> {
    if (signal?.aborted === true) return Promise.reject(abortError());
    return new Promise<PoolSlot>((resolve, reject) => {
      const waiter: Waiter = {
        tokens: estimatedTokens,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const index = this.queue.indexOf(waiter);
          if (index >= 0) this.queue.splice(index, 1);
          reject(abortError());
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.queue.push(waiter);
      this.pump();
    });
  }

  /**
   * A 429 (or 529): every caller waits retry-after (or the given fallback), and the pace drops, once per congestion
   * event: 429s for requests started before the last decrease were caused by the old pace and do not count again.
   */
  onRateLimited(retryAfterMs: number, grantedAt: number): void {
    this.stats.rateLimited++;
    const now = Date.now();
    const until = now + retryAfterMs;
    if (until > this.pausedUntil) {
      this.stats.pausedMs += until - Math.max(this.pausedUntil, now);
      this.pausedUntil = until;
    }
    if (grantedAt >= this.lastDecreaseAt) {
      // What got through since the last 429 is the best estimate of the server's real rate.
      const observed = this.lastDecreaseAt > 0 && this.successesSinceDecrease > 0 ? (this.successesSinceDecrease * 60_000) / (now - this.lastDecreaseAt) : undefined;
      const current = this.requestsPerMinute();
      const candidates = [current === undefined ? undefined : current * DECREASE_FACTOR, observed].filter((x): x is number => x !== undefined);
      if (candidates.length > 0) this.pace = Math.max(MIN_PACE_RPM, Math.min(...candidates));
      this.lastDecreaseAt = now;
      this.successesSinceDecrease = 0;
    }
    this.pump();
  }

  onSuccess(limits: { requestsPerMinute?: number; tokensPerMinute?: number } | undefined): void {
    this.adoptLimits(limits);
    this.successesSinceDecrease++;
    if (this.pace !== undefined) {
      this.pace *= RECOVERY_PER_SUCCESS;
      const ceiling = this.ceilingRequestsPerMinute();
      if (ceiling !== undefined && this.pace >= ceiling) this.pace = undefined;
    }
  }

  /** Limits reported in response headers (of successes and of 429s alike). */
  adoptLimits(limits: { requestsPerMinute?: number; tokensPerMinute?: number } | undefined): void {
    if (limits?.requestsPerMinute !== undefined) this.headerRpm = limits.requestsPerMinute;
    if (limits?.tokensPerMinute !== undefined) this.headerTpm = limits.tokensPerMinute;
  }

  snapshot(): PoolStats {
    return { ...this.stats, effectiveRequestsPerMinute: this.requestsPerMinute(), paceReason: this.paceReason() };
  }

  private paceReason(): string {
    const rpm = this.requestsPerMinute();
    if (rpm === undefined) return `unpaced: up to ${this.options.maxConcurrency} requests at once (llm.max_concurrency)`;
    const shown = `${Math.round(rpm)} req/min`;
    const ceiling = this.ceilingRequestsPerMinute();
    if (this.pace !== undefined && (ceiling === undefined || this.pace < ceiling)) return `${shown}: slowed down after ${this.stats.rateLimited} rate-limit answer(s) (429/529); it speeds up again as requests succeed`;
    if (this.options.requestsPerMinute !== undefined && rpm >= this.options.requestsPerMinute) return `${shown}: llm.requests_per_minute`;
    if (this.headerRpm !== undefined) return `${shown}: the limit in the provider's rate-limit headers`;
    return `${shown}: the provider sent no rate-limit headers; set llm.requests_per_minute to go faster`;
  }

  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const waiter of this.queue.splice(0)) waiter.reject(abortError());
  }

  private ceilingRequestsPerMinute(): number | undefined {
    const { requestsPerMinute: ceiling, initialRequestsPerMinute } = this.options;
    return ceiling !== undefined && this.headerRpm !== undefined ? Math.min(ceiling, this.headerRpm) : (ceiling ?? this.headerRpm ?? initialRequestsPerMinute);
  }

  private requestsPerMinute(): number | undefined {
    const ceiling = this.ceilingRequestsPerMinute();
    if (this.pace === undefined) return ceiling;
    return ceiling === undefined ? this.pace : Math.min(ceiling, this.pace);
  }

  private tokensPerMinute(): number | undefined {
    const { tokensPerMinute: ceiling, initialTokensPerMinute } = this.options;
    return ceiling !== undefined && this.headerTpm !== undefined ? Math.min(ceiling, this.headerTpm) : (ceiling ?? this.headerTpm ?? initialTokensPerMinute);
  }

  private refillBucket(now: number): void {
    const tpm = this.tokensPerMinute();
    if (tpm === undefined) return;
    this.bucket = Math.min(tpm, this.bucket + ((now - this.bucketAt) * tpm) / 60_000);
    this.bucketAt = now;
  }

  private pump(): void {
    if (this.timer !== undefined) return;
    while (this.queue.length > 0 && this.active < this.options.maxConcurrency) {
      const now = Date.now();
      const waitMs = this.waitBeforeNext(now, this.queue[0]!.tokens);
      if (waitMs > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, waitMs);
        return;
      }
      this.grant(this.queue.shift()!);
    }
  }

  private waitBeforeNext(now: number, tokens: number): number {
    if (now < this.pausedUntil) return this.pausedUntil - now;
    const rpm = this.requestsPerMinute();
    if (rpm !== undefined) {
      // Up to 100 ms (at least one interval) of credit: a late timer or a busy event loop does not lower the achieved
      // rate, and the catch-up burst stays a small fraction of a second's allowance.
      const interval = 60_000 / rpm;
      this.nextStartAt = Math.max(this.nextStartAt, now - Math.max(interval, CATCH_UP_MS));
      if (now < this.nextStartAt) return Math.ceil(this.nextStartAt - now);
    }
    const tpm = this.tokensPerMinute();
    if (tpm !== undefined) {
      this.refillBucket(now);
      const need = Math.min(tokens, tpm);
      if (this.bucket < need) return Math.ceil(((need - this.bucket) * 60_000) / tpm);
    }
    return 0;
  }

  private grant(waiter: Waiter): void {
    waiter.signal?.removeEventListener('abort', waiter.onAbort);
    const rpm = this.requestsPerMinute();
    if (rpm !== undefined) this.nextStartAt += 60_000 / rpm;
    if (this.tokensPerMinute() !== undefined) this.bucket -= waiter.tokens;
    this.active++;
    this.stats.granted++;
    let released = false;
    let charged = waiter.tokens;
    waiter.resolve({
      grantedAt: Date.now(),
      settleTokens: (actual) => {
        if (this.tokensPerMinute() !== undefined) this.bucket -= actual - charged;
        charged = actual;
      },
      release: () => {
        if (released) return;
        released = true;
        this.active--;
        this.pump();
      },
    });
  }
}

function abortError(): Error {
  const error = new Error('The call was aborted.');
  error.name = 'AbortError';
  return error;
}
