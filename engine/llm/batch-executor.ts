/**
 * Message Batches execution: collects batch-mode calls, writes their intent to the store, submits, records the batch
 * id at once, polls, and stores each result under the same request key as online mode. Errored or expired items are
 * resubmitted alone; a new process polls batches recorded as in flight instead of submitting them again.
 */
import type { ItemKey } from '../json.js';
import type { LlmStore, StoredResponse } from './llm-store.js';
import { backoffMs, reasonOf } from './online-executor.js';
import type { PriceTable } from './prices.js';
import { ProviderFailure, type BatchItemOutcome, type BatchProvider } from './provider.js';
import { customIdOf, serializeRequest } from './request-key.js';
import { LlmCallError, type LlmRequest, type ProviderName } from './types.js';
import type { Logger } from '../node-type.js';

export interface BatchJob {
  key: ItemKey;
  request: LlmRequest;
  requestJson: string;
  nodeId: string;
  sample: number;
}

export interface BatchExecutorOptions {
  providerName: ProviderName;
  provider: BatchProvider;
  store: LlmStore;
  prices: PriceTable;
  pollMs: number;
  quietMs: number;
  maxRequests: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  log: Logger;
  redact: (text: string) => string;
  /** Called once per stored result (success) or final failure, e.g. to settle the budget. */
  onSettled?: (key: ItemKey, costUsd: number | undefined) => void;
}

/** The Batches API takes at most 256 MB per batch; request bodies are counted with headroom for the envelope. */
const MAX_BATCH_BYTES = 200 * 1024 * 1024;

interface Waiter {
  resolve: (response: StoredResponse) => void;
  reject: (error: Error) => void;
}

export class BatchExecutor {
  private readonly queue = new Map<ItemKey, BatchJob>();
  private queuedBytes = 0;
  private readonly waiters = new Map<ItemKey, Waiter>();
  private readonly polling = new Map<string, Promise<void>>();
  private quietTimer: NodeJS.Timeout | undefined;
  private readonly sleepers = new Set<() => void>();
  private closed = false;

  constructor(private readonly options: BatchExecutorOptions) {}

  /** Queues a new call; resolves when its result is stored. */
  submit(job: BatchJob): Promise<StoredResponse> {
    const promise = this.wait(job.key);
    this.enqueue(job);
    return promise;
  }

  /** Waits for a call already recorded as part of an in-flight batch (resume after a crash). */
  attach(key: ItemKey, batchId: string): Promise<StoredResponse> {
    const promise = this.wait(key);
    this.startPolling(batchId);
    return promise;
  }

  /** Stops polling (batches stay recorded, so the next run polls them) and waits for polls in progress to stop. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.quietTimer !== undefined) clearTimeout(this.quietTimer);
    for (const wake of this.sleepers) wake();
    const error = new LlmCallError('aborted', 'The LLM service closed while the batch was in flight; the next run polls it.');
    for (const waiter of this.waiters.values()) waiter.reject(error);
    this.waiters.clear();
    this.queue.clear();
    this.queuedBytes = 0;
    await Promise.allSettled([...this.polling.values()]);
  }

  private wait(key: ItemKey): Promise<StoredResponse> {
    return new Promise<StoredResponse>((resolve, reject) => this.waiters.set(key, { resolve, reject }));
  }

  private enqueue(job: BatchJob): void {
    if (this.closed) return;
    if (!this.queue.has(job.key)) this.queuedBytes += job.requestJson.length;
    this.queue.set(job.key, job);
    if (this.quietTimer !== undefined) clearTimeout(this.quietTimer);
    this.quietTimer = undefined;
    if (this.queue.size >= this.options.maxRequests || this.queuedBytes >= MAX_BATCH_BYTES) {
      void this.flush();
    } else {
      this.quietTimer = setTimeout(() => void this.flush(), this.options.quietMs);
    }
  }

  private async flush(): Promise<void> {
    this.quietTimer = undefined;
    const jobs: BatchJob[] = [];
    let bytes = 0;
    for (const job of this.queue.values()) {
      if (jobs.length >= this.options.maxRequests || (jobs.length > 0 && bytes + job.requestJson.length > MAX_BATCH_BYTES)) break;
      jobs.push(job);
      bytes += job.requestJson.length;
    }
    for (const job of jobs) this.queue.delete(job.key);
    this.queuedBytes -= bytes;
    if (jobs.length === 0) return;
    if (this.queue.size > 0) this.quietTimer = setTimeout(() => void this.flush(), 0);
    const { store, provider, providerName } = this.options;
    store.recordIntent(
      jobs.map((job) => ({
        request_key: job.key,
        custom_id: customIdOf(job.key),
        provider: providerName,
        sample: job.sample,
        request_json: job.requestJson,
        node_id: job.nodeId,
      })),
    );
    for (let attempt = 1; ; attempt++) {
      try {
        const batchId = await provider.createBatch(jobs.map((job) => ({ customId: customIdOf(job.key), request: job.request })));
        // Recorded even when closing: the batch exists and is paid for; the next run polls it.
        store.recordBatch(batchId, providerName, jobs.map((job) => job.key));
        this.options.log.info(`Submitted LLM batch ${batchId} with ${jobs.length} requests.`);
        this.startPolling(batchId);
        return;
      } catch (error) {
        const failure = error instanceof ProviderFailure ? error : undefined;
        if (failure === undefined || !failure.retryable || attempt >= this.options.maxAttempts || this.closed) {
          const reason = failure === undefined ? 'server-error' : reasonOf(failure.kind);
          const callError = new LlmCallError(reason, this.options.redact(`Creating the batch failed: ${(error as Error).message}`));
          for (const job of jobs) this.fail(job.key, callError);
          return;
        }
        await this.sleep(failure.retryAfterMs ?? backoffMs(attempt, this.options));
      }
    }
  }

  private startPolling(batchId: string): void {
    if (this.polling.has(batchId) || this.closed) return;
    const polling = this.poll(batchId)
      .catch((error: unknown) => {
        if (!this.closed) this.options.log.warn(this.options.redact(`Polling batch ${batchId} stopped: ${(error as Error).message}`));
      })
      .finally(() => this.polling.delete(batchId));
    this.polling.set(batchId, polling);
  }

  private async poll(batchId: string): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      try {
        const ended = await this.options.provider.batchEnded(batchId);
        if (this.closed) return;
        if (ended) break;
        failures = 0;
      } catch (error) {
        if (this.closed) return;
        if (!(error instanceof ProviderFailure) || !error.retryable) return this.failBatch(batchId, error as Error);
        failures++;
        this.options.log.warn(this.options.redact(`Polling batch ${batchId} failed (${error.message}); retrying.`));
      }
      await this.sleep(failures === 0 ? this.options.pollMs : Math.max(this.options.pollMs, backoffMs(failures, this.options)));
    }
    if (this.closed) return;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.collect(batchId);
        return;
      } catch (error) {
        if (this.closed) return;
        if (!(error instanceof ProviderFailure) || !error.retryable || attempt >= this.options.maxAttempts) return this.failBatch(batchId, error as Error);
        await this.sleep(backoffMs(attempt, this.options));
        if (this.closed) return;
      }
    }
  }

  private async collect(batchId: string): Promise<void> {
    const seen = new Set<string>();
    for await (const { customId, outcome } of this.options.provider.batchResults(batchId)) {
      if (this.closed) return;
      const row = this.options.store.batchItemByCustomId(batchId, customId);
      if (row === undefined) continue; // Stored by an earlier collection of the same batch.
      seen.add(customId);
      this.settle(row.request_key, row, outcome);
    }
    for (const row of this.options.store.itemsOfBatch(batchId)) {
      if (!seen.has(row.custom_id)) this.settle(row.request_key, row, { type: 'errored', message: 'The batch results did not include this request.' });
    }
    this.options.store.finishBatch(batchId);
  }

  private settle(key: ItemKey, row: { request_json: string; node_id: string; sample: number; provider: ProviderName }, outcome: BatchItemOutcome): void {
    const request = JSON.parse(row.request_json) as LlmRequest;
    if (outcome.type === 'succeeded') {
      const { reply } = outcome;
      const { costUsd, cacheSavingsUsd } = this.options.prices.cost(request.model, reply.usage, 'batch');
      const stored = this.options.store.saveReply({
        key,
        provider: row.provider,
        request,
        serialized: serializeRequest(request),
        sample: row.sample,
        reply,
        latencyMs: 0,
        mode: 'batch',
        nodeId: row.node_id,
        costUsd,
        savingsUsd: cacheSavingsUsd,
      });
      this.options.onSettled?.(key, costUsd);
      const waiter = this.waiters.get(key);
      this.waiters.delete(key);
      waiter?.resolve(stored);
      return;
    }
    const attempts = this.options.store.detachBatchItem(key);
    const waiter = this.waiters.get(key);
    // Nobody in this process asked for it: it stays detached, and whoever asks next resubmits it.
    if (waiter === undefined) return;
    const reason = outcome.type === 'errored' ? 'batch-errored' : 'batch-expired';
    const detail = outcome.type === 'errored' ? outcome.message : `the request ${outcome.type}`;
    if (attempts >= this.options.maxAttempts) {
      this.options.store.dropBatchItem(key);
      this.fail(key, new LlmCallError(reason, this.options.redact(`Batch item failed after ${attempts} submissions: ${detail}`)));
      return;
    }
    this.options.log.warn(`Resubmitting batch item ${key.slice(0, 12)} (${detail}).`);
    this.enqueue({ key, request, requestJson: row.request_json, nodeId: row.node_id, sample: row.sample });
  }

  private failBatch(batchId: string, error: Error): void {
    const callError = new LlmCallError(
      error instanceof ProviderFailure ? reasonOf(error.kind) : 'server-error',
      this.options.redact(`Batch ${batchId} could not be read: ${error.message}`),
    );
    const rows = this.options.store.itemsOfBatch(batchId);
    // A batch the provider does not know (404) is forgotten so its items are resubmitted; otherwise the items stay
    // attached and the next run polls it again.
    if (error instanceof ProviderFailure && error.status === 404) this.options.store.forgetBatch(batchId);
    for (const row of rows) this.fail(row.request_key, callError);
  }

  private fail(key: ItemKey, error: LlmCallError): void {
    this.options.onSettled?.(key, undefined);
    const waiter = this.waiters.get(key);
    this.waiters.delete(key);
    waiter?.reject(error);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }
}
