/** The engine's entry point to the LLM layer: one service per run, one client per node. */
import type { Store } from '../../cache/store.js';
import type { Logger } from '../node-type.js';
import { BatchExecutor } from './batch-executor.js';
import { ServiceClient, type LlmCore } from './client.js';
import { apiKeyEnvName, effectiveBaseUrl, envValue, type LlmConfig } from './config.js';
import { Budget } from './budget.js';
import { ANTHROPIC_INITIAL_RPM, ANTHROPIC_INITIAL_TPM } from './pace.js';
import { LlmStore, type StoredResponse } from './llm-store.js';
import { PriceTable } from './prices.js';
import type { OnlineProvider } from './provider.js';
import { AnthropicProvider } from './providers/anthropic.js';
import { LocalProvider } from './providers/local.js';
import { httpProvider } from './providers/http.js';
import { checkEndpoint } from './preflight.js';
import { makeRedactor } from './redact.js';
import { RequestPool, type PoolStats } from './request-pool.js';
import type { RetryNotice } from './online-executor.js';
import type { CallMode, LlmClient, LlmSpend } from './types.js';
import type { LlmProgress } from '../events.js';
import type { ItemKey } from '../json.js';
import type { RemoteLlm } from '../workers/remote-calls.js';

export { LlmConfigSchema, llmConfigProblem, llmServiceKey, type LlmConfig } from './config.js';
export { readLlmSpend } from './llm-store.js';

export interface LlmService {
  client(nodeId: string, overrides?: { mode?: CallMode; model?: string }): LlmClient;
  /** Spend recorded in the cache, per node, provider, model and mode (all runs sharing the cache). */
  spendByNode(): LlmSpend[];
  /** What the node paid in this run (undefined: nothing). */
  spendThisRun(nodeId: string): LlmSpend | undefined;
  /** USD paid by this service since it was created. */
  spentThisRunUsd(): number;
  /** Admission-control counters per model (429s seen, pause time, current pace). */
  poolStats(): Record<string, PoolStats>;
  /**
   * Local provider: finds the configured model file (downloading an hf: reference when `download`) and hashes it,
   * so request keys (and `plan`'s cache look-ups) can name it. Other providers: nothing to do.
   */
  prepare(options: { download: boolean }): Promise<void>;
  /** What this run sent, reused, spent and retried so far, and why it goes at its pace. */
  progress(): LlmProgress;
  close(): Promise<void>;
}

export interface CreateLlmServiceOptions {
  config: LlmConfig;
  store: Store;
  env: NodeJS.ProcessEnv;
  budgetUsd?: number;
  log: Logger;
  /** With --redis: online calls are sent by `synthcse worker` processes. */
  remote?: RemoteLlm;
  /** Lease timing; tests shorten them. */
  leasePollMs?: number;
  leaseStaleMs?: number;
}

const HEARTBEAT_MS = 5_000;

export function createLlmService(opts: CreateLlmServiceOptions): LlmService {
  const { config, env, log } = opts;
  const keyEnv = apiKeyEnvName(config);
  const apiKey = keyEnv === undefined ? undefined : envValue(env[keyEnv]);
  const redact = makeRedactor([apiKey, envValue(env.ANTHROPIC_AUTH_TOKEN)]);
  const store = new LlmStore(opts.store, opts.leaseStaleMs);
  const prices = new PriceTable(config.prices);
  if (config.provider !== 'local' && prices.priceOf(config.model) === undefined) {
    log.warn(`No price is known for model ${config.model}; its calls are counted at 0 USD (set llm.prices to fix).`);
  }

  let provider: OnlineProvider;
  let batchProvider: AnthropicProvider | undefined;
  if (config.provider === 'local') {
    provider = new LocalProvider({
      sequences: config.sequences,
      contextSize: config.context_size,
      ...(config.threads === undefined ? {} : { threads: config.threads }),
      ...(config.models_dir === undefined ? {} : { modelsDir: config.models_dir }),
      ...(envValue(env.HF_ENDPOINT) === undefined ? {} : { hfEndpoint: env.HF_ENDPOINT }),
      log,
    });
  } else {
    const anthropicBaseUrl = envValue(env.ANTHROPIC_BASE_URL);
    const http = httpProvider(
      {
        provider: config.provider,
        baseUrl: config.base_url ?? (config.provider === 'anthropic' ? anthropicBaseUrl : undefined),
        apiKey,
        apiKeyEnv: keyEnv,
        authToken: envValue(env.ANTHROPIC_AUTH_TOKEN),
        apiVersion: config.anthropic_version,
        baseUrlSetting: config.base_url !== undefined ? 'llm.base_url' : anthropicBaseUrl !== undefined ? 'ANTHROPIC_BASE_URL' : 'ANTHROPIC_BASE_URL (unset: the default https://api.anthropic.com)',
      },
      () => new Error('The openai-compatible provider needs llm.base_url.'),
    );
    if (http instanceof AnthropicProvider) batchProvider = http;
    provider = http;
  }

  const pools = new Map<string, RequestPool>();
  let preflight: Promise<void> | undefined;
  const budget = new Budget(opts.budgetUsd);
  const batchReservations = new Map<ItemKey, number>();
  const policy = {
    maxAttempts: config.max_attempts,
    backoffBaseMs: config.backoff_base_ms,
    backoffMaxMs: config.backoff_max_ms,
    timeoutMs: config.timeout_ms,
  };
  const batch =
    batchProvider === undefined
      ? undefined
      : new BatchExecutor({
          providerName: config.provider,
          provider: batchProvider,
          store,
          prices,
          pollMs: config.batch_poll_ms,
          quietMs: config.batch_quiet_ms,
          maxRequests: config.batch_max_requests,
          maxAttempts: config.max_attempts,
          backoffBaseMs: config.backoff_base_ms,
          backoffMaxMs: config.backoff_max_ms,
          log,
          redact,
          onSettled: (key, costUsd) => {
            const reserved = batchReservations.get(key);
            batchReservations.delete(key);
            budget.settle(reserved ?? 0, costUsd);
          },
        });

  if (opts.remote !== undefined && config.provider === 'local') log.warn('--redis is ignored for the local provider: its model runs in this process (workers send calls to HTTP providers).');
  const core: LlmCore = {
    providerName: config.provider,
    endpoint: effectiveBaseUrl(config, env),
    provider,
    batch,
    store,
    prices,
    budget,
    pool(model) {
      let pool = pools.get(model);
      if (pool === undefined) {
        const anthropic = config.provider === 'anthropic';
        pool = new RequestPool({
          ...(config.max_concurrency === undefined ? {} : { maxConcurrency: config.max_concurrency }),
          ...(config.requests_per_minute === undefined ? {} : { requestsPerMinute: config.requests_per_minute }),
          ...(config.tokens_per_minute === undefined ? {} : { tokensPerMinute: config.tokens_per_minute }),
          ...(anthropic ? { initialRequestsPerMinute: ANTHROPIC_INITIAL_RPM, initialTokensPerMinute: ANTHROPIC_INITIAL_TPM } : {}),
        });
        pools.set(model, pool);
      }
      return pool;
    },
    policy,
    redact,
    inFlight: new Map<ItemKey, Promise<StoredResponse>>(),
    leasePollMs: opts.leasePollMs ?? 250,
    batchReservations,
    // A local model has no endpoint to check.
    // With workers, each worker calls its own endpoint with its own key: there is nothing to check here.
    preflight: () => (preflight ??= provider.probe && opts.remote === undefined ? checkEndpoint(provider.probe(), redact) : Promise.resolve()),
    onRetry: (nodeId, retry) => {
      core.tally.retries++;
      showRetry(nodeId, retry);
    },
    tally: { sent: 0, reused: 0, inputTokens: 0, outputTokens: 0, retries: 0, errors: 0 },
    nodeSpend: new Map(),
    // A local model runs in this process; workers send calls to HTTP providers only.
    ...(opts.remote === undefined || config.provider === 'local'
      ? {}
      : {
          remote: {
            calls: opts.remote,
            service: {
              provider: config.provider,
              baseUrl: effectiveBaseUrl(config, env),
              apiKeyEnv: config.api_key_env ?? null,
              anthropicVersion: config.anthropic_version ?? null,
              requestsPerMinute: config.requests_per_minute ?? null,
              policy,
            },
          },
        }),
  };
  const showRetry = retryReporter(log);

  const heartbeat = setInterval(() => store.heartbeat(), HEARTBEAT_MS);
  heartbeat.unref();

  return {
    client(nodeId, overrides = {}) {
      return new ServiceClient(core, nodeId, overrides.mode ?? 'online', overrides.model ?? config.model);
    },
    spendByNode: () => store.spendByNode(),
    spendThisRun: (nodeId) => core.nodeSpend.get(nodeId),
    spentThisRunUsd: () => budget.spentUsd,
    poolStats: () => Object.fromEntries([...pools].map(([model, pool]) => [model, pool.snapshot()])),
    async prepare({ download }) {
      await provider.prepare?.(config.model, { download });
    },
    progress: () => {
      const paces = [...pools].map(([model, pool]) => (pools.size > 1 ? `${model}: ` : '') + pool.snapshot().paceReason);
      return { ...core.tally, costUsd: budget.spentUsd, ...(core.tally.sent > 0 || paces.length > 0 ? { pace: paces.join('; ') } : {}) };
    },
    async close() {
      clearInterval(heartbeat);
      await batch?.close();
      await provider.close?.();
      for (const pool of pools.values()) pool.close();
      await opts.remote?.close();
      store.close();
    },
  };
}

/** How often a retry is shown at most; retries in between are counted into the next line. */
const RETRY_NOTICE_MS = 2_000;

/** Shows retries as they happen, one line per RETRY_NOTICE_MS at most, with the count of those not shown. */
function retryReporter(log: Logger): (nodeId: string, retry: RetryNotice) => void {
  let lastShown = 0;
  let unshown = 0;
  return (nodeId, retry) => {
    const now = Date.now();
    if (now - lastShown < RETRY_NOTICE_MS) {
      unshown++;
      return;
    }
    lastShown = now;
    const more = unshown > 0 ? ` (+${unshown} other retries since the last notice)` : '';
    unshown = 0;
    const wait = retry.waitMs < 1000 ? `${Math.round(retry.waitMs)} ms` : `${(retry.waitMs / 1000).toFixed(1)} s`;
    log.warn(`${nodeId}: ${retry.kind} (${retry.message.split('\n')[0]!.slice(0, 160)}); retry ${retry.attempt} of ${retry.maxAttempts - 1} in ${wait}${more}`);
  };
}

