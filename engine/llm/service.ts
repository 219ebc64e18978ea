/** The engine's entry point to the LLM layer: one service per run, one client per node. */
import type { Store } from '../../cache/store.js';
import type { Logger } from '../node-type.js';
import { BatchExecutor } from './batch-executor.js';
import { ServiceClient, type LlmCore } from './client.js';
import { apiKeyEnvName, effectiveBaseUrl, type LlmConfig } from './config.js';
import { Budget } from './budget.js';
import { LlmStore, spendOfKeys, type StoredResponse } from './llm-store.js';
import { PriceTable } from './prices.js';
import type { OnlineProvider } from './provider.js';
import { AnthropicProvider } from './providers/anthropic.js';
import { LocalProvider } from './providers/local.js';
import { OpenAiCompatibleProvider } from './providers/openai-compatible.js';
import { makeRedactor } from './redact.js';
import { RequestPool, type PoolStats } from './request-pool.js';
import type { CallMode, LlmClient, LlmSpend } from './types.js';
import type { ItemKey } from '../json.js';
import type { RemoteLlm } from '../workers/remote-calls.js';

export { LlmConfigSchema, llmConfigProblem, llmServiceKey, type LlmConfig } from './config.js';
export { readLlmSpend } from './llm-store.js';

export interface LlmService {
  client(nodeId: string, overrides?: { mode?: CallMode; model?: string }): LlmClient;
  /** Spend recorded in the cache, per node, provider, model and mode (all runs sharing the cache). */
  spendByNode(): LlmSpend[];
  /** What the node paid through this service (this run only), by provider, model and mode. */
  spendOf(nodeId: string): LlmSpend[];
  /** USD paid by this service since it was created. */
  spentThisRunUsd(): number;
  /** Admission-control counters per model (429s seen, pause time, current pace). */
  poolStats(): Record<string, PoolStats>;
  /**
   * Local provider: finds the configured model file (downloading an hf: reference when `download`) and hashes it,
   * so request keys (and `plan`'s cache look-ups) can name it. Other providers: nothing to do.
   */
  prepare(options: { download: boolean }): Promise<void>;
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

/** Anthropic's entry tier: where the pace starts before the first rate-limit headers arrive. */
const ANTHROPIC_INITIAL_RPM = 50;
const ANTHROPIC_INITIAL_TPM = 50_000;
const HEARTBEAT_MS = 5_000;

export function createLlmService(opts: CreateLlmServiceOptions): LlmService {
  const { config, env, log } = opts;
  const keyEnv = apiKeyEnvName(config);
  const apiKey = keyEnv === undefined ? undefined : nonEmpty(env[keyEnv]);
  const redact = makeRedactor([apiKey, nonEmpty(env.ANTHROPIC_AUTH_TOKEN)]);
  const store = new LlmStore(opts.store, opts.leaseStaleMs);
  const prices = new PriceTable(config.prices);
  if (config.provider !== 'local' && prices.priceOf(config.model) === undefined) {
    log.warn(`No price is known for model ${config.model}; its calls are counted at 0 USD (set llm.prices to fix).`);
  }

  let provider: OnlineProvider;
  let batchProvider: AnthropicProvider | undefined;
  if (config.provider === 'anthropic') {
    batchProvider = new AnthropicProvider({
      apiKey,
      authToken: nonEmpty(env.ANTHROPIC_AUTH_TOKEN),
      baseUrl: config.base_url ?? nonEmpty(env.ANTHROPIC_BASE_URL),
      apiVersion: config.anthropic_version,
    });
    provider = batchProvider;
  } else if (config.provider === 'local') {
    provider = new LocalProvider({
      sequences: config.sequences,
      contextSize: config.context_size,
      ...(config.threads === undefined ? {} : { threads: config.threads }),
      ...(config.models_dir === undefined ? {} : { modelsDir: config.models_dir }),
      ...(nonEmpty(env.HF_ENDPOINT) === undefined ? {} : { hfEndpoint: env.HF_ENDPOINT }),
      log,
    });
  } else {
    if (config.base_url === undefined) throw new Error('The openai-compatible provider needs llm.base_url.');
    provider = new OpenAiCompatibleProvider({ baseUrl: config.base_url, apiKey });
  }

  const pools = new Map<string, RequestPool>();
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
    paidByNode: new Map(),
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

  const heartbeat = setInterval(() => store.heartbeat(), HEARTBEAT_MS);
  heartbeat.unref();

  return {
    client(nodeId, overrides = {}) {
      return new ServiceClient(core, nodeId, overrides.mode ?? 'online', overrides.model ?? config.model);
    },
    spendByNode: () => store.spendByNode(),
    spendOf: (nodeId) => spendOfKeys(opts.store, nodeId, core.paidByNode.get(nodeId) ?? []),
    spentThisRunUsd: () => budget.spentUsd,
    poolStats: () => Object.fromEntries([...pools].map(([model, pool]) => [model, pool.snapshot()])),
    async prepare({ download }) {
      await provider.prepare?.(config.model, { download });
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

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
