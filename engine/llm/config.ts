/**
 * The pipeline's top-level `llm:` section. Only provider and model change answers (they join node keys); everything
 * else is operational.
 */
import { existsSync } from 'node:fs';
import { z } from 'zod';
import type { LlmServiceKey } from './types.js';

export const DEFAULT_ANTHROPIC_MODEL = 'claude-haiku-4-5';

/**
 * What `--set llm.provider=local` should point at when nothing else is said: the models docs/llm.md recommends,
 * with their download sizes (bytes of the GGUF file), for the message a user without an API key gets.
 */
export const RECOMMENDED_LOCAL_MODELS = {
  /** DINO as in the paper: a GPT-2 base LM (GPT2-XL), continued as raw text with self-debiasing. */
  dino: { model: 'hf:mradermacher/gpt2-xl-GGUF/gpt2-xl.Q8_0.gguf', bytes: 1_749_953_760 },
  /** MultiCSR and SynCSE: a small instruction model behind its chat template. */
  instruct: { model: 'hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q8_0.gguf', bytes: 675_710_816 },
} as const;

const PriceSchema = z.strictObject({
  /** USD per million tokens. */
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
  cache_read: z.number().nonnegative().optional(),
  cache_write: z.number().nonnegative().optional(),
  /** Fraction of the online price paid in batch mode (0.5 = 50% discount). */
  batch_factor: z.number().positive().max(1).optional(),
});
export type PriceOverride = z.output<typeof PriceSchema>;

export const LlmConfigSchema = z.strictObject({
  provider: z.enum(['anthropic', 'openai-compatible', 'local']).default('anthropic'),
  /** local: a GGUF file path (relative to the working directory) or an hf:OWNER/REPO/FILE.gguf reference. */
  model: z.string().min(1).default(DEFAULT_ANTHROPIC_MODEL),
  /** Anthropic: overrides ANTHROPIC_BASE_URL. openai-compatible: required, e.g. http://localhost:8000/v1. */
  base_url: z.url().optional(),
  /** The NAME of the environment variable holding the key (never the key itself). */
  api_key_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be the name of an environment variable, e.g. OPENAI_API_KEY')
    .optional(),
  /**
   * anthropic-version header. The SDK's default, 2026-10-21, rejects temperature/top_p/top_k; '2023-06-01' accepts them.
   */
  anthropic_version: z.enum(['2023-06-01', '2026-10-21']).optional(),
  /**
   * A fixed limit on calls in flight. Unset: the limit follows the pace times the observed latency (16 until both
   * are known, and for a server that reports no rate limit and has none configured).
   */
  max_concurrency: z.number().int().positive().optional(),
  /**
   * Ceilings. When unset, the pool starts at a conservative rate and adopts the limits the provider reports in its
   * rate-limit headers; when set, headers can only lower them.
   */
  requests_per_minute: z.number().positive().optional(),
  /** anthropic: input tokens per minute (its binding limit); openai-compatible: input + output tokens. */
  tokens_per_minute: z.number().positive().optional(),
  timeout_ms: z.number().int().positive().default(120_000),
  max_attempts: z.number().int().positive().default(6),
  /** First retry delay for 5xx/network errors; doubles per attempt, jittered. */
  backoff_base_ms: z.number().int().nonnegative().default(1_000),
  backoff_max_ms: z.number().int().positive().default(60_000),
  batch_poll_ms: z.number().int().positive().default(30_000),
  batch_quiet_ms: z.number().int().nonnegative().default(500),
  batch_max_requests: z.number().int().positive().max(100_000).default(100_000),
  /** Per-model price overrides in USD per million tokens, keyed by model id (or id prefix). */
  prices: z.record(z.string(), PriceSchema).optional(),
  /** local: llama.cpp sequences (generations evaluated together in one batch; a guided call uses one per prompt). */
  sequences: z.number().int().min(1).max(64).default(4),
  /** local: tokens each sequence holds (prompt + answer). */
  context_size: z.number().int().min(64).max(131_072).default(1024),
  /** local: CPU threads for llama.cpp (default: the cores that do math). */
  threads: z.number().int().min(1).optional(),
  /** local: where hf: models are downloaded (default: node-llama-cpp's, ~/.node-llama-cpp/models). */
  models_dir: z.string().optional(),
});

export type LlmConfig = z.output<typeof LlmConfigSchema>;

/** The endpoint calls go to: llm.base_url, else (Anthropic) ANTHROPIC_BASE_URL; null for the provider's default or local. */
export function effectiveBaseUrl(config: LlmConfig, env: NodeJS.ProcessEnv): string | null {
  if (config.provider === 'local') return null; // runs in-process; its request keys follow the model file instead
  if (config.base_url !== undefined) return config.base_url;
  const fromEnv = config.provider === 'anthropic' ? env.ANTHROPIC_BASE_URL?.trim() : undefined;
  return fromEnv ? fromEnv : null;
}

export function llmServiceKey(config: LlmConfig, env: NodeJS.ProcessEnv): LlmServiceKey {
  return { provider: config.provider, model: config.model, base_url: effectiveBaseUrl(config, env) };
}

/** The environment variable holding the API key for this configuration. */
export function apiKeyEnvName(config: LlmConfig): string | undefined {
  return apiKeyEnvFor(config.provider, config.api_key_env);
}

export interface ConfigProblemContext {
  /** The pipeline's variants: a `local` one is named as the way to run without a key. */
  variants?: readonly string[];
}

/** Why this configuration cannot make calls in this environment, or undefined when it can. */
export function llmConfigProblem(config: LlmConfig, env: NodeJS.ProcessEnv, context: ConfigProblemContext = {}): string | undefined {
  const keyEnv = apiKeyEnvName(config);
  if (config.provider === 'local') {
    if (config.model.startsWith('hf:')) return undefined;
    if (!existsSync(config.model)) {
      return `llm.model ${config.model} is not a file (the local provider needs a GGUF file path or an hf:OWNER/REPO/FILE.gguf reference).`;
    }
    return undefined;
  }
  if (config.provider === 'anthropic') {
    if (keyEnv !== undefined && !nonEmpty(env[keyEnv]) && !nonEmpty(env.ANTHROPIC_AUTH_TOKEN)) {
      return (
        `No LLM is configured: set ${keyEnv} (and ANTHROPIC_BASE_URL for a compatible endpoint), ` +
        'or run with --set llm.provider=openai-compatible --set llm.base_url=http://…; or, without any key, on this machine: ' +
        localWayForward(context)
      );
    }
    return undefined;
  }
  if (config.base_url === undefined) {
    return 'The openai-compatible provider needs a base URL: set llm.base_url (e.g. --set llm.base_url=http://localhost:8000/v1).';
  }
  if (config.api_key_env !== undefined && !nonEmpty(env[config.api_key_env])) {
    return `llm.api_key_env names ${config.api_key_env}, but that environment variable is not set.`;
  }
  return undefined;
}

function localWayForward(context: ConfigProblemContext): string {
  const gb = (bytes: number): string => `${(bytes / 1e9).toFixed(2)} GB`;
  const { dino, instruct } = RECOMMENDED_LOCAL_MODELS;
  if (context.variants?.includes('local')) {
    return `add --variant local (downloads its GGUF model once: ${dino.model}, ${gb(dino.bytes)}, for DINO; ${instruct.model}, ${gb(instruct.bytes)}, otherwise; see docs/llm.md).`;
  }
  return `--set llm.provider=local --set llm.model=${instruct.model} (downloaded once, ${gb(instruct.bytes)}; see docs/llm.md).`;
}

function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

/** The environment variable an API key is read from: the configured one, else the provider's usual one. */
export function apiKeyEnvFor(provider: string, configured: string | undefined | null): string | undefined {
  return configured ?? (provider === 'anthropic' ? 'ANTHROPIC_API_KEY' : undefined);
}

/** An environment value, undefined when it is unset, empty or blank. */
export function envValue(value: string | undefined): string | undefined {
  return nonEmpty(value) ? value : undefined;
}
