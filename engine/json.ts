import { hash } from 'node:crypto';

/** JSON values as they appear in pipeline files, rows, key records and item results. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** One row of a dataset: sentences, pairs, triplets and metrics are all rows of JSON fields. */
export type Row = JsonObject;

/** A SHA-256 hex digest of some content. Branded so a file digest is not passed where a node key is expected. */
export type Digest = string & { readonly __brand: 'Digest' };
/** The SHA-256 of a node's canonical key record. */
export type NodeKey = string & { readonly __brand: 'NodeKey' };
/** The SHA-256 of one item's canonical key record. */
export type ItemKey = string & { readonly __brand: 'ItemKey' };

/** Code-unit order, never localeCompare: keys must not depend on the machine's locale. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Canonical JSON: object keys sorted by code unit, no whitespace, `undefined` members dropped.
 * Non-finite numbers have no JSON form and are rejected rather than silently turned into null.
 *
 * Built as a copy with sorted keys that the native JSON.stringify then writes (faster than joining the text in
 * JavaScript, and every request key goes through here). An object with an array-index key ("0", "12") cannot hold
 * its keys in code-unit order (JavaScript puts index keys first, by number), and a copy cannot take a `__proto__`
 * key as a member, so such a value is written piece by piece instead; both give the same text.
 */
export function canonicalJson(value: unknown): string {
  // A string is its own canonical form (key records write many: models, system prompts, texts).
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return JSON.stringify(sortedCopy(value));
  } catch (error) {
    if (error !== UNORDERABLE) throw error;
    return canonicalText(value);
  }
}

/** Thrown (and caught) when a key cannot be copied in order: an array index or `__proto__`. */
const UNORDERABLE = new Error('a key the sorted copy cannot hold in order');
const ARRAY_INDEX = /^(?:0|[1-9]\d*)$/;

function unorderable(key: string): boolean {
  const first = key.charCodeAt(0);
  return (first >= 48 && first <= 57 && ARRAY_INDEX.test(key)) || key === '__proto__';
}

function sortedKeys(obj: object): string[] {
  const keys = Object.keys(obj);
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1]! > keys[i]!) return keys.sort(compareCodeUnits);
  }
  return keys;
}

function primitiveJson(value: unknown): unknown {
  if (value === null) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new Error(`Internal error: cannot key the non-finite number ${value}`);
      return value;
    default:
      throw new Error(`Internal error: cannot key a value of type ${typeof value}`);
  }
}

function sortedCopy(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return primitiveJson(value);
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = value[i] === undefined ? null : sortedCopy(value[i]);
    return out;
  }
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of sortedKeys(obj)) {
    const member = obj[key];
    if (member === undefined) continue;
    if (unorderable(key)) throw UNORDERABLE;
    out[key] = sortedCopy(member);
  }
  return out;
}

function canonicalText(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(primitiveJson(value));
  if (Array.isArray(value)) return '[' + value.map((v) => (v === undefined ? 'null' : canonicalText(v))).join(',') + ']';
  const obj = value as Record<string, unknown>;
  const keys = sortedKeys(obj).filter((k) => obj[k] !== undefined);
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonicalText(obj[k])).join(',') + '}';
}

export function sha256(data: string | Uint8Array): Digest {
  return hash('sha256', data) as Digest;
}

export function digestJson(value: unknown): Digest {
  return sha256(canonicalJson(value));
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
