/**
 * The LLM client contract used by every LLM-calling node. Providers (anthropic, openai-compatible), the request
 * cache, rate limiting, retries, batch execution and cost accounting live behind it.
 */
import type { Digest, ItemKey, JsonObject } from '../json.js';

export type ProviderName = 'anthropic' | 'openai-compatible' | 'local';
export type CallMode = 'online' | 'batch';

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

/**
 * A provider-neutral chat request. Its canonical JSON (with the provider name, and the sample index) is the request
 * cache key, so it must hold everything that changes the answer and nothing operational.
 */
export interface LlmRequest {
  model: string;
  system?: string;
  messages: ChatMessage[];
  max_tokens: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  /** vLLM / llama.cpp servers (openai-compatible); an anthropic pipeline that sets it fails at plan time. */
  min_p?: number;
  /** OpenAI-compatible only; an anthropic pipeline that sets them fails at plan time. */
  presence_penalty?: number;
  frequency_penalty?: number;
  stop?: string[];
  /** Mark the system prompt and few-shot turns for prompt caching (anthropic); not part of the answer distribution. */
  cache_prefix?: boolean;
  /**
   * local only. chat (default): the messages go through the model's chat template. completion: the single user
   * message is the raw text the model continues (DINO's prompts for a base LM), with no template and no system.
   */
  prompt_format?: 'chat' | 'completion';
  /** local only: token-level guidance with extra prompts evaluated beside this one (engine/llm/guidance.ts). */
  guidance?: RequestGuidance;
}

/** A prompt evaluated beside the request's own, in the same format (chat template or raw completion). */
export interface GuidancePrompt {
  system?: string;
  messages: ChatMessage[];
}

/**
 * self-debias: DINO's self-debiasing against the counter-label prompts (decay λ, floor ε).
 * contrastive: MultiCSR's l − ω·l̂ with l̂ from the contrast prompt (the opposite instruction).
 * The extra prompts are part of the request, so they are part of its cache key.
 */
export type RequestGuidance =
  | { type: 'self-debias'; decay: number; epsilon: number; counter_prompts: GuidancePrompt[] }
  | { type: 'contrastive'; omega: number; contrast_prompt: GuidancePrompt };

export interface LlmUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
}

export interface LlmResponse {
  text: string;
  /** Provider's stop reason, normalized: end_turn | max_tokens | stop_sequence | refusal | other. */
  stopReason: string;
  /** The model name the provider reported. */
  model: string;
  usage: LlmUsage;
  requestId?: string;
  latencyMs: number;
  /** True when the answer came from the request cache (no call was made). */
  cached: boolean;
  /** Digest of the stored raw response; derived steps (parsers) key on it. */
  responseDigest: Digest;
  mode: CallMode;
}

/** Why an LLM call ended without a usable answer; recorded as the item's failure reason. */
export class LlmCallError extends Error {
  constructor(
    readonly reason:
      | 'rate-limited'
      | 'server-error'
      | 'network-error'
      | 'timeout'
      | 'invalid-request'
      | 'auth'
      | 'batch-errored'
      | 'batch-expired'
      | 'budget-exceeded'
      | 'aborted'
      | 'malformed-response',
    message: string,
  ) {
    super(message);
    this.name = 'LlmCallError';
  }
}

/**
 * The endpoint cannot serve any request (unreachable, or it rejects the key): found by the check before the first
 * paid call, it stops the node at once instead of failing every item.
 */
export class LlmEndpointError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'LlmEndpointError';
  }
}

export interface LlmCallOptions {
  /** Sample index: "3 negatives per premise" is samples 0, 1, 2 of the same request, each cached separately. */
  sample: number;
  signal?: AbortSignal;
}

export interface CostEstimate {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface LlmClient {
  readonly provider: ProviderName;
  readonly model: string;
  readonly mode: CallMode;
  /** The request cache key: a function of the provider, the canonical request and the sample index only. */
  requestKey(request: LlmRequest, sample: number): ItemKey;
  isCached(request: LlmRequest, sample: number): boolean;
  /** Returns the cached answer or calls the provider (online or via the batch executor) and stores the answer. */
  complete(request: LlmRequest, options: LlmCallOptions): Promise<LlmResponse>;
  /** Problems the provider would have with this request (unsupported sampling parameters), as user messages. */
  validate(request: LlmRequest): string[];
  /** Tokens and cost for the requests not in the cache yet. */
  estimate(requests: readonly { request: LlmRequest; sample: number }[]): CostEstimate;
  /** Looks at the cache once to plan many requests (`synthcse plan`), about `expectedRequests` of them. */
  planner(expectedRequests?: number): RequestPlanner;
}

/**
 * Plans requests against the cache (planning sends nothing): whether each is cached, and what one that is not would
 * cost, as estimate() prices it. Made for one pass over a node's requests: each is keyed at most once, and what the
 * cache held when the planner was made (no answer at all, or which keys are answered) may be read only then.
 */
export interface RequestPlanner {
  isCached(request: LlmRequest, sample: number): boolean;
  /** Tokens and cost of a request that is not cached. */
  cost(request: LlmRequest): Omit<CostEstimate, 'requests'>;
}

/** The part of the LLM configuration that changes answers; it joins the key of every node that uses the LLM. */
export interface LlmServiceKey {
  provider: ProviderName;
  model: string;
  /** The endpoint: the same model name served elsewhere may answer differently. null: the provider's default. */
  base_url: string | null;
}

export interface LlmSpend {
  nodeId: string;
  provider: ProviderName;
  model: string;
  mode: CallMode;
  requests: number;
  usage: LlmUsage;
  costUsd: number;
  /** What the cached prefix saved against paying full input price. */
  cacheSavingsUsd: number;
}

export type LlmConfigObject = JsonObject;
