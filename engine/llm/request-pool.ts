/**
 * Admission control for one provider+model: a concurrency limit, requests paced evenly to a per-minute rate, a
 * tokens-per-minute bucket, and a pool-wide pause. A 429/529 pauses every caller and lowers the pace (to 70%, or to
 * the rate that got through since the previous 429 when lower); successes raise it back. Limits reported in response
 * headers replace the configured ones (which act as ceilings). Unless a fixed limit is set, the calls in flight follow
 * the pace times the observed latency.
 */

export interface RequestPoolOptions {
  /** A fixed limit on calls in flight; undefined = sized from the pace and the observed latency. */
  maxConcurrency?: number;
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
  /** The limit on calls in flight now. */
  inFlightLimit: number;
  /** Smoothed latency of successful calls, ms. */
  latencyMs: number | undefined;
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
/** In flight when no limit is set and the pace or the latency is not known yet (and for an unpaced server). */
export const DEFAULT_IN_FLIGHT = 16;
/** Sized in flight: rate × latency with this margin (latency varies), plus a few, up to MAX_SIZED_IN_FLIGHT. */
const IN_FLIGHT_MARGIN = 1.25;
const IN_FLIGHT_EXTRA = 4;
export const MAX_SIZED_IN_FLIGHT = 4096;
/** Weight of a new latency sample in the moving average. */
const LATENCY_WEIGHT = 0.05;
/**
 * The smallest recent latency forgets slowly (grows by this factor per success) so that it follows a provider that
 * became slower. The limit uses at most twice it: latency measured by a busy client includes its own queueing, and
 * sizing from that alone would let calls in flight feed on themselves up to the cap.
 */
const MIN_LATENCY_DRIFT = 1.002;
const MIN_LATENCY_FACTOR = 2;

/**
 * Calls in flight for a pace and a latency (Little's law: in flight = rate × time in the system), so the pace, not a
 * fixed number of slots, is what limits a run against a provider whose answers are slow.
 */
export function sizedInFlight(requestsPerMinute: number | undefined, latencyMs: number | undefined): number {
  if (requestsPerMinute === undefined || latencyMs === undefined) return DEFAULT_IN_FLIGHT;
  const needed = Math.ceil((requestsPerMinute / 60_000) * latencyMs * IN_FLIGHT_MARGIN) + IN_FLIGHT_EXTRA;
  return Math.min(MAX_SIZED_IN_FLIGHT, Math.max(DEFAULT_IN_FLIGHT, needed));
}

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
  private latencyMs: number | undefined;
  private minLatencyMs: number | undefined;
  private readonly stats = { granted: 0, rateLimited: 0, pausedMs: 0 };

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

  onSuccess(limits: { requestsPerMinute?: number; tokensPerMinute?: number } | undefined, latencyMs?: number): void {
    this.adoptLimits(limits);
    if (latencyMs !== undefined) {
      this.latencyMs = this.latencyMs === undefined ? latencyMs : this.latencyMs + LATENCY_WEIGHT * (latencyMs - this.latencyMs);
      this.minLatencyMs = this.minLatencyMs === undefined ? latencyMs : Math.min(latencyMs, this.minLatencyMs * MIN_LATENCY_DRIFT);
    }
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
    return { ...this.stats, effectiveRequestsPerMinute: this.requestsPerMinute(), paceReason: this.paceReason(), inFlightLimit: this.inFlightLimit(), latencyMs: this.latencyMs };
  }

  private paceReason(): string {
    const rpm = this.requestsPerMinute();
    if (rpm === undefined) return `unpaced: up to ${this.inFlightLimit()} requests at once${this.options.maxConcurrency === undefined ? '' : ' (llm.max_concurrency)'}`;
    const shown = `${Math.round(rpm)} req/min`;
    const ceiling = this.ceilingRequestsPerMinute();
    if (this.pace !== undefined && (ceiling === undefined || this.pace < ceiling)) return `${shown}: slowed down after ${this.stats.rateLimited} rate-limit answer(s) (429/529); it speeds up again as requests succeed`;
    if (this.options.requestsPerMinute !== undefined && rpm >= this.options.requestsPerMinute) return `${shown}: llm.requests_per_minute`;
    if (this.headerRpm !== undefined) return `${shown}: the limit in the provider's rate-limit headers`;
    return `${shown}: the provider sent no rate-limit headers; set llm.requests_per_minute to go faster`;
  }

  inFlightLimit(): number {
    if (this.options.maxConcurrency !== undefined) return this.options.maxConcurrency;
    const latency = this.latencyMs === undefined || this.minLatencyMs === undefined ? undefined : Math.min(this.latencyMs, MIN_LATENCY_FACTOR * this.minLatencyMs);
    return sizedInFlight(this.requestsPerMinute(), latency);
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
    while (this.queue.length > 0 && this.active < this.inFlightLimit()) {
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
