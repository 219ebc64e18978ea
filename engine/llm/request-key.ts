/** The request cache key and the batch custom_id derived from it. */
import { canonicalJson, digestJson, sha256, type Digest, type ItemKey } from '../json.js';
import type { LlmRequest, ProviderName } from './types.js';

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

/** A call's key and the canonical JSON of its request (as stored, cache_prefix included), serialised once. */
export interface KeyedCall {
  key: ItemKey;
  requestJson: string;
}

/**
 * requestKeyOf and canonicalJson(request) from one serialisation of the request: the key record
 * {endpoint, provider, request, sample} is assembled around the request's canonical JSON (its members in canonical
 * order), and cache_prefix, the one member not keyed, sorts before every other member of a request.
 */
export function keyedCall(provider: ProviderName, endpoint: string | null, request: LlmRequest, sample: number, modelFileSha256?: string): KeyedCall {
  if (!Number.isInteger(sample) || sample < 0) throw new Error(`Internal error: sample index must be a non-negative integer, got ${sample}`);
  const keyed = keyedRequest(request);
  const keyedJson = canonicalJson(modelFileSha256 === undefined ? keyed : { ...keyed, model: { gguf_sha256: modelFileSha256 } });
  const key = sha256(`{"endpoint":${canonicalJson(endpoint)},"provider":${canonicalJson(provider)},"request":${keyedJson},"sample":${sample}}`) as string as ItemKey;
  let requestJson: string;
  if (modelFileSha256 !== undefined) requestJson = canonicalJson(request);
  else if (request.cache_prefix === undefined) requestJson = keyedJson;
  else requestJson = `{"cache_prefix":${request.cache_prefix ? 'true' : 'false'}${keyedJson === '{}' ? '}' : ',' + keyedJson.slice(1)}`;
  return { key, requestJson };
}

/** A batch custom_id: at most 64 characters of [a-zA-Z0-9_-]. The key is hex, so its first 64 characters qualify. */
export function customIdOf(key: ItemKey): string {
  return key.slice(0, 64);
}

/** Identifies "similar" requests for output-length estimates: same model, system prompt and few-shot turns. */
export function prefixDigestOf(request: LlmRequest): Digest {
  return digestJson({ model: request.model, system: request.system ?? null, shots: request.messages.slice(0, -1), max_tokens: request.max_tokens });
}
