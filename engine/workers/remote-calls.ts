/**
 * The coordinator's side of the workers: LLM calls become jobs on a BullMQ queue (job id = request key, so a
 * request is never queued twice) and their results come back to this process, the only writer of the SQLite cache,
 * which commits them and then removes the job. A job that finished while the coordinator was away is taken from
 * Redis, not sent again; a job that Redis lost (restarted without persistence) is queued again.
 */
import { Queue, QueueEvents } from 'bullmq';
import type { ItemKey } from '../json.js';
import { LlmCallError } from '../llm/types.js';
import { failureFromMessage, LLM_QUEUE, redisConnection, type LlmJobData, type LlmJobResult } from './llm-job.js';

/** How often the calls still waiting are checked against Redis (a lost job or a missed event). */
const SWEEP_MS = 2_000;
const SWEEP_CHUNK = 200;

interface Waiter {
  data: LlmJobData;
  resolve(result: LlmJobResult): void;
  reject(error: Error): void;
}

export interface RemoteLlm {
  call(data: LlmJobData, signal?: AbortSignal): Promise<LlmJobResult>;
  /** The result is committed: its job can go. */
  committed(key: ItemKey): void;
  close(): Promise<void>;
}

export async function connectRemoteLlm(redisUrl: string, warn: (message: string) => void): Promise<RemoteLlm> {
  const connection = redisConnection(redisUrl);
  const queue = new Queue<LlmJobData, LlmJobResult>(LLM_QUEUE, { connection });
  const events = new QueueEvents(LLM_QUEUE, { connection });
  queue.on('error', () => undefined); // ioredis reconnects; the sweep catches up
  events.on('error', () => undefined);
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
  const waiters = new Map<string, Waiter>();
  let warnedDown = false;

  const settle = (id: string, outcome: { result: LlmJobResult } | { error: Error }) => {
    const waiter = waiters.get(id);
    if (waiter === undefined) return;
    waiters.delete(id);
    if ('result' in outcome) waiter.resolve(outcome.result);
    else waiter.reject(outcome.error);
  };
  events.on('completed', ({ jobId, returnvalue }) => {
    settle(jobId, { result: (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as LlmJobResult });
  });
  events.on('failed', ({ jobId, failedReason }) => {
    // A job moved to failed is final (one attempt: the worker has retried the provider already); remove it so a
    // later run asks again.
    settle(jobId, { error: failureFromMessage(failedReason) });
    queue.remove(jobId).catch(() => undefined);
  });

  /** Queues the job unless Redis has it; takes its result when it is finished already. */
  const submit = async (id: string, data: LlmJobData) => {
    const job = await queue.getJob(id);
    if (job !== undefined) {
      const state = await job.getState();
      if (state === 'completed') return settle(id, { result: job.returnvalue });
      // Failed before this process listened (a previous run's job): a rerun retries failed calls.
      if (state === 'failed') await job.remove();
      else if (state !== 'unknown') return; // waiting, active or delayed: its event will come
    }
    await queue.add('llm', data, { jobId: id, attempts: 1, removeOnComplete: false, removeOnFail: false });
  };

  const sweep = async () => {
    const ids = [...waiters.keys()];
    for (let start = 0; start < ids.length; start += SWEEP_CHUNK) {
      await Promise.all(
        ids.slice(start, start + SWEEP_CHUNK).map(async (id) => {
          const state = await queue.getJobState(id);
          if (state === 'completed' || state === 'failed' || state === 'unknown') {
            const waiter = waiters.get(id);
            if (waiter !== undefined) await submit(id, waiter.data);
          }
        }),
      );
    }
  };
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping || waiters.size === 0) return;
    sweeping = true;
    sweep()
      .then(() => (warnedDown = false))
      .catch((error: unknown) => {
        if (!warnedDown) warn(`Redis is not answering (${(error as Error).message}); waiting for it to come back.`);
        warnedDown = true;
      })
      .finally(() => (sweeping = false));
  }, SWEEP_MS);

  return {
    call(data, signal) {
      const id = data.requestKey;
      if (signal?.aborted === true) return Promise.reject(new LlmCallError('aborted', 'The call was aborted before it was queued.'));
      const result = new Promise<LlmJobResult>((resolve, reject) => {
        waiters.set(id, { data, resolve, reject });
        signal?.addEventListener('abort', () => settle(id, { error: new LlmCallError('aborted', 'The run stopped while a worker had the call; its answer is kept in Redis for the next run.') }), { once: true });
      });
      // One round trip: a job with this id that Redis has already is left as it is (BullMQ ignores the add), and the
      // sweep takes its result if it finished before this process listened.
      queue.add('llm', data, { jobId: id, attempts: 1, removeOnComplete: false, removeOnFail: false }).catch(() => undefined);
      return result;
    },
    committed(key) {
      queue.remove(key).catch(() => undefined);
    },
    async close() {
      clearInterval(timer);
      for (const id of [...waiters.keys()]) settle(id, { error: new LlmCallError('aborted', 'The coordinator closed.') });
      await Promise.allSettled([events.close(), queue.close()]);
    },
  };
}
