/**
 * The coordinator's side of the workers, for any kind of job: work becomes jobs on a BullMQ queue (job id = the
 * work's key, so it is never queued twice) and results come back to this process, the only writer of the SQLite
 * cache, which commits them and then has the job removed. A job that finished while the coordinator was away is taken
 * from Redis, not done again; a job that Redis lost (restarted without persistence) is queued again.
 *
 * Why the upkeep is one serial loop: a job is queued again only when Redis has no trace of it, and committed jobs are
 * removed only by that same loop, so a check can never see a job that was just committed and removed as "lost" and
 * do (and pay for) it twice.
 */
import { Queue, QueueEvents } from 'bullmq';
import { redisConnection } from './redis.js';

/** How often the upkeep runs: committed jobs removed, waiting calls checked. */
const UPKEEP_MS = 1_000;
/**
 * A waiting job is checked against Redis after this long, then at doubling intervals up to the maximum: a safety net
 * for an event missed (the events stream is trimmed) or a job lost without a reconnection being seen. With hundreds of
 * jobs queued each waits for seconds, and checking all of them every 2 s cost as many Redis scripts as the jobs did.
 */
const FIRST_CHECK_MS = 4_000;
const MAX_CHECK_MS = 32_000;
const CHUNK = 500;

interface Waiter<D, R> {
  data: D;
  result: Promise<R>;
  resolve(result: R): void;
  reject(error: Error): void;
  /** When the upkeep next asks Redis about this call (a lost job or a missed event). */
  checkAt: number;
  checkEveryMs: number;
}

export interface JobQueue<D, R> {
  /** Queues the job (unless Redis has it already) and resolves with its result. */
  run(id: string, data: D, signal?: AbortSignal): Promise<R>;
  /** The result is committed: its job can go. */
  committed(id: string): void;
  close(): Promise<void>;
}

export interface JobQueueOptions {
  redisUrl: string;
  queue: string;
  /** The error a waiting job gets when the run stops (its result stays in Redis for the next run). */
  aborted(message: string): Error;
  /** The error of a failed job, from the worker's message. */
  failure(message: string): Error;
  warn(message: string): void;
}

const JOB_OPTIONS = { attempts: 1, removeOnComplete: false, removeOnFail: false } as const;

export async function connectJobQueue<D, R>(options: JobQueueOptions): Promise<JobQueue<D, R>> {
  const { redisUrl, warn } = options;
  // Commands issued in one tick (a burst of adds or removals) go out in one write.
  const connection = { ...redisConnection(redisUrl), enableAutoPipelining: true };
  // Untyped inside: BullMQ cannot resolve its name and data types from a type parameter; run() and the results are typed.
  const queue: Queue = new Queue(options.queue, { connection });
  const events = new QueueEvents(options.queue, { connection: redisConnection(redisUrl) });
  queue.on('error', () => undefined); // ioredis reconnects; the upkeep catches up
  events.on('error', () => undefined);
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
  const waiters = new Map<string, Waiter<D, R>>();
  /** Committed results whose jobs the upkeep removes. */
  let committedKeys: string[] = [];
  /** Calls made in this tick, queued together. */
  let toQueue: { id: string; data: D }[] = [];
  let warnedDown = false;

  const settle = (id: string, outcome: { result: R } | { error: Error }) => {
    const waiter = waiters.get(id);
    if (waiter === undefined) return;
    waiters.delete(id);
    if ('result' in outcome) waiter.resolve(outcome.result);
    else waiter.reject(outcome.error);
  };
  events.on('completed', ({ jobId, returnvalue }) => {
    settle(jobId, { result: (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as R });
  });
  events.on('duplicated', ({ jobId }) => {
    // Redis had the job already (queued by a run that was killed): it may be finished, so look now, not in seconds.
    const waiter = waiters.get(jobId);
    if (waiter !== undefined) waiter.checkAt = 0;
  });
  events.on('failed', ({ jobId, failedReason }) => {
    // A job moved to failed is final (one attempt: a worker retries what is worth retrying itself); the upkeep
    // removes it so a later run asks again.
    settle(jobId, { error: options.failure(failedReason) });
    committedKeys.push(jobId);
  });

  const queueBurst = () => {
    const burst = toQueue.filter(({ id }) => waiters.has(id));
    toQueue = [];
    // A job with this id that Redis has already is left as it is (BullMQ ignores the add); the upkeep takes its result
    // if it finished before this process listened.
    queue.addBulk(burst.map(({ id, data }) => ({ name: options.queue, data, opts: { ...JOB_OPTIONS, jobId: id } }))).catch(() => undefined);
  };

  /** Takes a finished job's result, or queues the call again when Redis has lost its job. */
  const check = async (id: string) => {
    const state = await queue.getJobState(id);
    const waiter = waiters.get(id);
    if (waiter === undefined) return;
    if (state === 'unknown') await queue.add(options.queue, waiter.data, { ...JOB_OPTIONS, jobId: id });
    else if (state === 'completed') {
      // Read after the state: a job read earlier may have been active then, without its result.
      const job = await queue.getJob(id);
      if (job !== undefined) settle(id, { result: job.returnvalue as R });
    } else if (state === 'failed') {
      // Failed before this process listened (a previous run's job): a rerun retries failed calls.
      await queue.remove(id);
      if (waiters.has(id)) await queue.add(options.queue, waiter.data, { ...JOB_OPTIONS, jobId: id });
    }
  };

  const upkeep = async (everything: boolean) => {
    const removals = committedKeys;
    committedKeys = [];
    for (let start = 0; start < removals.length; start += CHUNK) {
      await Promise.all(removals.slice(start, start + CHUNK).map((id) => queue.remove(id)));
    }
    const now = Date.now();
    const due: string[] = [];
    for (const [id, waiter] of waiters) {
      if (!everything && waiter.checkAt > now) continue;
      due.push(id);
      waiter.checkEveryMs = Math.min(MAX_CHECK_MS, waiter.checkEveryMs * 2);
      waiter.checkAt = now + waiter.checkEveryMs;
    }
    for (let start = 0; start < due.length; start += CHUNK) await Promise.all(due.slice(start, start + CHUNK).map(check));
  };

  let running: Promise<void> | undefined;
  /** After Redis was unreachable every waiting call is checked: a restarted Redis may have lost their jobs. */
  let checkEverything = false;
  const runUpkeep = () => {
    if (running !== undefined || (waiters.size === 0 && committedKeys.length === 0)) return;
    const everything = checkEverything;
    checkEverything = false;
    running = upkeep(everything)
      .then(() => {
        if (warnedDown) warn('Redis answers again; calls whose jobs it lost are queued again.');
        warnedDown = false;
      })
      .catch((error: unknown) => {
        checkEverything = true;
        if (!warnedDown) warn(`Redis is not answering (${(error as Error).message}); waiting for it to come back.`);
        warnedDown = true;
      })
      .finally(() => (running = undefined));
  };
  const timer = setInterval(runUpkeep, UPKEEP_MS);
  // A reconnection may be to a Redis that restarted and lost its jobs.
  (await queue.client).on('ready', () => (checkEverything = true));

  return {
    run(id, data, signal) {
      if (signal?.aborted === true) return Promise.reject(options.aborted('The work was aborted before it was queued.'));
      // The same id asked twice at once (two equal items of one map): one job, one result for both.
      const waiting = waiters.get(id);
      if (waiting !== undefined) return waiting.result;
      let resolveResult!: (result: R) => void;
      let rejectResult!: (error: Error) => void;
      const result = new Promise<R>((resolve, reject) => {
        resolveResult = resolve;
        rejectResult = reject;
      });
      waiters.set(id, { data, result, resolve: resolveResult, reject: rejectResult, checkAt: Date.now() + FIRST_CHECK_MS, checkEveryMs: FIRST_CHECK_MS });
      signal?.addEventListener('abort', () => settle(id, { error: options.aborted('The run stopped while a worker had the job; its result is kept in Redis for the next run.') }), { once: true });
      if (toQueue.length === 0) setImmediate(queueBurst);
      toQueue.push({ id, data });
      return result;
    },
    committed(id) {
      committedKeys.push(id);
    },
    async close() {
      clearInterval(timer);
      for (const id of [...waiters.keys()]) settle(id, { error: options.aborted('The coordinator closed.') });
      // The last committed jobs go now, so Redis keeps only what a later run can still use.
      await running;
      await upkeep(false).catch(() => undefined);
      await Promise.allSettled([events.close(), queue.close()]);
    },
  };
}
