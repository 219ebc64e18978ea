import { parseCommandArgs, usageError } from './args.js';

const USAGE = 'synthcse worker --redis URL [--concurrency N] [--item-concurrency N] [--base-url URL] [--lock-ms MS]';

/**
 * Sends the LLM calls and runs the item work of runs started with `run --redis URL` until SIGINT/SIGTERM (then
 * finishes the jobs it has).
 */
export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('worker', argv, {
    redis: { type: 'string' },
    concurrency: { type: 'string' },
    'item-concurrency': { type: 'string' },
    'base-url': { type: 'string' },
    'lock-ms': { type: 'string' },
  }, USAGE);
  if (positionals.length > 0) throw usageError('worker takes no file: the coordinator (`run --redis URL`) sends the calls.', USAGE);
  if (values.redis === undefined) throw usageError('worker needs --redis URL, the Redis the coordinator uses (e.g. redis://127.0.0.1:6379).', USAGE);
  const concurrency = positiveInteger(values.concurrency ?? '16', '--concurrency');
  const itemConcurrency = positiveInteger(values['item-concurrency'] ?? '1', '--item-concurrency');
  const lockMs = positiveInteger(values['lock-ms'] ?? '30000', '--lock-ms');
  const baseUrl = values['base-url'];
  const { redisConnection } = await import('../workers/redis.js');
  try {
    redisConnection(values.redis);
  } catch (error) {
    throw usageError((error as Error).message, USAGE);
  }
  const [{ startLlmWorker }, { startItemWorker }, { builtinRegistry }] = await Promise.all([
    import('../workers/llm-worker.js'),
    import('../workers/item-worker.js'),
    import('./registry.js'),
  ]);
  const log = (message: string) => process.stderr.write(`${message}\n`);
  const llmWorker = await startLlmWorker({ redisUrl: values.redis, concurrency, lockMs, env: process.env, log, ...(baseUrl === undefined ? {} : { baseUrl }) });
  const itemWorker = await startItemWorker({ redisUrl: values.redis, concurrency: itemConcurrency, lockMs, registry: builtinRegistry, log });
  log(`worker ${process.pid}: ready (${concurrency} calls and ${itemConcurrency} item(s) at once${baseUrl === undefined ? '' : `, endpoint ${baseUrl}`})`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  log(`worker ${process.pid}: stopping after the jobs in progress`);
  await Promise.all([llmWorker.close(), itemWorker.close()]);
  return 0;
}

function positiveInteger(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw usageError(`${flag} must be a positive integer, not "${text}".`, USAGE);
  return value;
}
