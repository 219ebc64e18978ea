/** Anthropic Messages API (online and Message Batches) through the official SDK. */
import Anthropic, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import type { Json } from '../../json.js';
import {
  ProviderFailure,
  REQUEST_KEY_HEADER,
  parseRetryAfterMs,
  type BatchItemOutcome,
  type BatchProvider,
  type OnlineProvider,
  type ProviderReply,
  type RateLimitInfo,
  type SendOptions,
} from '../provider.js';
import { estimateTokensOfCharacters } from '../tokens.js';
import type { EndpointProbe } from '../preflight.js';
import type { LlmRequest } from '../types.js';
import { MAX_SIZED_IN_FLIGHT } from '../request-pool.js';
import { keepAliveFetch, type KeepAliveFetch } from './keep-alive-fetch.js';

type MessageParams = Anthropic.MessageCreateParamsNonStreaming;

export interface AnthropicProviderOptions {
  apiKey: string | undefined;
  /** Used when there is no API key (ANTHROPIC_AUTH_TOKEN). */
  authToken?: string | undefined;
  baseUrl: string | undefined;
  /** anthropic-version header; undefined = the SDK's (2026-10-21, which rejects temperature, top_p and top_k). */
  apiVersion?: string | undefined;
  /** Where the base URL and the key came from, for messages. */
  baseUrlSetting?: string;
  apiKeyEnv?: string | undefined;
}

/** The API version that still accepts sampling parameters. */
export const SAMPLING_API_VERSION = '2023-06-01';

export class AnthropicProvider implements OnlineProvider, BatchProvider {
  readonly name = 'anthropic' as const;
  readonly tokenLimitCountsOutput = false;
  private readonly sdk: Anthropic;
  private readonly acceptsSampling: boolean;
  private readonly http: KeepAliveFetch = keepAliveFetch(MAX_SIZED_IN_FLIGHT);

  constructor(private readonly options: AnthropicProviderOptions) {
    // Retries are ours (the whole pool must react to 429s), so the SDK never retries on its own.
    this.sdk = new Anthropic({
      ...(options.apiKey !== undefined ? { apiKey: options.apiKey } : { authToken: options.authToken ?? null }),
      baseURL: options.baseUrl ?? null,
      maxRetries: 0,
      fetch: this.http.fetch,
      // The engine records its own spend and latency; a span per call would cost CPU on every call for nothing.
      openTelemetry: false,
      ...(options.apiVersion === undefined ? {} : { defaultHeaders: { 'anthropic-version': options.apiVersion } }),
    });
    this.acceptsSampling = options.apiVersion === SAMPLING_API_VERSION;
  }

  close(): Promise<void> {
    this.http.close();
    return Promise.resolve();
  }

  validate(request: LlmRequest): string[] {
    const problems: string[] = [];
    if (request.min_p !== undefined) problems.push('min_p is not supported by the anthropic provider (openai-compatible only).');
    if (request.presence_penalty !== undefined) problems.push('presence_penalty is not supported by the anthropic provider (openai-compatible only).');
    if (request.frequency_penalty !== undefined) problems.push('frequency_penalty is not supported by the anthropic provider (openai-compatible only).');
    if (!this.acceptsSampling) {
      for (const name of ['temperature', 'top_p', 'top_k'] as const) {
        if (request[name] !== undefined) {
          problems.push(
            `${name} is rejected by Anthropic API version 2026-10-21 (sent by @anthropic-ai/sdk 1.x), even at its default value; ` +
              `remove it, or set llm.anthropic_version: '${SAMPLING_API_VERSION}' to use sampling parameters.`,
          );
        }
      }
    }
    if (request.temperature !== undefined && (request.temperature < 0 || request.temperature > 1)) {
      problems.push(`temperature ${request.temperature} is outside anthropic's range 0 to 1.`);
    }
    if (request.temperature !== undefined && request.top_p !== undefined && rejectsTemperatureWithTopP(request.model)) {
      problems.push(`${request.model} does not accept temperature and top_p together; set only one of them.`);
    }
    if (request.stop !== undefined && request.stop.some((s) => s.trim() === '')) {
      problems.push('anthropic rejects whitespace-only stop sequences.');
    }
    return problems;
  }

  probe(): EndpointProbe {
    const base = (this.options.baseUrl ?? 'https://api.anthropic.com').replace(/\/+$/, '');
    const headers: Record<string, string> = { 'anthropic-version': this.options.apiVersion ?? SAMPLING_API_VERSION };
    if (this.options.apiKey !== undefined) headers['x-api-key'] = this.options.apiKey;
    else if (this.options.authToken !== undefined) headers.authorization = `Bearer ${this.options.authToken}`;
    return {
      url: `${base}/v1/models?limit=1`,
      headers,
      urlSetting: this.options.baseUrlSetting ?? 'ANTHROPIC_BASE_URL (or llm.base_url)',
      keySetting: this.options.apiKey !== undefined ? (this.options.apiKeyEnv ?? 'ANTHROPIC_API_KEY') : 'ANTHROPIC_AUTH_TOKEN',
    };
  }

  async send(request: LlmRequest, options: SendOptions): Promise<ProviderReply> {
    try {
      const { data, response, request_id } = await this.sdk.messages
        .create(toMessageParams(request), {
          signal: options.signal,
          timeout: options.timeoutMs,
          maxRetries: 0,
          ...(options.requestKey === undefined ? {} : { headers: { [REQUEST_KEY_HEADER]: options.requestKey } }),
        })
        .withResponse();
      return {
        ...replyFromMessage(data),
        ...(request_id ? { requestId: request_id } : {}),
        limits: limitsFromHeaders(response.headers),
      };
    } catch (error) {
      throw classifyAnthropicError(error, options.signal);
    }
  }

  async createBatch(items: readonly { customId: string; request: LlmRequest }[]): Promise<string> {
    try {
      const batch = await this.sdk.messages.batches.create(
        { requests: items.map((item) => ({ custom_id: item.customId, params: toMessageParams(item.request) })) },
        { maxRetries: 0 },
      );
      return batch.id;
    } catch (error) {
      throw classifyAnthropicError(error, undefined);
    }
  }

  async batchEnded(batchId: string): Promise<boolean> {
    try {
      const batch = await this.sdk.messages.batches.retrieve(batchId, {}, { maxRetries: 0 });
      return batch.processing_status === 'ended';
    } catch (error) {
      throw classifyAnthropicError(error, undefined);
    }
  }

  async *batchResults(batchId: string): AsyncIterable<{ customId: string; outcome: BatchItemOutcome }> {
    let lines: AsyncIterable<Anthropic.Messages.MessageBatchIndividualResponse>;
    try {
      lines = await this.sdk.messages.batches.results(batchId, {}, { maxRetries: 0 });
    } catch (error) {
      throw classifyAnthropicError(error, undefined);
    }
    for await (const line of lines) {
      const result = line.result;
      let outcome: BatchItemOutcome;
      switch (result.type) {
        case 'succeeded':
          try {
            outcome = { type: 'succeeded', reply: replyFromMessage(result.message) };
          } catch (error) {
            outcome = { type: 'errored', message: (error as Error).message };
          }
          break;
        case 'errored':
          outcome = { type: 'errored', message: errorMessageOf(result.error) };
          break;
        case 'expired':
          outcome = { type: 'expired' };
          break;
        default:
          outcome = { type: 'canceled' };
      }
      yield { customId: line.custom_id, outcome };
    }
  }
}

/** Claude models from the 4.5 generation on reject requests that set both temperature and top_p. */
function rejectsTemperatureWithTopP(model: string): boolean {
  return /^claude-(opus|sonnet|haiku)-4-[5-9]|^claude-opus-4-1/.test(model);
}

/** Minimum prompt length Anthropic caches, by model (shorter prefixes are silently not cached). */
function minCacheableTokens(model: string): number {
  if (/^claude-(haiku-4-5|opus-4-5)/.test(model)) return 4096;
  if (/^claude-3(-5)?-haiku/.test(model)) return 2048;
  return 1024;
}

const EPHEMERAL = { type: 'ephemeral' } as const;

export function toMessageParams(request: LlmRequest): MessageParams {
  const messages: Anthropic.MessageParam[] = request.messages.map((m) => ({ role: m.role, content: m.content }));
  let system: MessageParams['system'] = request.system;
  if (request.cache_prefix === true && prefixIsCacheable(request)) {
    if (request.system !== undefined) system = [{ type: 'text', text: request.system, cache_control: EPHEMERAL }];
    // The last few-shot turn (the message before the final user turn) ends the shared prefix.
    const lastShot = messages.length - 2;
    if (lastShot >= 0) {
      messages[lastShot] = {
        role: messages[lastShot]!.role,
        content: [{ type: 'text', text: request.messages[lastShot]!.content, cache_control: EPHEMERAL }],
      };
    }
  }
  // Sampling parameters are gone from the SDK's types (API 2026-10-21) but still sent on API version 2023-06-01.
  const params: MessageParams & { temperature?: number; top_p?: number; top_k?: number } = {
    model: request.model,
    max_tokens: request.max_tokens,
    messages,
  };
  if (system !== undefined) params.system = system;
  if (request.temperature !== undefined) params.temperature = request.temperature;
  if (request.top_p !== undefined) params.top_p = request.top_p;
  if (request.top_k !== undefined) params.top_k = request.top_k;
  if (request.stop !== undefined) params.stop_sequences = request.stop;
  return params;
}

function prefixIsCacheable(request: LlmRequest): boolean {
  // Counted from the lengths of its parts, without building the prefix's text on every call.
  let characters = request.system?.length ?? 0;
  for (let i = 0; i < request.messages.length - 1; i++) characters += request.messages[i]!.content.length;
  return estimateTokensOfCharacters(characters) >= minCacheableTokens(request.model);
}

function replyFromMessage(message: Anthropic.Message): ProviderReply {
  if (typeof message !== 'object' || message === null || !Array.isArray(message.content) || typeof message.usage !== 'object' || message.usage === null) {
    throw new ProviderFailure('malformed-response', 'The server answered with a body that is not a Messages API response.');
  }
  const text = message.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('');
  const usage = message.usage;
  const { _request_id: _ignored, ...raw } = message as Anthropic.Message & { _request_id?: unknown };
  return {
    text,
    stopReason: normalizeStopReason(message.stop_reason),
    model: message.model,
    usage: {
      input_tokens: usage.input_tokens ?? 0,
      output_tokens: usage.output_tokens ?? 0,
      cache_read_input_tokens: usage.cache_read_input_tokens ?? 0,
      cache_creation_input_tokens: usage.cache_creation_input_tokens ?? 0,
    },
    raw: raw as unknown as Json,
  };
}

function normalizeStopReason(reason: string | null | undefined): string {
  switch (reason) {
    case 'end_turn':
    case 'max_tokens':
    case 'stop_sequence':
    case 'refusal':
      return reason;
    case 'model_context_window_exceeded':
      return 'max_tokens';
    default:
      return 'other';
  }
}

function limitsFromHeaders(headers: Headers): RateLimitInfo {
  const limits: RateLimitInfo = {};
  const requests = Number(headers.get('anthropic-ratelimit-requests-limit'));
  if (Number.isFinite(requests) && requests > 0) limits.requestsPerMinute = requests;
  const tokens = Number(headers.get('anthropic-ratelimit-input-tokens-limit') ?? headers.get('anthropic-ratelimit-tokens-limit'));
  if (Number.isFinite(tokens) && tokens > 0) limits.tokensPerMinute = tokens;
  return limits;
}

function errorMessageOf(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const inner = (error as { error?: { message?: unknown; type?: unknown } }).error;
    if (inner !== undefined && typeof inner.message === 'string') return `${String(inner.type ?? 'error')}: ${inner.message}`;
  }
  return 'the batch item errored';
}

export function classifyAnthropicError(error: unknown, signal: AbortSignal | undefined): ProviderFailure {
  if (error instanceof ProviderFailure) return error;
  if (error instanceof APIUserAbortError || signal?.aborted === true) return new ProviderFailure('aborted', 'The call was aborted.');
  if (error instanceof APIConnectionTimeoutError) return new ProviderFailure('timeout', 'The request timed out.');
  if (error instanceof APIConnectionError) return new ProviderFailure('network-error', `Network error: ${error.message}`);
  if (error instanceof SyntaxError) return new ProviderFailure('malformed-response', `The server sent malformed JSON: ${error.message}`);
  if (error instanceof APIError) {
    const status = error.status as number | undefined;
    const retryAfterMs = parseRetryAfterMs(error.headers);
    const message = `HTTP ${status}: ${error.message}`;
    const limits = error.headers instanceof Headers ? limitsFromHeaders(error.headers) : undefined;
    if (status === 429) return new ProviderFailure('rate-limited', message, status, retryAfterMs, limits);
    if (status === 529) return new ProviderFailure('overloaded', message, status, retryAfterMs, limits);
    if (status === 401 || status === 403) return new ProviderFailure('auth', message, status);
    if (status === 408 || status === 409 || (status !== undefined && status >= 500)) {
      return new ProviderFailure('server-error', message, status, retryAfterMs);
    }
    return new ProviderFailure('invalid-request', message, status);
  }
  if (error instanceof Error && error.name === 'AbortError') return new ProviderFailure('aborted', 'The call was aborted.');
  throw error;
}
