/** The Redis that the coordinator (`run --redis URL`) and `synthcse worker` processes share. */
import { Worker, type ConnectionOptions, type Processor } from 'bullmq';

/** redis://[user:password@]host:port[/db] as the connection options BullMQ passes to ioredis. */
export function redisConnection(url: string): ConnectionOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`--redis must be a URL like redis://127.0.0.1:6379, not "${url}".`);
  }
  if (parsed.protocol !== 'redis:') throw new Error(`--redis must be a redis:// URL, not "${url}".`);
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0;
  return {
    host: parsed.hostname,
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    db,
    maxRetriesPerRequest: null,
  };
}

export interface QueueWorkerOptions {
  redisUrl: string;
  concurrency: number;
  lockMs: number;
  log(message: string): void;
}

/**
 * A BullMQ worker on `queue`. A job whose worker died is delivered again after `lockMs`, however often that happens;
 * connection errors are logged once per distinct message. Returned at once (it may take jobs before it is ready).
 */
export function queueWorker<Data, Result>(queue: string, process: Processor<Data, Result>, options: QueueWorkerOptions): Worker<Data, Result> {
  const worker = new Worker<Data, Result>(queue, process, {
    connection: redisConnection(options.redisUrl),
    concurrency: options.concurrency,
    lockDuration: options.lockMs,
    stalledInterval: options.lockMs,
    maxStalledCount: Number.MAX_SAFE_INTEGER,
  });
  let lastError = '';
  worker.on('error', (error) => {
    if (error.message !== lastError) options.log(`worker: ${error.message}`);
    lastError = error.message;
  });
  return worker;
}
