/**
 * Any server speaking the OpenAI chat completions protocol (vLLM, llama.cpp server, Ollama, OpenAI), over fetch.
 * Sampling fields those servers accept beyond OpenAI's (top_k, min_p) are sent as given.
 */
import { isJsonObject, type Json, type JsonObject } from '../../json.js';
import { ProviderFailure, REQUEST_KEY_HEADER, parseRetryAfterMs, type OnlineProvider, type ProviderReply, type RateLimitInfo, type SendOptions } from '../provider.js';
import type { EndpointProbe } from '../preflight.js';
import type { LlmRequest } from '../types.js';
import { MAX_SIZED_IN_FLIGHT } from '../request-pool.js';
import { keepAliveFetch, type KeepAliveFetch } from './keep-alive-fetch.js';

export interface OpenAiCompatibleOptions {
  /** E.g. http://localhost:8000/v1; the provider posts to `${baseUrl}/chat/completions`. */
  baseUrl: string;
  apiKey: string | undefined;
  /** The environment variable the key came from, for messages. */
  apiKeyEnv?: string | undefined;
}

export class OpenAiCompatibleProvider implements OnlineProvider {
  readonly name = 'openai-compatible' as const;
  readonly tokenLimitCountsOutput = true;
  private readonly endpoint: string;

  private readonly http: KeepAliveFetch = keepAliveFetch(MAX_SIZED_IN_FLIGHT);

  constructor(private readonly options: OpenAiCompatibleOptions) {
    this.endpoint = options.baseUrl.replace(/\/+$/, '') + '/chat/completions';
  }

  close(): Promise<void> {
    this.http.close();
    return Promise.resolve();
  }

  validate(request: LlmRequest): string[] {
    const problems: string[] = [];
    // top_k and min_p are not OpenAI's, but vLLM, llama.cpp's server and Ollama's OpenAI endpoint read them from
    // the body; a server that does not know them ignores or rejects them itself.
    if (request.top_k !== undefined && !(request.top_k >= 1)) problems.push(`top_k ${request.top_k} must be at least 1.`);
    if (request.min_p !== undefined && (request.min_p < 0 || request.min_p > 1)) problems.push(`min_p ${request.min_p} is outside the range 0 to 1.`);
    if (request.temperature !== undefined && (request.temperature < 0 || request.temperature > 2)) {
      problems.push(`temperature ${request.temperature} is outside the chat completions range 0 to 2.`);
    }
    for (const [name, value] of [['presence_penalty', request.presence_penalty], ['frequency_penalty', request.frequency_penalty]] as const) {
      if (value !== undefined && (value < -2 || value > 2)) problems.push(`${name} ${value} is outside the range -2 to 2.`);
    }
    return problems;
  }

  probe(): EndpointProbe {
    const headers: Record<string, string> = {};
    if (this.options.apiKey !== undefined) headers.authorization = `Bearer ${this.options.apiKey}`;
    return { url: this.options.baseUrl.replace(/\/+$/, '') + '/models', headers, urlSetting: 'llm.base_url', keySetting: this.options.apiKeyEnv };
  }

  async send(request: LlmRequest, options: SendOptions): Promise<ProviderReply> {
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.options.apiKey !== undefined) headers.authorization = `Bearer ${this.options.apiKey}`;
    if (options.requestKey !== undefined) headers[REQUEST_KEY_HEADER] = options.requestKey;
    let response: Response;
    let bodyText: string;
    try {
      response = await this.http.fetch(this.endpoint, { method: 'POST', headers, body: JSON.stringify(toChatBody(request)), signal });
      bodyText = await response.text();
    } catch (error) {
      if (options.signal?.aborted === true) throw new ProviderFailure('aborted', 'The call was aborted.');
      if (timeout.aborted) throw new ProviderFailure('timeout', 'The request timed out.');
      throw new ProviderFailure('network-error', `Network error: ${(error as Error).message}`);
    }
    const limits = limitsFromHeaders(response.headers);
    if (!response.ok) {
      const message = `HTTP ${response.status}: ${errorMessageOf(bodyText)}`;
      const retryAfterMs = parseRetryAfterMs(response.headers);
      if (response.status === 429) throw new ProviderFailure('rate-limited', message, 429, retryAfterMs, limits);
      if (response.status === 529 || response.status === 503) throw new ProviderFailure('overloaded', message, response.status, retryAfterMs, limits);
      if (response.status === 401 || response.status === 403) throw new ProviderFailure('auth', message, response.status);
      if (response.status === 408 || response.status === 409 || response.status >= 500) {
        throw new ProviderFailure('server-error', message, response.status, retryAfterMs);
      }
      throw new ProviderFailure('invalid-request', message, response.status);
    }
    let body: unknown;
    try {
      body = JSON.parse(bodyText);
    } catch (error) {
      throw new ProviderFailure('malformed-response', `The server sent malformed JSON: ${(error as Error).message}`);
    }
    const requestId = response.headers.get('x-request-id') ?? undefined;
    return { ...replyFromCompletion(body), ...(requestId === undefined ? {} : { requestId }), limits };
  }
}

function toChatBody(request: LlmRequest): JsonObject {
  const messages: Json[] = [];
  if (request.system !== undefined) messages.push({ role: 'system', content: request.system });
  for (const m of request.messages) messages.push({ role: m.role, content: m.content });
  const body: JsonObject = { model: request.model, messages, max_tokens: request.max_tokens };
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.top_p !== undefined) body.top_p = request.top_p;
  if (request.top_k !== undefined) body.top_k = request.top_k;
  if (request.min_p !== undefined) body.min_p = request.min_p;
  if (request.presence_penalty !== undefined) body.presence_penalty = request.presence_penalty;
  if (request.frequency_penalty !== undefined) body.frequency_penalty = request.frequency_penalty;
  if (request.stop !== undefined) body.stop = request.stop;
  return body;
}

function replyFromCompletion(body: unknown): Omit<ProviderReply, 'limits'> {
  const choice = isJsonObject(body) && Array.isArray(body.choices) ? body.choices[0] : undefined;
  const message = isJsonObject(choice) ? choice.message : undefined;
  if (!isJsonObject(body) || !isJsonObject(choice) || !isJsonObject(message)) {
    throw new ProviderFailure('malformed-response', 'The server answered with a body that is not a chat completion.');
  }
  const content = typeof message.content === 'string' ? message.content : '';
  const refused = typeof message.refusal === 'string' && message.refusal !== '';
  const usage = isJsonObject(body.usage) ? body.usage : {};
  const details = isJsonObject(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
  const promptTokens = numberOr0(usage.prompt_tokens);
  const cachedTokens = numberOr0(details.cached_tokens);
  return {
    text: refused && content === '' ? String(message.refusal) : content,
    stopReason: refused ? 'refusal' : normalizeFinishReason(choice.finish_reason),
    model: typeof body.model === 'string' ? body.model : '',
    usage: {
      // Same meaning as Anthropic's: input_tokens excludes the tokens read from the prompt cache.
      input_tokens: Math.max(0, promptTokens - cachedTokens),
      output_tokens: numberOr0(usage.completion_tokens),
      cache_read_input_tokens: cachedTokens,
      cache_creation_input_tokens: 0,
    },
    ...(typeof body.id === 'string' ? { requestId: body.id } : {}),
    raw: body,
  };
}

function normalizeFinishReason(reason: Json | undefined): string {
  switch (reason) {
    case 'stop':
      return 'end_turn';
    case 'length':
      return 'max_tokens';
    case 'content_filter':
      return 'refusal';
    default:
      return 'other';
  }
}

function numberOr0(value: Json | undefined): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function limitsFromHeaders(headers: Headers): RateLimitInfo {
  const limits: RateLimitInfo = {};
  const requests = Number(headers.get('x-ratelimit-limit-requests'));
  if (Number.isFinite(requests) && requests > 0) limits.requestsPerMinute = requests;
  const tokens = Number(headers.get('x-ratelimit-limit-tokens'));
  if (Number.isFinite(tokens) && tokens > 0) limits.tokensPerMinute = tokens;
  return limits;
}

function errorMessageOf(bodyText: string): string {
  try {
    const body: unknown = JSON.parse(bodyText);
    if (isJsonObject(body) && isJsonObject(body.error) && typeof body.error.message === 'string') return body.error.message;
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return bodyText.slice(0, 200);
}
