/**
 * A loopback HTTP server speaking the parts of the Anthropic Messages / Message Batches API and the OpenAI chat
 * completions API that synthcse uses, with programmable latency, rate limits and faults. Every decision is a function
 * of the request body, the number of times that body was received and a seed, so runs are reproducible.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { canonicalJson, isJsonObject, type Json, type JsonObject } from '../../engine/json.js';
import { defaultResponder, hashNumber, type MockChatRequest, type MockResponder } from './llm-responder.js';

export type { MockChatRequest, MockResponder } from './llm-responder.js';

export interface MockFaults {
  /** Delay before each messages/chat answer. */
  latencyMs: number;
  /** Token bucket (capacity one second) for messages/chat; above it: 429 with retry-after. Undefined: unlimited. */
  requestsPerSecond: number | undefined;
  /** Fractions of messages/chat requests answered with a fault instead of a reply. */
  error500Rate: number;
  overloaded529Rate: number;
  /** Never answered (the client must time out). */
  hangRate: number;
  /** Connection destroyed without an answer. */
  resetRate: number;
  /** 200 with a body that is not JSON. */
  malformedRate: number;
  /** Every messages/chat request is answered with this status (e.g. 500, 401, 429). */
  alwaysStatus: number | undefined;
  /** retry-after (seconds) sent with forced 429/529 answers. */
  retryAfterSeconds: number;
  /** How long a batch stays in_progress. */
  batchProcessingMs: number;
  /** Fractions of batch items that end errored / expired (decided per custom_id and submission). */
  batchItemErrorRate: number;
  batchItemExpireRate: number;
  /**
   * Rate-limit headers reported on answers (per minute); undefined: requestsPerSecond × 60, and no rate-limit headers
   * at all when neither is set (so a client stays at its configured or initial pace; other suites rely on that).
   */
  reportedRequestsPerMinute: number | undefined;
  /** Input tokens per minute reported in the headers (output tokens: a fifth of it). */
  reportedTokensPerMinute: number;
  /** Whether answers carry rate-limit headers at all. */
  reportRateHeaders: boolean;
  /** At most this many messages/chat requests are served at a time; the others wait (a GPU server's slots). */
  serveConcurrency: number | undefined;
}

export interface MockServerOptions extends Partial<MockFaults> {
  responder?: MockResponder;
  /** When set, requests must carry this key (x-api-key or Authorization: Bearer); others get 401. */
  apiKey?: string;
  seed?: number;
}

export interface MockStats {
  /** HTTP requests per route: 'POST /v1/messages', 'POST /v1/chat/completions', 'POST /v1/messages/batches',
   * 'GET /v1/messages/batches/:id', 'GET /v1/messages/batches/:id/results' (others: method and path). */
  byRoute: Record<string, number>;
  /** Statuses answered on messages/chat. */
  byStatus: Record<number, number>;
  /** messages/chat requests received, by digest of their canonical JSON body and the x-synthcse-request-key header. */
  received: Map<string, number>;
  /** Digests answered 200 at least once. */
  succeeded: Set<string>;
  /** Bodies received again after a 200 for the same body (the client paid twice). */
  resentAfterSuccess: number;
  /** Batch items received, by custom_id, and those received again after they succeeded. */
  batchItemsReceived: Map<string, number>;
  batchItemsResentAfterSuccess: number;
  batchesCreated: number;
  maxConcurrent: number;
  /** Times a request came with a key header (x-api-key or Authorization). */
  keyedRequests: number;
}

export interface MockLlmServer {
  url: string;
  stats: MockStats;
  setFaults(faults: Partial<MockFaults>): void;
  /** Ends every batch still in progress now. */
  finishBatches(): void;
  close(): Promise<void>;
}

interface BatchState {
  id: string;
  createdAt: number;
  endsAt: number;
  items: { customId: string; params: JsonObject; submission: number }[];
  sampling: boolean;
  results: Json[] | undefined;
}

const DEFAULT_FAULTS: MockFaults = {
  latencyMs: 0,
  requestsPerSecond: undefined,
  error500Rate: 0,
  overloaded529Rate: 0,
  hangRate: 0,
  resetRate: 0,
  malformedRate: 0,
  alwaysStatus: undefined,
  retryAfterSeconds: 1,
  batchProcessingMs: 0,
  batchItemErrorRate: 0,
  batchItemExpireRate: 0,
  reportedRequestsPerMinute: undefined,
  reportedTokensPerMinute: 2_000_000,
  reportRateHeaders: true,
  serveConcurrency: undefined,
};

export async function startMockLlmServer(options: MockServerOptions = {}): Promise<MockLlmServer> {
  const { responder = defaultResponder, apiKey, seed = 1, ...faultOptions } = options;
  const faults: MockFaults = { ...DEFAULT_FAULTS, ...stripUndefined(faultOptions) };
  const stats: MockStats = {
    byRoute: {},
    byStatus: {},
    received: new Map(),
    succeeded: new Set(),
    resentAfterSuccess: 0,
    batchItemsReceived: new Map(),
    batchItemsResentAfterSuccess: 0,
    batchesCreated: 0,
    maxConcurrent: 0,
    keyedRequests: 0,
  };
  const batches = new Map<string, BatchState>();
  const succeededCustomIds = new Set<string>();
  const promptCache = new Set<string>();
  const variants = new Map<string, string[]>();
  let bucket = faults.requestsPerSecond ?? 0;
  let bucketAt = Date.now();
  let concurrent = 0;
  let serving = 0;
  const slotWaiters: (() => void)[] = [];
  let url = '';

  function roll(kind: string, digest: string, attempt: number): number {
    return (hashNumber(`${seed}:${kind}:${digest}:${attempt}`) % 1_000_000) / 1_000_000;
  }

  /** Takes one token from the bucket, or returns the seconds until one is available. */
  function takeToken(): number | undefined {
    const rps = faults.requestsPerSecond;
    if (rps === undefined) return undefined;
    const now = Date.now();
    bucket = Math.min(rps, bucket + ((now - bucketAt) / 1000) * rps);
    bucketAt = now;
    if (bucket >= 1) {
      bucket -= 1;
      return undefined;
    }
    return (1 - bucket) / rps;
  }

  function rateHeaders(): Record<string, string> {
    const rpm = faults.reportedRequestsPerMinute ?? (faults.requestsPerSecond === undefined ? undefined : faults.requestsPerSecond * 60);
    if (!faults.reportRateHeaders || rpm === undefined) return {};
    const remaining = String(faults.requestsPerSecond === undefined ? rpm : Math.max(0, Math.floor(bucket * 60)));
    const reset = new Date(Date.now() + 1000).toISOString();
    const itpm = String(faults.reportedTokensPerMinute);
    const otpm = String(Math.round(faults.reportedTokensPerMinute / 5));
    return {
      'anthropic-ratelimit-requests-limit': String(rpm),
      'anthropic-ratelimit-requests-remaining': remaining,
      'anthropic-ratelimit-requests-reset': reset,
      'anthropic-ratelimit-input-tokens-limit': itpm,
      'anthropic-ratelimit-input-tokens-remaining': itpm,
      'anthropic-ratelimit-output-tokens-limit': otpm,
      'anthropic-ratelimit-output-tokens-remaining': otpm,
      'x-ratelimit-limit-requests': String(rpm),
      'x-ratelimit-remaining-requests': remaining,
      'x-ratelimit-limit-tokens': itpm,
    };
  }

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, anthropicError('api_error', `mock server bug: ${(error as Error).message}`));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = routeOf(req.method ?? 'GET', path);
    const label = ROUTE_LABELS[route as keyof typeof ROUTE_LABELS] ?? route;
    stats.byRoute[label] = (stats.byRoute[label] ?? 0) + 1;
    const body = await readBody(req);
    const keyHeader = req.headers['x-api-key'] ?? (req.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
    if (keyHeader !== '') stats.keyedRequests++;
    if (apiKey !== undefined && keyHeader !== apiKey) {
      // Like some gateways, the message echoes the key it got: the client must redact it.
      const message = `invalid x-api-key: ${keyHeader}`;
      sendJson(res, 401, route === 'chat' ? openAiError('invalid_api_key', message) : anthropicError('authentication_error', message));
      return;
    }
    switch (route) {
      case 'messages':
      case 'chat': {
        const key = req.headers['x-synthcse-request-key'];
        return answerChat(route, body, res, acceptsSampling(req), typeof key === 'string' ? key : undefined);
      }
      case 'models':
        // Anthropic's and OpenAI's model lists share the path; both carry `data`.
        return sendJson(res, 200, { object: 'list', data: [{ id: 'mock-model', type: 'model', object: 'model' }], has_more: false });
      case 'batch-create':
        return createBatch(body, res, acceptsSampling(req));
      case 'batch-retrieve':
        return retrieveBatch(path.split('/')[4]!, res);
      case 'batch-results':
        return batchResults(path.split('/')[4]!, res);
      default:
        sendJson(res, 404, anthropicError('not_found_error', `No route ${req.method} ${path}`));
    }
  }

  async function answerChat(
    route: 'messages' | 'chat',
    bodyText: string,
    res: ServerResponse,
    sampling: boolean,
    requestKey: string | undefined,
  ): Promise<void> {
    let body: unknown;
    try {
      body = JSON.parse(bodyText);
    } catch {
      sendJson(res, 400, errorFor(route, 'invalid_request_error', 'Body is not JSON.'));
      return;
    }
    if (!isJsonObject(body)) {
      sendJson(res, 400, errorFor(route, 'invalid_request_error', 'Body must be an object.'));
      return;
    }
    const bodyDigest = createHash('sha256').update(canonicalJson(body)).digest('hex');
    // Samples of one request share a body; the client's key header tells them apart.
    const digest = requestKey === undefined ? bodyDigest : createHash('sha256').update(`${bodyDigest}:${requestKey}`).digest('hex');
    const variant = variantOf(bodyDigest, digest);
    const attempt = (stats.received.get(digest) ?? 0) + 1;
    stats.received.set(digest, attempt);
    if (stats.succeeded.has(digest)) stats.resentAfterSuccess++;
    if (faults.serveConcurrency !== undefined) {
      while (serving >= faults.serveConcurrency) await new Promise<void>((wake) => slotWaiters.push(wake));
      serving++;
      res.once('close', () => {
        serving--;
        slotWaiters.shift()?.();
      });
    }
    concurrent++;
    stats.maxConcurrent = Math.max(stats.maxConcurrent, concurrent);
    try {
      const status = decideStatus(digest, attempt);
      if (status === 'hang') return; // Never answered; closed with the server.
      if (status === 'reset') {
        res.socket?.destroy();
        return;
      }
      if (faults.latencyMs > 0) await sleep(faults.latencyMs);
      if (typeof status === 'object') {
        countStatus(status.status);
        sendJson(res, status.status, errorFor(route, status.type, status.message), status.headers);
        return;
      }
      if (status === 'malformed') {
        countStatus(200);
        res.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_${digest.slice(0, 24)}` });
        res.end('{"id": "msg_broken", "content": [');
        return;
      }
      const problem = route === 'messages' ? validateMessagesBody(body, sampling) : validateChatBody(body);
      if (problem !== undefined) {
        countStatus(400);
        sendJson(res, 400, errorFor(route, 'invalid_request_error', problem));
        return;
      }
      const reply = route === 'messages' ? anthropicMessage(body, digest, variant) : chatCompletion(body, digest, variant);
      stats.succeeded.add(digest);
      countStatus(200);
      sendJson(res, 200, reply, { ...rateHeaders(), 'request-id': `req_${digest.slice(0, 24)}`, 'x-request-id': `req_${digest.slice(0, 24)}` });
    } finally {
      concurrent--;
    }
  }

  type Decision = 'ok' | 'hang' | 'reset' | 'malformed' | { status: number; type: string; message: string; headers?: Record<string, string> };

  function decideStatus(digest: string, attempt: number): Decision {
    if (faults.alwaysStatus !== undefined) return forcedStatus(faults.alwaysStatus);
    const wait = takeToken();
    if (wait !== undefined) {
      return {
        status: 429,
        type: 'rate_limit_error',
        message: 'Number of requests has exceeded your per-second rate limit.',
        headers: { 'retry-after': String(Math.max(1, Math.ceil(wait))), ...rateHeaders() },
      };
    }
    if (roll('hang', digest, attempt) < faults.hangRate) return 'hang';
    if (roll('reset', digest, attempt) < faults.resetRate) return 'reset';
    if (roll('500', digest, attempt) < faults.error500Rate) return forcedStatus(500);
    if (roll('529', digest, attempt) < faults.overloaded529Rate) return forcedStatus(529);
    if (roll('malformed', digest, attempt) < faults.malformedRate) return 'malformed';
    return 'ok';
  }

  function forcedStatus(status: number): Decision {
    switch (status) {
      case 429:
        return { status, type: 'rate_limit_error', message: 'Rate limited.', headers: { 'retry-after': String(faults.retryAfterSeconds) } };
      case 529:
        return { status, type: 'overloaded_error', message: 'Overloaded', headers: { 'retry-after': String(faults.retryAfterSeconds) } };
      case 401:
        return { status, type: 'authentication_error', message: 'invalid x-api-key' };
      case 400:
        return { status, type: 'invalid_request_error', message: 'Invalid request.' };
      default:
        return { status, type: 'api_error', message: 'Internal server error' };
    }
  }

  function countStatus(status: number): void {
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
  }

  /** 0 for the first distinct key seen with a body, 1 for the second...: stands in for sampling randomness. */
  function variantOf(bodyDigest: string, keyDigest: string): number {
    let keys = variants.get(bodyDigest);
    if (keys === undefined) variants.set(bodyDigest, (keys = []));
    let index = keys.indexOf(keyDigest);
    if (index < 0) index = keys.push(keyDigest) - 1;
    return index;
  }

  function anthropicMessage(body: JsonObject, digest: string, variant: number): JsonObject {
    const request = chatRequestOf('anthropic', body, variant);
    const { text, stopReason, stopSequence } = generate(request);
    const { cacheable, rest } = anthropicPromptTokens(body);
    let cacheRead = 0;
    let cacheWrite = 0;
    if (cacheable > 0) {
      const prefixKey = `${request.model}:${canonicalJson(body.system ?? null)}:${canonicalJson(prefixMessages(body))}`;
      if (promptCache.has(prefixKey)) cacheRead = cacheable;
      else {
        promptCache.add(prefixKey);
        cacheWrite = cacheable;
      }
    }
    return {
      id: `msg_${digest.slice(0, 24)}`,
      type: 'message',
      role: 'assistant',
      model: request.model,
      content: [{ type: 'text', text }],
      stop_reason: stopReason,
      stop_sequence: stopSequence,
      usage: {
        input_tokens: rest,
        output_tokens: tokensOf(text),
        cache_creation_input_tokens: cacheWrite,
        cache_read_input_tokens: cacheRead,
        cache_creation: { ephemeral_5m_input_tokens: cacheWrite, ephemeral_1h_input_tokens: 0 },
        service_tier: 'standard',
      },
    };
  }

  function chatCompletion(body: JsonObject, digest: string, variant: number): JsonObject {
    const request = chatRequestOf('openai', body, variant);
    const { text, stopReason } = generate(request);
    const promptTokens = tokensOf([request.system ?? '', ...request.messages.map((m) => m.content)].join(''));
    return {
      id: `chatcmpl-${digest.slice(0, 24)}`,
      object: 'chat.completion',
      created: 1_700_000_000,
      model: request.model,
      choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: stopReason === 'max_tokens' ? 'length' : 'stop' }],
      usage: { prompt_tokens: promptTokens, completion_tokens: tokensOf(text), total_tokens: promptTokens + tokensOf(text) },
    };
  }

  function generate(request: MockChatRequest): { text: string; stopReason: string; stopSequence: string | null } {
    let text = responder(request);
    for (const stop of request.stop) {
      const at = text.indexOf(stop);
      if (at >= 0) return { text: text.slice(0, at), stopReason: 'stop_sequence', stopSequence: stop };
    }
    if (tokensOf(text) > request.maxTokens) {
      text = text.slice(0, request.maxTokens * 4);
      return { text, stopReason: 'max_tokens', stopSequence: null };
    }
    return { text, stopReason: 'end_turn', stopSequence: null };
  }

  function createBatch(bodyText: string, res: ServerResponse, sampling: boolean): void {
    let body: unknown;
    try {
      body = JSON.parse(bodyText);
    } catch {
      sendJson(res, 400, anthropicError('invalid_request_error', 'Body is not JSON.'));
      return;
    }
    const requests = isJsonObject(body) && Array.isArray(body.requests) ? body.requests : undefined;
    if (requests === undefined || requests.length === 0 || requests.length > 100_000) {
      sendJson(res, 400, anthropicError('invalid_request_error', 'requests: must hold 1 to 100,000 items'));
      return;
    }
    const ids = new Set<string>();
    const items: BatchState['items'] = [];
    for (const item of requests) {
      const customId = isJsonObject(item) && typeof item.custom_id === 'string' ? item.custom_id : '';
      if (!/^[a-zA-Z0-9_-]{1,64}$/.test(customId) || ids.has(customId) || !isJsonObject(item) || !isJsonObject(item.params)) {
        sendJson(res, 400, anthropicError('invalid_request_error', `Invalid or duplicate custom_id ${JSON.stringify(customId)}`));
        return;
      }
      ids.add(customId);
      const submission = (stats.batchItemsReceived.get(customId) ?? 0) + 1;
      stats.batchItemsReceived.set(customId, submission);
      if (succeededCustomIds.has(customId)) stats.batchItemsResentAfterSuccess++;
      items.push({ customId, params: item.params, submission });
    }
    stats.batchesCreated++;
    const id = `msgbatch_${String(stats.batchesCreated).padStart(4, '0')}_${createHash('sha256').update(bodyText).digest('hex').slice(0, 16)}`;
    const now = Date.now();
    batches.set(id, { id, createdAt: now, endsAt: now + faults.batchProcessingMs, items, results: undefined, sampling });
    sendJson(res, 200, batchObject(batches.get(id)!), { 'request-id': `req_${id}` });
  }

  function settleBatch(batch: BatchState): void {
    if (batch.results !== undefined || Date.now() < batch.endsAt) return;
    batch.results = batch.items.map(({ customId, params, submission }): Json => {
      if (roll('batch-expire', customId, submission) < faults.batchItemExpireRate) return { custom_id: customId, result: { type: 'expired' } };
      if (roll('batch-error', customId, submission) < faults.batchItemErrorRate) {
        return { custom_id: customId, result: { type: 'errored', error: { type: 'error', error: { type: 'api_error', message: 'Internal server error' } } } };
      }
      const problem = validateMessagesBody(params, batch.sampling);
      if (problem !== undefined) {
        return { custom_id: customId, result: { type: 'errored', error: { type: 'error', error: { type: 'invalid_request_error', message: problem } } } };
      }
      succeededCustomIds.add(customId);
      const bodyDigest = createHash('sha256').update(canonicalJson(params)).digest('hex');
      const digest = createHash('sha256').update(`${bodyDigest}:${customId}`).digest('hex');
      return { custom_id: customId, result: { type: 'succeeded', message: anthropicMessage(params, digest, variantOf(bodyDigest, digest)) } };
    });
  }

  function batchObject(batch: BatchState): JsonObject {
    settleBatch(batch);
    const ended = batch.results !== undefined;
    const counts = { processing: 0, succeeded: 0, errored: 0, canceled: 0, expired: 0 };
    if (!ended) counts.processing = batch.items.length;
    else {
      for (const line of batch.results!) {
        const type = ((line as JsonObject).result as JsonObject).type as keyof typeof counts;
        counts[type]++;
      }
    }
    return {
      id: batch.id,
      type: 'message_batch',
      processing_status: ended ? 'ended' : 'in_progress',
      request_counts: counts,
      ended_at: ended ? new Date(batch.endsAt).toISOString() : null,
      created_at: new Date(batch.createdAt).toISOString(),
      expires_at: new Date(batch.createdAt + 86_400_000).toISOString(),
      archived_at: null,
      cancel_initiated_at: null,
      results_url: ended ? `${url}/v1/messages/batches/${batch.id}/results` : null,
    };
  }

  function retrieveBatch(id: string, res: ServerResponse): void {
    const batch = batches.get(id);
    if (batch === undefined) {
      sendJson(res, 404, anthropicError('not_found_error', `No batch ${id}`));
      return;
    }
    sendJson(res, 200, batchObject(batch), { 'request-id': `req_${id}` });
  }

  function batchResults(id: string, res: ServerResponse): void {
    const batch = batches.get(id);
    if (batch === undefined) {
      sendJson(res, 404, anthropicError('not_found_error', `No batch ${id}`));
      return;
    }
    settleBatch(batch);
    if (batch.results === undefined) {
      sendJson(res, 400, anthropicError('invalid_request_error', 'Batch has not ended.'));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/binary', 'request-id': `req_${id}_results` });
    res.end(batch.results.map((line) => JSON.stringify(line)).join('\n') + '\n');
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    stats,
    setFaults(update) {
      Object.assign(faults, update);
      if (update.requestsPerSecond !== undefined) {
        bucket = update.requestsPerSecond;
        bucketAt = Date.now();
      }
    },
    finishBatches() {
      for (const batch of batches.values()) batch.endsAt = Math.min(batch.endsAt, Date.now());
    },
    close() {
      return new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}

const ROUTE_LABELS = {
  messages: 'POST /v1/messages',
  chat: 'POST /v1/chat/completions',
  models: 'GET /v1/models',
  'batch-create': 'POST /v1/messages/batches',
  'batch-retrieve': 'GET /v1/messages/batches/:id',
  'batch-results': 'GET /v1/messages/batches/:id/results',
} as const;

function routeOf(method: string, path: string): string {
  if (method === 'POST' && path === '/v1/messages') return 'messages';
  if (method === 'POST' && path === '/v1/chat/completions') return 'chat';
  if (method === 'GET' && path === '/v1/models') return 'models';
  if (method === 'POST' && path === '/v1/messages/batches') return 'batch-create';
  if (method === 'GET' && /^\/v1\/messages\/batches\/[^/]+$/.test(path)) return 'batch-retrieve';
  if (method === 'GET' && /^\/v1\/messages\/batches\/[^/]+\/results$/.test(path)) return 'batch-results';
  return `${method} ${path}`;
}

function textOf(content: Json | undefined): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((block) => (isJsonObject(block) && typeof block.text === 'string' ? block.text : '')).join('');
  return '';
}

function chatRequestOf(api: 'anthropic' | 'openai', body: JsonObject, variant: number): MockChatRequest {
  const rawMessages = Array.isArray(body.messages) ? body.messages.filter(isJsonObject) : [];
  const systemFromMessages = rawMessages.filter((m) => m.role === 'system').map((m) => textOf(m.content));
  const system = api === 'anthropic' ? (body.system === undefined ? undefined : textOf(body.system)) : systemFromMessages.length > 0 ? systemFromMessages.join('\n') : undefined;
  const stop = api === 'anthropic' ? body.stop_sequences : body.stop;
  return {
    api,
    variant,
    model: typeof body.model === 'string' ? body.model : '',
    system,
    messages: rawMessages.filter((m) => m.role !== 'system').map((m) => ({ role: String(m.role), content: textOf(m.content) })),
    maxTokens: typeof body.max_tokens === 'number' ? body.max_tokens : 1024,
    stop: Array.isArray(stop) ? stop.filter((s): s is string => typeof s === 'string') : typeof stop === 'string' ? [stop] : [],
  };
}

function tokensOf(text: string): number {
  return Math.ceil(text.length / 4);
}

/** Messages up to and including the last one carrying cache_control. */
function prefixMessages(body: JsonObject): Json[] {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  let last = -1;
  messages.forEach((m, i) => {
    if (isJsonObject(m) && Array.isArray(m.content) && m.content.some((b) => isJsonObject(b) && b.cache_control !== undefined)) last = i;
  });
  return messages.slice(0, last + 1);
}

/** Input tokens split into the cacheable prefix (system + marked turns, when marked) and the rest. */
function anthropicPromptTokens(body: JsonObject): { cacheable: number; rest: number } {
  const system = textOf(body.system);
  const messages = Array.isArray(body.messages) ? body.messages.filter(isJsonObject) : [];
  const total = tokensOf(system + messages.map((m) => textOf(m.content)).join(''));
  const systemMarked = Array.isArray(body.system) && body.system.some((b) => isJsonObject(b) && b.cache_control !== undefined);
  const prefix = prefixMessages(body).filter(isJsonObject);
  if (!systemMarked && prefix.length === 0) return { cacheable: 0, rest: total };
  const cacheable = tokensOf(system + prefix.map((m) => textOf(m.content)).join(''));
  return { cacheable, rest: total - cacheable };
}

/** API version 2023-06-01 still accepts temperature/top_p/top_k; 2026-10-21 (the SDK 1.x default) rejects them. */
function acceptsSampling(req: IncomingMessage): boolean {
  return req.headers['anthropic-version'] === '2023-06-01';
}

function validateMessagesBody(body: JsonObject, sampling: boolean): string | undefined {
  if (typeof body.model !== 'string' || body.model === '') return 'model: Field required';
  if (typeof body.max_tokens !== 'number' || body.max_tokens < 1) return 'max_tokens: Field required';
  if (!Array.isArray(body.messages) || body.messages.length === 0) return 'messages: Field required';
  const rejected = sampling ? ['presence_penalty', 'frequency_penalty'] : ['temperature', 'top_p', 'top_k', 'presence_penalty', 'frequency_penalty'];
  for (const name of rejected) {
    if (body[name] !== undefined) return `${name}: Extra inputs are not permitted`;
  }
  return undefined;
}

function validateChatBody(body: JsonObject): string | undefined {
  if (typeof body.model !== 'string' || body.model === '') return 'model is required';
  if (!Array.isArray(body.messages) || body.messages.length === 0) return 'messages is required';
  if (body.top_k !== undefined) return 'Unrecognized request argument supplied: top_k';
  return undefined;
}

function anthropicError(type: string, message: string): JsonObject {
  return { type: 'error', error: { type, message }, request_id: null };
}

function openAiError(code: string, message: string): JsonObject {
  return { error: { message, type: code, param: null, code } };
}

function errorFor(route: string, type: string, message: string): JsonObject {
  return route === 'chat' ? openAiError(type, message) : anthropicError(type, message);
}

function sendJson(res: ServerResponse, status: number, body: Json, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
