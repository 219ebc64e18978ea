/**
 * The LlmClient a node gets: request cache first, then a lease so no two processes pay for one request, then the
 * budget check, then the online executor or the batch executor. Each answer is committed the moment it arrives.
 */
import { canonicalJson, type ItemKey } from '../json.js';
import type { BatchExecutor } from './batch-executor.js';
import type { Budget } from './budget.js';
import type { LlmStore, StoredResponse } from './llm-store.js';
import { callOnline, type RetryNotice, type RetryPolicy } from './online-executor.js';
import type { PriceTable } from './prices.js';
import type { OnlineProvider } from './provider.js';
import { keyedCall, messageJson, prefixDigestOf, serializeRequest, type KeyedCall } from './request-key.js';
import type { RequestPool } from './request-pool.js';
import { estimateInputTokens } from './tokens.js';
import type { LlmJobService } from '../workers/llm-job.js';
import type { RemoteLlm } from '../workers/remote-calls.js';
import {
  LlmCallError,
  LlmEndpointError,
  type CallMode,
  type CostEstimate,
  type LlmCallOptions,
  type LlmClient,
  type LlmRequest,
  type LlmResponse,
  type LlmSpend,
  type ProviderName,
  type RequestPlanner,
} from './types.js';

/** State shared by every client of one service. */
export interface LlmCore {
  providerName: ProviderName;
  /** The base URL calls go to (null: the provider's default); part of every request key. */
  endpoint: string | null;
  provider: OnlineProvider;
  /** Undefined when the provider has no batch API. */
  batch: BatchExecutor | undefined;
  store: LlmStore;
  prices: PriceTable;
  budget: Budget;
  pool(model: string): RequestPool;
  policy: RetryPolicy;
  redact(text: string): string;
  /** Calls this process is making, so two nodes asking the same request share one call. */
  inFlight: Map<ItemKey, Promise<StoredResponse>>;
  /** How often to look again when another process holds a request's lease. */
  leasePollMs: number;
  /** Estimates reserved for batch items, settled when their result is stored. */
  batchReservations: Map<ItemKey, number>;
  /** The endpoint check, made once before the first call that would be paid. */
  preflight(): Promise<void>;
  onRetry(nodeId: string, retry: RetryNotice): void;
  /** What this run sent, reused and got back, for the progress line. */
  tally: CallTally;
  /** What each node paid in this run (never other runs' or other pipelines' spend under the same node name). */
  nodeSpend: Map<string, LlmSpend>;
  /** With --redis: online calls go to workers as jobs; this process still commits every answer. */
  remote?: { calls: RemoteLlm; service: LlmJobService };
}

export interface CallTally {
  sent: number;
  reused: number;
  inputTokens: number;
  outputTokens: number;
  retries: number;
  errors: number;
}

export class ServiceClient implements LlmClient {
  readonly provider: ProviderName;

  constructor(
    private readonly core: LlmCore,
    readonly nodeId: string,
    readonly mode: CallMode,
    readonly model: string,
  ) {
    this.provider = core.providerName;
  }

  requestKey(request: LlmRequest, sample: number): ItemKey {
    return this.keyedCall(request, sample).key;
  }

  private keyedCall(request: LlmRequest, sample: number): KeyedCall {
    const provider = this.core.provider;
    if (provider.modelKeyOf === undefined) return keyedCall(this.provider, this.core.endpoint, request, sample);
    const digest = provider.modelKeyOf(request.model);
    if (digest === undefined) throw new Error(`Internal error: the key of a ${this.provider} request needs the model file of ${request.model}, which is not prepared yet`);
    return keyedCall(this.provider, this.core.endpoint, request, sample, digest);
  }

  isCached(request: LlmRequest, sample: number): boolean {
    const key = this.keyIfAnswerable(request, sample);
    return key !== undefined && this.core.store.hasResponse(key);
  }

  /** The request key, or undefined when the request cannot have an answer yet. */
  private keyIfAnswerable(request: LlmRequest, sample: number): ItemKey | undefined {
    // A model file not found (or not downloaded) yet has no answers in the cache.
    if (this.core.provider.modelKeyOf !== undefined && this.core.provider.modelKeyOf(request.model) === undefined) return undefined;
    return this.requestKey(request, sample);
  }

  validate(request: LlmRequest): string[] {
    const problems = this.core.provider.validate(request);
    if (this.provider !== 'local' && (request.guidance !== undefined || request.prompt_format === 'completion')) {
      problems.push(
        `${request.guidance !== undefined ? 'guidance' : 'prompt_format: completion'} needs the local provider: the ${this.provider} API does not expose next-token distributions or raw completion.`,
      );
    }
    if (this.mode === 'batch' && this.core.batch === undefined) {
      problems.push(`mode: batch is not available with the ${this.provider} provider; use mode: online.`);
    }
    if (!Number.isInteger(request.max_tokens) || request.max_tokens < 1) problems.push('max_tokens must be a positive integer.');
    if (request.messages.length === 0 || request.messages[request.messages.length - 1]!.role !== 'user') {
      problems.push('a request must end with a user message.');
    }
    return problems;
  }

  estimate(requests: readonly { request: LlmRequest; sample: number }[]): CostEstimate {
    const total: CostEstimate = { requests: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
    for (const { request, sample } of requests) {
      if (this.isCached(request, sample)) continue;
      const one = this.estimateOne(request);
      total.requests++;
      total.inputTokens += one.inputTokens;
      total.outputTokens += one.outputTokens;
      total.costUsd += one.costUsd;
    }
    return total;
  }

  planner(expectedRequests = 0): RequestPlanner {
    // A cache with no answer at all (a first plan) has none of these requests and no output lengths to average:
    // no request needs its key or its prefix digest.
    if (!this.core.store.hasAnyResponse()) return { isCached: () => false, cost: (request) => this.estimateOne(request, () => undefined) };
    // Counts from the indexes: the answered keys, read once, spare a query per request unless the cache holds far
    // more answers than the node has requests. Few-shot prefixes rarely repeat (SynCSE draws 5 of 18 exemplars), so
    // the answered prefixes, read once, spare a mean-length query for almost every request; recipes without few-shot
    // turns share one prefix, asked once.
    const answeredKeys = this.core.store.answeredKeys(Math.min(PLANNER_KEYS, 2 * expectedRequests));
    const answeredPrefixes = this.core.store.answeredPrefixes(PLANNER_PREFIXES);
    // The messages serialised for a request's key serve its prefix digest too, when it turns out to be missing.
    // An item's requests are looked up, then its missing ones priced: the last few suffice.
    const serialized = new RecentlySerialized();
    // The answered requests' turns rule most requests of a partly answered node out with a set look-up, before any
    // key or prefix digest is hashed; a request they do not rule out is keyed and looked up as before. Reading a
    // stored request costs about what keying one does, so they are read only when they are few beside the node's.
    const turns = answeredKeys !== undefined && answeredKeys.size <= expectedRequests / 2 ? this.core.store.answeredTurns(answeredKeys.size) : undefined;
    const isCached = (request: LlmRequest, sample: number): boolean => {
      const last = request.messages[request.messages.length - 1];
      if (turns !== undefined && last !== undefined && !turns.lastMessages.has(messageJson(last))) return false;
      if (this.core.provider.modelKeyOf !== undefined && this.core.provider.modelKeyOf(request.model) === undefined) return false;
      const keyed = this.keyedCall(request, sample);
      serialized.set(request, keyed.messages);
      return answeredKeys === undefined ? this.core.store.hasResponse(keyed.key) : answeredKeys.has(keyed.key);
    };
    const means = new Map<string, number | undefined>();
    const shotsAnswered = (request: LlmRequest): boolean => {
      const shots = turns?.shots;
      if (shots === undefined) return true;
      const ids: number[] = [];
      for (let i = 0; i < request.messages.length - 1; i++) {
        const id = shots.turnIds.get(messageJson(request.messages[i]!));
        if (id === undefined) return false;
        ids.push(id);
      }
      return shots.sequences.has(ids.join(','));
    };
    const meanOutputTokens = (request: LlmRequest): number | undefined => {
      if (!shotsAnswered(request)) return undefined;
      const messages = serialized.get(request);
      const prefix = messages === undefined ? prefixDigestOf(request) : serializeRequest(request, messages).prefixDigest;
      if (answeredPrefixes !== undefined && !answeredPrefixes.has(prefix)) return undefined;
      if (means.has(prefix)) return means.get(prefix);
      const mean = this.core.store.meanOutputTokens(prefix);
      if (means.size < PLANNER_PREFIXES) means.set(prefix, mean);
      return mean;
    };
    return { isCached, cost: (request) => this.estimateOne(request, meanOutputTokens) };
  }

  async complete(request: LlmRequest, options: LlmCallOptions): Promise<LlmResponse> {
    const problems = this.validate(request);
    if (problems.length > 0) throw new LlmCallError('invalid-request', problems.join(' '));
    if (this.core.provider.prepare !== undefined) {
      try {
        await this.core.provider.prepare(request.model, { download: true });
      } catch (error) {
        throw new LlmCallError('invalid-request', this.core.redact((error as Error).message));
      }
    }
    // Serialised once: the canonical JSON of the messages makes the key, and the stored request and prefix digest of a paid call.
    const keyed = this.keyedCall(request, options.sample);
    const key = keyed.key;
    const stored = this.core.store.getResponse(key);
    if (stored !== undefined) {
      this.core.tally.reused++;
      return { ...stored, cached: true };
    }
    const pending = this.core.inFlight.get(key);
    if (pending !== undefined) return { ...(await pending), cached: true };
    const call = this.pay(keyed, request, options);
    const shared = call.then((r) => r.response);
    shared.catch(() => undefined); // Its failure is reported to this caller; other waiters get it too.
    this.core.inFlight.set(key, shared);
    try {
      const { response, paid } = await call;
      const tally = this.core.tally;
      if (paid) {
        this.recordSpend(request, response);
        tally.sent++;
        tally.inputTokens += response.usage.input_tokens + response.usage.cache_read_input_tokens + response.usage.cache_creation_input_tokens;
        tally.outputTokens += response.usage.output_tokens;
      } else tally.reused++;
      return { ...response, cached: !paid };
    } catch (error) {
      const notTheCall = error instanceof LlmEndpointError || (error instanceof LlmCallError && (error.reason === 'aborted' || error.reason === 'budget-exceeded'));
      if (!notTheCall) this.core.tally.errors++;
      throw error;
    } finally {
      this.core.inFlight.delete(key);
    }
  }

  private recordSpend(request: LlmRequest, response: StoredResponse): void {
    const { costUsd, cacheSavingsUsd } = this.core.prices.cost(request.model, response.usage, response.mode);
    let spend = this.core.nodeSpend.get(this.nodeId);
    if (spend === undefined) {
      spend = {
        nodeId: this.nodeId,
        provider: this.provider,
        model: this.model,
        mode: this.mode,
        requests: 0,
        usage: { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
        costUsd: 0,
        cacheSavingsUsd: 0,
      };
      this.core.nodeSpend.set(this.nodeId, spend);
    }
    spend.requests++;
    spend.usage.input_tokens += response.usage.input_tokens;
    spend.usage.output_tokens += response.usage.output_tokens;
    spend.usage.cache_read_input_tokens += response.usage.cache_read_input_tokens;
    spend.usage.cache_creation_input_tokens += response.usage.cache_creation_input_tokens;
    spend.costUsd += costUsd;
    spend.cacheSavingsUsd += cacheSavingsUsd;
  }

  /** Output tokens: the mean of cached answers to requests with the same prefix, else max_tokens. */
  private estimateOne(
    request: LlmRequest,
    meanOutputTokens = (r: LlmRequest): number | undefined => this.core.store.meanOutputTokens(prefixDigestOf(r)),
  ): { inputTokens: number; outputTokens: number; costUsd: number } {
    const inputTokens = estimateInputTokens(request);
    const outputTokens = Math.min(request.max_tokens, Math.round(meanOutputTokens(request) ?? request.max_tokens));
    const usage = { input_tokens: inputTokens, output_tokens: outputTokens, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
    return { inputTokens, outputTokens, costUsd: this.core.prices.cost(request.model, usage, this.mode).costUsd };
  }

  /** Waits for another process that holds the lease, or claims it and pays for the call. */
  private async pay(keyed: KeyedCall, request: LlmRequest, options: LlmCallOptions): Promise<{ response: StoredResponse; paid: boolean }> {
    const { key } = keyed;
    await this.core.preflight();
    for (;;) {
      if (options.signal?.aborted === true) throw new LlmCallError('aborted', 'The call was aborted before it was sent.');
      // Committed before the request is sent (with the other claims of this turn): no answer is paid twice.
      const claim = await this.core.store.claimGrouped(key);
      if (claim === 'cached') return { response: this.core.store.getResponse(key)!, paid: false };
      if (claim === 'claimed') break;
      await delay(this.core.leasePollMs);
    }
    try {
      const response = this.mode === 'batch' ? await this.payBatch(key, request, options.sample) : await this.payOnline(keyed, request, options);
      return { response, paid: true };
    } catch (error) {
      this.core.store.release(key);
      throw error;
    }
  }

  private async payOnline({ key, messages }: KeyedCall, request: LlmRequest, options: LlmCallOptions): Promise<StoredResponse> {
    const serialized = serializeRequest(request, messages);
    // The estimated output only matters to a budget, to a token limit that counts output, and to the workers (which
    // reserve budget too); otherwise max_tokens stands in and the per-call query for the mean is skipped.
    const outputMatters = this.core.budget.limitUsd !== undefined || this.core.provider.tokenLimitCountsOutput || this.core.remote !== undefined;
    const estimate = this.estimateOne(request, () => (outputMatters ? this.core.store.meanOutputTokens(serialized.prefixDigest) : undefined));
    // Reserved when the call is about to be sent, so calls waiting in the pool do not hold budget.
    let reserved = false;
    let paid: number | undefined;
    try {
      const { reply, latencyMs } = this.core.remote !== undefined ? await this.sendToWorkers(key, request, options, estimate.costUsd, () => (reserved = true)) : await callOnline(
        this.core.provider,
        this.core.pool(request.model),
        this.core.policy,
        {
          request,
          requestKey: key,
          estimatedTokens: estimate.inputTokens + (this.core.provider.tokenLimitCountsOutput ? estimate.outputTokens : 0),
          ...(options.signal ? { signal: options.signal } : {}),
          onRetry: (retry) => this.core.onRetry(this.nodeId, retry),
          beforeFirstSend: () => {
            this.core.budget.reserve(estimate.costUsd);
            reserved = true;
          },
        },
        this.core.redact,
      );
      const { costUsd, cacheSavingsUsd } = this.core.prices.cost(request.model, reply.usage, 'online');
      paid = costUsd;
      // Committed with the other answers of this turn; the caller gets the answer once it is on disk.
      const stored = await this.core.store.saveReplyGrouped({
        key,
        provider: this.provider,
        request,
        serialized,
        sample: options.sample,
        reply,
        latencyMs,
        mode: 'online',
        nodeId: this.nodeId,
        costUsd,
        savingsUsd: cacheSavingsUsd,
      });
      this.core.remote?.calls.committed(key);
      return stored;
    } finally {
      if (reserved) this.core.budget.settle(estimate.costUsd, paid);
    }
  }

  /** The call as a job for the workers; the budget is reserved when it is queued. */
  private sendToWorkers(key: ItemKey, request: LlmRequest, options: LlmCallOptions, estimateUsd: number, onReserved: () => void) {
    const remote = this.core.remote!;
    this.core.budget.reserve(estimateUsd);
    onReserved();
    return remote.calls.call({ service: remote.service, request, requestKey: key }, options.signal);
  }

  private payBatch(key: ItemKey, request: LlmRequest, sample: number): Promise<StoredResponse> {
    const batch = this.core.batch!;
    const recorded = this.core.store.batchItem(key);
    if (recorded?.batch_id != null) return batch.attach(key, recorded.batch_id);
    const estimate = this.estimateOne(request);
    this.core.budget.reserve(estimate.costUsd);
    this.core.batchReservations.set(key, estimate.costUsd);
    // The request as stored for resubmission keeps cache_prefix: it changes the price, not the answer.
    return batch.submit({ key, request, requestJson: canonicalJson(request), nodeId: this.nodeId, sample });
  }
}

/** The serialised messages of the last few requests keyed, by request (identity). */
class RecentlySerialized {
  private readonly requests: (LlmRequest | undefined)[] = new Array(RECENT).fill(undefined);
  private readonly messages: (string[] | undefined)[] = new Array(RECENT).fill(undefined);
  private next = 0;

  set(request: LlmRequest, messages: string[]): void {
    this.requests[this.next] = request;
    this.messages[this.next] = messages;
    this.next = (this.next + 1) % RECENT;
  }

  get(request: LlmRequest): string[] | undefined {
    const i = this.requests.indexOf(request);
    return i < 0 ? undefined : this.messages[i];
  }
}
const RECENT = 16;

/** How many answered keys, and prefixes (and means), a planner holds in memory; past that it asks per request. */
const PLANNER_KEYS = 1_000_000;
const PLANNER_PREFIXES = 100_000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
