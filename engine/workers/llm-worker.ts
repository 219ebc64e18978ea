/**
 * `synthcse worker`: takes LLM call jobs from the queue and sends them with this machine's key and endpoint. It never
 * touches the SQLite cache: the answer goes back through Redis to the coordinator, which commits it. Calls of one
 * provider and key share one pace across all workers (a schedule of start times in Redis) when the pipeline sets
 * llm.requests_per_minute; a worker that dies mid-job loses its lock and the job is delivered to another worker.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { Job } from 'bullmq';
import { callOnline } from '../llm/online-executor.js';
import type { OnlineProvider } from '../llm/provider.js';
import { apiKeyEnvFor, envValue } from '../llm/config.js';
import { httpProvider } from '../llm/providers/http.js';
import { makeRedactor } from '../llm/redact.js';
import { RequestPool } from '../llm/request-pool.js';
import { LlmCallError } from '../llm/types.js';
import { failureMessage, LLM_QUEUE, type LlmJobData, type LlmJobResult, type LlmJobService } from './llm-job.js';
import { queueWorker } from './redis.js';

export interface LlmWorkerOptions {
  redisUrl: string;
  /** Jobs this worker runs at once. */
  concurrency: number;
  /** This worker's endpoint, instead of the one the pipeline names (e.g. its own llama.cpp or vLLM server). */
  baseUrl?: string;
  /** How long a job's lock lasts without renewal: a dead worker's job is delivered again after about this long. */
  lockMs: number;
  env: NodeJS.ProcessEnv;
  log(message: string): void;
}

export interface LlmWorker {
  /** Stops taking jobs and waits for the ones in progress. */
  close(): Promise<void>;
}

/** Reserves the next start time of a shared pace; returns how long to wait. Times come from Redis's clock. */
const PACE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nextAt = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(now, nextAt)
redis.call('SET', KEYS[1], tostring(start + tonumber(ARGV[1])), 'PX', 60000)
return start - now
`;

export async function startLlmWorker(options: LlmWorkerOptions): Promise<LlmWorker> {
  const name = `${hostname()}:${process.pid}`;
  const providers = new Map<string, { provider: OnlineProvider; pool: RequestPool; paceKey: string; redact: (text: string) => string }>();

  const serviceFor = (service: LlmJobService) => {
    const id = JSON.stringify([service.provider, service.baseUrl, service.apiKeyEnv, service.anthropicVersion, service.requestsPerMinute]);
    let entry = providers.get(id);
    if (entry === undefined) {
      if (service.provider === 'local') throw new LlmCallError('invalid-request', 'A local model runs in the coordinator; workers send calls to HTTP providers only.');
      const keyEnv = apiKeyEnvFor(service.provider, service.apiKeyEnv);
      const apiKey = keyEnv === undefined ? undefined : envValue(options.env[keyEnv]);
      const authToken = envValue(options.env.ANTHROPIC_AUTH_TOKEN);
      const baseUrl = options.baseUrl ?? service.baseUrl ?? undefined;
      const provider: OnlineProvider = httpProvider(
        { provider: service.provider, baseUrl, apiKey, apiKeyEnv: keyEnv, authToken, apiVersion: service.anthropicVersion ?? undefined },
        () => new LlmCallError('invalid-request', 'The openai-compatible provider needs a base URL (llm.base_url or worker --base-url).'),
      );
      // Shared: the pace of this provider and key (its digest, never the key) at this endpoint.
      const paceKey = `synthcse:pace:${service.provider}:${createHash('sha256').update(`${baseUrl ?? ''}\0${apiKey ?? authToken ?? ''}`).digest('hex').slice(0, 24)}`;
      // Local admission: this worker's slots; with a shared pace the pool does not pace on its own.
      const pool = new RequestPool({ maxConcurrency: options.concurrency });
      entry = { provider, pool, paceKey, redact: makeRedactor([apiKey, authToken]) };
      providers.set(id, entry);
    }
    return entry;
  };

  // The worker's own ioredis connection (BullMQ types it narrowly; it is an ioredis client). defineCommand sends the
  // script by its SHA (EVALSHA), not its text, on every call.
  interface PaceClient {
    defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
    synthcsePace?(key: string, intervalMs: string): Promise<unknown>;
  }
  let paceClient: PaceClient | undefined;
  const waitForPace = async (key: string, requestsPerMinute: number) => {
    if (paceClient === undefined) {
      const client = (await worker.client) as unknown as PaceClient;
      if (client.synthcsePace === undefined) client.defineCommand('synthcsePace', { numberOfKeys: 1, lua: PACE_SCRIPT });
      paceClient = client;
    }
    const waitMs = Number(await paceClient.synthcsePace!(key, String(60_000 / requestsPerMinute)));
    if (waitMs > 0) await new Promise((done) => setTimeout(done, waitMs));
  };

  const processJob = async (job: Job<LlmJobData, LlmJobResult>): Promise<LlmJobResult> => {
    const { service, request, requestKey } = job.data;
    try {
      const entry = serviceFor(service);
      if (service.requestsPerMinute !== null) await waitForPace(entry.paceKey, service.requestsPerMinute);
      const { reply, latencyMs } = await callOnline(entry.provider, entry.pool, service.policy, { request, requestKey, estimatedTokens: 0 }, entry.redact);
      return { reply, latencyMs, worker: name };
    } catch (error) {
      if (error instanceof LlmCallError) throw new Error(failureMessage(error));
      throw error;
    }
  };

  const worker = queueWorker<LlmJobData, LlmJobResult>(LLM_QUEUE, processJob, options);
  await worker.waitUntilReady();
  return {
    async close() {
      await worker.close();
      for (const { pool } of providers.values()) pool.close();
    },
  };
}

