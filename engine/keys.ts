/**
 * Node keys: a typed record of everything a node's output depends on, hashed as canonical JSON. The record itself is
 * stored beside the hash so `plan --explain` can say which part changed.
 */
import { createReadStream, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { Store } from '../cache/store.js';
import { canonicalJson, digestJson, sha256, type Digest, type ItemKey, type Json, type NodeKey } from './json.js';
import type { LlmServiceKey } from './llm/types.js';

/** Bump when the way records are built or hashed changes: every key changes, visibly (see test/engine/keys.test). */
export const KEY_FORMAT = 1;

export interface NodeKeyRecord {
  /** How this record is built; a new format never matches an old key. */
  keyFormat: number;
  /** The node type: different types never share results. */
  type: string;
  /** The type's implementation version: bumping it recomputes every node of the type. */
  version: number;
  /** Keyed parameters as parsed (defaults applied), so writing a default out does not change the key. */
  params: Json;
  /** Content digests of the upstream values by input port, not the upstream keys: an upstream change that yields
   * identical output stops there (early cutoff). */
  inputs: Record<string, Digest>;
  /** Content digests of the files the node declares (prompt pools, data files), in declaration order. Paths are left
   * out so the same content keys the same wherever it lives; `fileNames` beside the record explains changes. */
  files: Digest[];
  /** Keyed configuration of the LLM service (provider, model) for nodes that call it; null otherwise. */
  llm: LlmServiceKey | null;
}

export function nodeKey(record: NodeKeyRecord): NodeKey {
  return digestJson(record) as unknown as NodeKey;
}

/** Item keys are namespaced so two computations never share a result by accident. */
export const ITEM_KEY_FORMAT = 1;

export function itemKey(namespace: string, record: Json): ItemKey {
  return sha256(`{"itemFormat":${ITEM_KEY_FORMAT},"namespace":${JSON.stringify(namespace)},"record":${canonicalJson(record)}}`) as unknown as ItemKey;
}

/**
 * File content digests, remembered by (path, size, mtime) in the store so a no-op rerun does not re-read large
 * files (as DVC's state database does). A changed size or mtime means the file is read again.
 */
export class FileDigests {
  private readonly memo = new Map<string, Digest>();

  constructor(private readonly store: Store) {
    store.ensureTables('file-digests', `CREATE TABLE IF NOT EXISTS file_digests (path TEXT PRIMARY KEY, size INTEGER, mtime_ms REAL, digest TEXT)`);
  }

  async digest(path: string): Promise<Digest> {
    const stat = statSync(path);
    const memoKey = `${path}\u0000${stat.size}\u0000${stat.mtimeMs}`;
    const memo = this.memo.get(memoKey);
    if (memo) return memo;
    const row = this.store.sql('SELECT size, mtime_ms, digest FROM file_digests WHERE path = ?').get(path) as
      | { size: number; mtime_ms: number; digest: Digest }
      | undefined;
    let digest: Digest;
    if (row && row.size === stat.size && row.mtime_ms === stat.mtimeMs) {
      digest = row.digest;
    } else {
      digest = await hashFile(path);
      this.store.sql('INSERT OR REPLACE INTO file_digests (path, size, mtime_ms, digest) VALUES (?, ?, ?, ?)').run(path, stat.size, stat.mtimeMs, digest);
    }
    this.memo.set(memoKey, digest);
    return digest;
  }
}

export function hashFile(path: string): Promise<Digest> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex') as Digest));
  });
}

/** What changed between the key record of the last run and the new one, in words. */
export function explainChange(previous: NodeKeyRecord | undefined, next: NodeKeyRecord, fileNames: readonly string[] = []): string[] {
  if (previous === undefined) return ['never ran before'];
  const reasons: string[] = [];
  if (previous.keyFormat !== next.keyFormat) reasons.push(`key format ${previous.keyFormat} → ${next.keyFormat}`);
  if (previous.type !== next.type) reasons.push(`type ${previous.type} → ${next.type}`);
  else if (previous.version !== next.version) reasons.push(`implementation version ${previous.version} → ${next.version}`);
  for (const path of diffJson(previous.params, next.params, 'params')) reasons.push(path);
  const ports = new Set([...Object.keys(previous.inputs), ...Object.keys(next.inputs)]);
  for (const port of ports) {
    const a = previous.inputs[port];
    const b = next.inputs[port];
    if (a !== b) reasons.push(`input ${port} changed (${short(a)} → ${short(b)})`);
  }
  for (let i = 0; i < Math.max(previous.files.length, next.files.length); i++) {
    const a = previous.files[i];
    const b = next.files[i];
    const file = fileNames[i] ?? `file #${i + 1}`;
    if (a !== b) reasons.push(a === undefined ? `file ${file} added` : b === undefined ? `file ${file} no longer used` : `file ${file} changed (${short(a)} → ${short(b)})`);
  }
  if (canonicalJson(previous.llm) !== canonicalJson(next.llm)) {
    for (const path of diffJson(previous.llm, next.llm, 'llm')) reasons.push(path);
  }
  return reasons;
}

function short(digest: string | undefined): string {
  return digest === undefined ? 'none' : digest.slice(0, 8);
}

function diffJson(a: unknown, b: unknown, path: string): string[] {
  if (canonicalJson(a ?? null) === canonicalJson(b ?? null)) return [];
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => diffJson(a[k], b[k], `${path}.${k}`));
  }
  const show = (v: unknown) => {
    const text = v === undefined ? '(unset)' : JSON.stringify(v);
    return text.length > 40 ? text.slice(0, 37) + '...' : text;
  };
  return [`${path} ${show(a)} → ${show(b)}`];
}
