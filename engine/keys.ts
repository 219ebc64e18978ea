/**
 * Node keys: a typed record of everything a node's output depends on, hashed as canonical JSON. The record itself is
 * stored beside the hash so `plan --explain` can say which part changed.
 */
import { createReadStream, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { Store } from '../cache/store.js';
import type { CodeRecord } from './code-deps.js';
import { canonicalJson, digestJson, sha256, type Digest, type ItemKey, type Json, type NodeKey } from './json.js';
import type { LlmServiceKey } from './llm/types.js';

/** Bump when the way records are built or hashed changes: every key changes, visibly (see test/engine/keys.test). */
export const KEY_FORMAT = 2;

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
  /** The names in each folder `files()` listed, in the order it listed them: renaming a listed file changes the key. */
  listings: string[][];
  /** Keyed configuration of the LLM service (provider, model, base_url) for nodes that call it; null otherwise. */
  llm: LlmServiceKey | null;
  /** The type's code: plugin modules by content and imported package versions, or declared packages; null: none. */
  code: CodeRecord | null;
}

export function nodeKey(record: NodeKeyRecord): NodeKey {
  return digestJson(record) as unknown as NodeKey;
}

/** Bump when the way item keys are built changes. */
export const ITEM_KEY_FORMAT = 2;

/**
 * Whose computation an item is: the node type and its version, the LLM service for nodes that use one, and the
 * digest of the type's code (a plugin edited without a version bump must not reuse its old items).
 */
export interface ItemScope {
  type: string;
  version: number;
  llm: LlmServiceKey | null;
  code: Digest | null;
}

/** The item-key prefix of a scope and map name; built once per map, so each item hashes only its own record. */
export function itemKeyPrefix(scope: ItemScope, namespace: string): string {
  return `{"itemFormat":${ITEM_KEY_FORMAT},"namespace":${JSON.stringify(namespace)},"scope":${canonicalJson(scope as unknown as Json)},"record":`;
}

export function itemKey(scope: ItemScope, namespace: string, record: Json): ItemKey {
  return itemKeyFromPrefix(itemKeyPrefix(scope, namespace), record);
}

export function itemKeyFromPrefix(prefix: string, record: Json): ItemKey {
  return sha256(`${prefix}${canonicalJson(record)}}`) as unknown as ItemKey;
}

/**
 * File content digests, remembered by path and stat signature (size, mtime, inode, ctime) in the store so a no-op
 * rerun does not re-read large files (as DVC's state database does). Any change of the signature (an edit, or a
 * file replaced by a rename) means the file is read again.
 */
export class FileDigests {
  private readonly memo = new Map<string, Digest>();

  constructor(private readonly store: Store) {
    store.ensureTables('file-digests-v2', `CREATE TABLE IF NOT EXISTS file_signatures (path TEXT PRIMARY KEY, signature TEXT NOT NULL, digest TEXT NOT NULL)`);
  }

  async digest(path: string): Promise<Digest> {
    const stat = statSync(path);
    const signature = `${stat.size}:${stat.mtimeMs}:${stat.ino}:${stat.ctimeMs}`;
    const memoKey = `${path}\u0000${signature}`;
    const memo = this.memo.get(memoKey);
    if (memo) return memo;
    const row = this.store.sql('SELECT signature, digest FROM file_signatures WHERE path = ?').get(path) as { signature: string; digest: Digest } | undefined;
    let digest: Digest;
    if (row && row.signature === signature) {
      digest = row.digest;
    } else {
      digest = await hashFile(path);
      this.store.sql('INSERT OR REPLACE INTO file_signatures (path, signature, digest) VALUES (?, ?, ?)').run(path, signature, digest);
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
export function explainChange(previous: NodeKeyRecord | undefined, next: NodeKeyRecord, fileNames: readonly string[] = [], previousFileNames?: readonly string[]): string[] {
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
  reasons.push(...explainFiles(previous.files, next.files, previousFileNames, fileNames));
  if (canonicalJson(previous.listings ?? []) !== canonicalJson(next.listings ?? []) && reasons.every((r) => !r.startsWith('file '))) {
    reasons.push('names in a listed folder changed');
  }
  const [llmBefore, llmAfter] = [previous.llm ?? null, next.llm ?? null];
  if (canonicalJson(llmBefore) !== canonicalJson(llmAfter)) {
    if (llmBefore !== null && llmAfter !== null) {
      for (const field of ['provider', 'model', 'base_url'] as const) {
        const [a, b] = [llmBefore[field] ?? null, llmAfter[field] ?? null];
        if (a !== b) reasons.push(`${field} changed (${a ?? '(unset)'} → ${b ?? '(unset)'})`);
      }
    } else {
      for (const path of diffJson(llmBefore, llmAfter, 'llm')) reasons.push(path);
    }
  }
  reasons.push(...explainCode(previous.code ?? null, next.code ?? null));
  return reasons;
}

/** File changes by name when both runs' names are known ("file added under data/sts14: x.tsv"), else by position. */
function explainFiles(before: readonly Digest[], after: readonly Digest[], beforeNames: readonly string[] | undefined, afterNames: readonly string[]): string[] {
  const reasons: string[] = [];
  if (beforeNames !== undefined && beforeNames.length === before.length && afterNames.length === after.length) {
    const old = new Map(beforeNames.map((name, i) => [name, before[i]!]));
    const now = new Map(afterNames.map((name, i) => [name, after[i]!]));
    for (const [name, digest] of now) {
      const was = old.get(name);
      if (was === undefined) reasons.push(`file added under ${dirOf(name)}: ${baseOf(name)}`);
      else if (was !== digest) reasons.push(`file ${name} changed (${short(was)} → ${short(digest)})`);
    }
    for (const name of old.keys()) if (!now.has(name)) reasons.push(`file ${name} no longer used`);
    if (reasons.length > 0 || before.join() === after.join()) return reasons;
  }
  for (let i = 0; i < Math.max(before.length, after.length); i++) {
    const a = before[i];
    const b = after[i];
    const file = afterNames[i] ?? `file #${i + 1}`;
    if (a !== b) reasons.push(a === undefined ? `file ${file} added` : b === undefined ? `file ${file} no longer used` : `file ${file} changed (${short(a)} → ${short(b)})`);
  }
  return reasons;
}

function dirOf(path: string): string {
  const at = path.lastIndexOf('/');
  return at < 0 ? '.' : path.slice(0, at);
}

function baseOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function explainCode(before: CodeRecord | null, after: CodeRecord | null): string[] {
  const reasons: string[] = [];
  const modules = new Set([...Object.keys(before?.modules ?? {}), ...Object.keys(after?.modules ?? {})]);
  for (const name of [...modules].sort()) {
    const [a, b] = [before?.modules[name], after?.modules[name]];
    if (a === b) continue;
    reasons.push(a === undefined ? `plugin module ${name} added` : b === undefined ? `plugin module ${name} no longer imported` : `plugin module ${name} changed`);
  }
  const packages = new Set([...Object.keys(before?.packages ?? {}), ...Object.keys(after?.packages ?? {})]);
  for (const name of [...packages].sort()) {
    const [a, b] = [before?.packages[name], after?.packages[name]];
    if (a !== b) reasons.push(`package ${name} ${a ?? '(not installed)'} → ${b ?? '(not installed)'}`);
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
