import { createHash } from 'node:crypto';

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
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new Error(`Internal error: cannot key the non-finite number ${value}`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return '[' + value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',') + ']';
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort(compareCodeUnits);
      return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonicalJson(obj[k])).join(',') + '}';
    }
    default:
      throw new Error(`Internal error: cannot key a value of type ${typeof value}`);
  }
}

export function sha256(data: string | Uint8Array): Digest {
  return createHash('sha256').update(data).digest('hex') as Digest;
}

export function digestJson(value: unknown): Digest {
  return sha256(canonicalJson(value));
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
