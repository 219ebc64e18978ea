/** The request cache key and the batch custom_id derived from it. */
import { canonicalJson, compareCodeUnits, digestJson, sha256, type Digest, type ItemKey } from '../json.js';
import type { ChatMessage, LlmRequest, ProviderName } from './types.js';

/** The part of a request that changes the answer: cache_prefix only changes price, so it is not keyed. */
export function keyedRequest(request: LlmRequest): Omit<LlmRequest, 'cache_prefix'> {
  const { cache_prefix: _cachePrefix, ...rest } = request;
  return rest;
}

/**
 * The endpoint is keyed: the same model name served by another base URL may answer differently.
 * `modelFileSha256` (local provider): the model file's digest stands in for the model name, so the key follows the
 * weights, not the path they were loaded from.
 */
export function requestKeyOf(provider: ProviderName, endpoint: string | null, request: LlmRequest, sample: number, modelFileSha256?: string): ItemKey {
  return keyedCall(provider, endpoint, request, sample, modelFileSha256).key;
}

/**
 * A request serialised once, for everything a call needs from it: the key, the stored request (its messages but the
 * last kept by reference) and the prefix digest are assembled from the canonical JSON of each message.
 */
export interface SerializedRequest {
  /** canonicalJson of each message, in order. */
  messages: string[];
  /** prefixDigestOf(request). */
  prefixDigest: Digest;
}

export interface KeyedCall {
  key: ItemKey;
  /** canonicalJson of each message of the request, for serializeRequest. */
  messages: string[];
}

export function keyedCall(provider: ProviderName, endpoint: string | null, request: LlmRequest, sample: number, modelFileSha256?: string): KeyedCall {
  if (!Number.isInteger(sample) || sample < 0) throw new Error(`Internal error: sample index must be a non-negative integer, got ${sample}`);
  const messages = request.messages.map(messageJson);
  const keyed = keyedRequest(request);
  const record = modelFileSha256 === undefined ? keyed : { ...keyed, model: { gguf_sha256: modelFileSha256 } };
  const keyedJson = canonicalJsonWith(record, { messages: `[${messages.join(',')}]` });
  // canonicalJson({provider, endpoint, request, sample}), its members in canonical order.
  const key = sha256(`{"endpoint":${canonicalJson(endpoint)},"provider":${canonicalJson(provider)},"request":${keyedJson},"sample":${sample}}`) as string as ItemKey;
  return { key, messages };
}

/** `messages`: the canonical JSON of each message when the caller has it already (KeyedCall.messages). */
export function serializeRequest(request: LlmRequest, messages = request.messages.map(messageJson)): SerializedRequest {
  const shots = `[${messages.slice(0, -1).join(',')}]`;
  return {
    messages,
    // prefixDigestOf: canonicalJson({model, system, shots, max_tokens}), its members in canonical order.
    prefixDigest: sha256(`{"max_tokens":${canonicalJson(request.max_tokens)},"model":${canonicalJson(request.model)},"shots":${shots},"system":${canonicalJson(request.system ?? null)}}`),
  };
}

/**
 * Messages a recipe shares between requests (SynCSE's exemplar turns, written once per pool) are frozen: their
 * canonical JSON cannot change, so it is written once. Only frozen messages whose members are all strings qualify
 * (a frozen object with a nested object could still change inside it); any other message is written each time.
 */
const frozenMessageJson = new WeakMap<ChatMessage, string>();

export function messageJson(message: ChatMessage): string {
  if (!Object.isFrozen(message)) return plainMessageJson(message) ?? canonicalJson(message);
  let json = frozenMessageJson.get(message);
  if (json === undefined) {
    json = canonicalJson(message);
    if (Object.values(message).every((v) => typeof v === 'string')) frozenMessageJson.set(message, json);
  }
  return json;
}

/** canonicalJson of a message that is exactly {role, content} with string values (every message a recipe builds); else undefined. */
function plainMessageJson(message: ChatMessage): string | undefined {
  const { role, content } = message;
  if (typeof role !== 'string' || typeof content !== 'string') return undefined;
  let members = 0;
  for (const _name in message) members++;
  if (members !== 2 || Object.getPrototypeOf(message) !== Object.prototype) return undefined;
  return `{"content":${JSON.stringify(content)},"role":${JSON.stringify(role)}}`;
}

/** canonicalJson(object), with the members named in `serialized` given as JSON already serialised (canonically). */
export function canonicalJsonWith(object: object, serialized: Record<string, string>): string {
  const record = object as Record<string, unknown>;
  const names = Object.keys(record).filter((name) => record[name] !== undefined).sort(compareCodeUnits);
  return `{${names.map((name) => `${JSON.stringify(name)}:${Object.hasOwn(serialized, name) ? serialized[name] : canonicalJson(record[name])}`).join(',')}}`;
}

/** A batch custom_id: at most 64 characters of [a-zA-Z0-9_-]. The key is hex, so its first 64 characters qualify. */
export function customIdOf(key: ItemKey): string {
  return key.slice(0, 64);
}

/** Identifies "similar" requests for output-length estimates: same model, system prompt and few-shot turns. */
export function prefixDigestOf(request: LlmRequest): Digest {
  return digestJson({ model: request.model, system: request.system ?? null, shots: request.messages.slice(0, -1), max_tokens: request.max_tokens });
}
