/**
 * The LLM layer's tables in the cache database: cached responses, cross-process leases on request keys, and batch
 * intents. Online calls' leases and answers are committed in groups, one transaction per turn of the event loop, and
 * each caller resumes once its write is committed; other writes are their own small transactions. So a kill -9 loses
 * at most the calls in flight (and answers that arrived in the same turn, which nobody has used yet).
 */
import { hostname } from 'node:os';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type Database from 'better-sqlite3';
import type { Store } from '../../cache/store.js';
import { canonicalJson, isJsonObject, sha256, type Digest, type ItemKey, type Json } from '../json.js';
import { GroupCommit } from './group-commit.js';
import type { ProviderReply } from './provider.js';
import { canonicalJsonWith, type SerializedRequest } from './request-key.js';
import type { CallMode, LlmRequest, LlmResponse, LlmSpend, LlmUsage, ProviderName } from './types.js';

const DDL = `
CREATE TABLE IF NOT EXISTS llm_responses (
  request_key TEXT PRIMARY KEY,
  provider TEXT NOT NULL,
  request_model TEXT NOT NULL,
  sample INTEGER NOT NULL,
  prefix_digest TEXT NOT NULL,
  request_json TEXT NOT NULL,
  raw_json TEXT NOT NULL,
  response_digest TEXT NOT NULL,
  text TEXT NOT NULL,
  stop_reason TEXT NOT NULL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cache_read_tokens INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL,
  reported_model TEXT NOT NULL,
  request_id TEXT,
  latency_ms INTEGER NOT NULL,
  mode TEXT NOT NULL,
  cost_usd REAL NOT NULL,
  savings_usd REAL NOT NULL,
  node_id TEXT NOT NULL,
  created INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS llm_responses_prefix ON llm_responses (prefix_digest);
CREATE TABLE IF NOT EXISTS llm_texts (
  id INTEGER PRIMARY KEY,
  text TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS llm_leases (
  request_key TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  pid INTEGER NOT NULL,
  host TEXT NOT NULL,
  heartbeat INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS llm_batches (
  batch_id TEXT PRIMARY KEY,
  provider TEXT NOT NULL,
  state TEXT NOT NULL,
  request_count INTEGER NOT NULL,
  created INTEGER NOT NULL,
  finished INTEGER
);
CREATE TABLE IF NOT EXISTS llm_batch_items (
  request_key TEXT PRIMARY KEY,
  custom_id TEXT NOT NULL,
  provider TEXT NOT NULL,
  sample INTEGER NOT NULL,
  request_json TEXT NOT NULL,
  node_id TEXT NOT NULL,
  batch_id TEXT,
  attempts INTEGER NOT NULL,
  created INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS llm_batch_items_batch ON llm_batch_items (batch_id);
`;

/** A cached answer as the client returns it (whether it was just paid for is the client's to say). */
export type StoredResponse = Omit<LlmResponse, 'cached'>;

/** A provider's answer to store under its request key, with what it cost. */
export interface PaidReply {
  key: ItemKey;
  provider: ProviderName;
  request: LlmRequest;
  /** serializeRequest(request), made once when the call was keyed. */
  serialized: SerializedRequest;
  sample: number;
  reply: ProviderReply;
  latencyMs: number;
  mode: CallMode;
  nodeId: string;
  costUsd: number;
  savingsUsd: number;
}

export interface ResponseRecord {
  key: ItemKey;
  provider: ProviderName;
  request: LlmRequest;
  serialized: SerializedRequest;
  sample: number;
  raw: Json;
  text: string;
  stopReason: string;
  reportedModel: string;
  usage: LlmUsage;
  requestId?: string;
  latencyMs: number;
  mode: CallMode;
  costUsd: number;
  savingsUsd: number;
  nodeId: string;
}

export interface BatchItemRow {
  request_key: ItemKey;
  custom_id: string;
  provider: ProviderName;
  sample: number;
  request_json: string;
  node_id: string;
  batch_id: string | null;
  attempts: number;
}

export type ClaimResult = 'cached' | 'claimed' | 'held';

interface ResponseRow {
  record: ResponseRecord;
  responseDigest: Digest;
  rawDeflated: Buffer;
}

/** Owners alive in this process: a lease row naming our pid but an owner not in this set is left from a closed service. */
const liveOwners = new Set<string>();

/** A system prompt at least this long is stored once in llm_texts and referenced from requests. */
const SHARED_TEXT_MIN = 16;
/** Known text ids kept in memory (the few-shot pools are small; the bound covers recipes whose turns differ). */
const TEXT_ID_MEMO = 20_000;
/**
 * Answers are mostly under a kilobyte: a 4 KB window and a smaller state make deflate's per-call setup cheaper
 * (about a third less CPU) for the same output at that size. Still raw deflate, which inflateRawSync reads.
 */
const DEFLATE_SMALL = { windowBits: 12, memLevel: 6 } as const;

/** raw_json holds deflated canonical JSON (older caches: the JSON text). */
export function rawJsonText(stored: string | Buffer): string {
  return typeof stored === 'string' ? stored : inflateRawSync(stored).toString('utf8');
}

/** What LlmStore.answeredTurns reads: the answered requests' last messages and few-shot turns. */
export interface AnsweredTurns {
  /** The canonical JSON of each answered request's last message. */
  lastMessages: Set<string>;
  /** Absent when some answered request keeps its turns inline (stored before turns were shared). */
  shots?: {
    /** llm_texts: the id of each shared text (a turn's canonical JSON, or a system prompt). */
    turnIds: Map<string, number>;
    /** Each answered request's turns but the last, as their ids joined by ','. */
    sequences: Set<string>;
  };
}

/** The first column of a `... LIMIT ?` query as a set, or undefined when it has more than `limit` rows. */
function distinctValues(query: Database.Statement, limit: number): Set<string> | undefined {
  const values = new Set<string>();
  for (const row of query.raw(true).iterate(limit + 1) as Iterable<[string]>) values.add(row[0]);
  return values.size > limit ? undefined : values;
}

export class LlmStore {
  readonly owner: string;
  private readonly textIds = new Map<string, number>();
  private readonly host = hostname();
  private readonly group: GroupCommit;

  constructor(
    readonly store: Store,
    /** A lease whose heartbeat is older than this is stale even when its pid cannot be checked (another host). */
    private readonly leaseStaleMs = 60_000,
  ) {
    store.ensureTables('llm', DDL);
    this.group = new GroupCommit((fn) => this.transaction(fn));
    this.owner = `${this.host}:${process.pid}:${sha256(`${Date.now()}:${Math.random()}`).slice(0, 12)}`;
    liveOwners.add(this.owner);
  }

  /** A transaction that also forgets the text ids it may have added, when it is rolled back. */
  private transaction(fn: () => void): void {
    try {
      this.store.transaction(fn);
    } catch (error) {
      this.textIds.clear();
      throw error;
    }
  }

  private sql(text: string): Database.Statement {
    return this.store.sql(text);
  }

  close(): void {
    if (this.store.db.open) this.group.flush();
    liveOwners.delete(this.owner);
    if (this.store.db.open) this.sql('DELETE FROM llm_leases WHERE owner = ?').run(this.owner);
  }

  getResponse(key: ItemKey): StoredResponse | undefined {
    const row = this.sql(
      `SELECT text, stop_reason, reported_model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
              request_id, latency_ms, mode, response_digest FROM llm_responses WHERE request_key = ?`,
    )
    .get(key) as
    | {
        text: string;
        stop_reason: string;
        reported_model: string;
        input_tokens: number;
        output_tokens: number;
        cache_read_tokens: number;
        cache_write_tokens: number;
        request_id: string | null;
        latency_ms: number;
        mode: CallMode;
        response_digest: Digest;
      }
    | undefined;
    if (row === undefined) return undefined;
    return {
      text: row.text,
      stopReason: row.stop_reason,
      model: row.reported_model,
      usage: {
        input_tokens: row.input_tokens,
        output_tokens: row.output_tokens,
        cache_read_input_tokens: row.cache_read_tokens,
        cache_creation_input_tokens: row.cache_write_tokens,
      },
      ...(row.request_id === null ? {} : { requestId: row.request_id }),
      latencyMs: row.latency_ms,
      mode: row.mode,
      responseDigest: row.response_digest,
    };
  }

  /** Whether any answer is stored (one index probe). */
  hasAnyResponse(): boolean {
    return this.sql('SELECT 1 FROM llm_responses LIMIT 1').get() !== undefined;
  }

  /** The request keys that have answers (from the key index alone), or undefined when there are more than `limit`. */
  answeredKeys(limit: number): Set<string> | undefined {
    return distinctValues(this.sql('SELECT request_key FROM llm_responses LIMIT ?'), limit);
  }

  /** The prefix digests that have answers (from the prefix index alone), or undefined when there are more than `limit`. */
  answeredPrefixes(limit: number): Set<string> | undefined {
    return distinctValues(this.sql('SELECT DISTINCT prefix_digest FROM llm_responses LIMIT ?'), limit);
  }

  /**
   * The turns of the answered requests, read once from their stored requests (at most `limit` rows, else undefined):
   * what a planner needs to rule a request out without its key or its prefix digest. A request whose last message
   * no answered request ends with has no answer; one whose few-shot turns no answered request has shares no prefix
   * with an answer.
   */
  answeredTurns(limit: number): AnsweredTurns | undefined {
    const lastMessages = new Set<string>();
    const shotSequences = new Set<string>();
    let turnsShared = true;
    let rows = 0;
    for (const [requestJson] of this.sql('SELECT request_json FROM llm_responses LIMIT ?').raw(true).iterate(limit + 1) as Iterable<[string]>) {
      if (++rows > limit) return undefined;
      const messages = (JSON.parse(requestJson) as { messages?: Json }).messages;
      if (Array.isArray(messages) && messages.length > 0) {
        lastMessages.add(canonicalJson(messages[messages.length - 1]));
        // A request stored before turns were shared keeps them inline: they have no ids to compare.
        if (messages.length === 1) shotSequences.add('');
        else turnsShared = false;
      } else if (isJsonObject(messages) && Array.isArray(messages.$turns) && messages.last !== undefined) {
        lastMessages.add(canonicalJson(messages.last));
        shotSequences.add(messages.$turns.join(','));
      } else return undefined;
    }
    if (!turnsShared) return { lastMessages };
    const turnIds = new Map<string, number>();
    for (const [id, text] of this.sql('SELECT id, text FROM llm_texts LIMIT ?').raw(true).iterate(limit + 1) as Iterable<[number, string]>) {
      if (turnIds.size >= limit) return { lastMessages };
      turnIds.set(text, id);
    }
    return { lastMessages, shots: { turnIds, sequences: shotSequences } };
  }

  hasResponse(key: ItemKey): boolean {
    return this.sql('SELECT 1 FROM llm_responses WHERE request_key = ?').get(key) !== undefined;
  }

  /** Stores a paid answer (committed at once: a kill loses at most the calls in flight) and returns it. */
  saveReply(paid: PaidReply): StoredResponse {
    const row = this.responseRow(this.recordOf(paid));
    this.transaction(() => this.insertResponse(row));
    return this.storedOf(paid, row.responseDigest);
  }

  /** saveReply, committed with the other leases and answers of this turn of the event loop; resolves once committed. */
  async saveReplyGrouped(paid: PaidReply): Promise<StoredResponse> {
    const row = this.responseRow(this.recordOf(paid));
    await this.group.add(() => this.insertResponse(row));
    return this.storedOf(paid, row.responseDigest);
  }

  private recordOf(paid: PaidReply): ResponseRecord {
    const { reply } = paid;
    return {
      key: paid.key,
      provider: paid.provider,
      request: paid.request,
      serialized: paid.serialized,
      sample: paid.sample,
      raw: reply.raw,
      text: reply.text,
      stopReason: reply.stopReason,
      reportedModel: reply.model,
      usage: reply.usage,
      ...(reply.requestId === undefined ? {} : { requestId: reply.requestId }),
      latencyMs: paid.latencyMs,
      mode: paid.mode,
      costUsd: paid.costUsd,
      savingsUsd: paid.savingsUsd,
      nodeId: paid.nodeId,
    };
  }

  private storedOf(paid: PaidReply, responseDigest: Digest): StoredResponse {
    const { reply } = paid;
    const requestId = reply.requestId === undefined ? {} : { requestId: reply.requestId };
    return { text: reply.text, stopReason: reply.stopReason, model: reply.model, usage: reply.usage, ...requestId, latencyMs: paid.latencyMs, mode: paid.mode, responseDigest };
  }

  /** The work of storing an answer that needs no transaction: the raw body's digest and its deflated form. */
  private responseRow(record: ResponseRecord): ResponseRow {
    const rawJson = canonicalJson(record.raw);
    return { record, responseDigest: sha256(rawJson), rawDeflated: deflateRawSync(rawJson, DEFLATE_SMALL) };
  }

  /** Inserts an answer and drops its lease and batch intent; runs inside the caller's transaction. */
  private insertResponse({ record, responseDigest, rawDeflated }: ResponseRow): void {
    const requestJson = this.compactRequest(record.request, record.serialized);
    this.sql(
      `INSERT OR IGNORE INTO llm_responses (request_key, provider, request_model, sample, prefix_digest, request_json,
         raw_json, response_digest, text, stop_reason, input_tokens, output_tokens, cache_read_tokens,
         cache_write_tokens, reported_model, request_id, latency_ms, mode, cost_usd, savings_usd, node_id, created)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      record.key,
      record.provider,
      record.request.model,
      record.sample,
      record.serialized.prefixDigest,
      requestJson,
      rawDeflated,
      responseDigest,
      record.text,
      record.stopReason,
      record.usage.input_tokens,
      record.usage.output_tokens,
      record.usage.cache_read_input_tokens,
      record.usage.cache_creation_input_tokens,
      record.reportedModel,
      record.requestId ?? null,
      Math.round(record.latencyMs),
      record.mode,
      record.costUsd,
      record.savingsUsd,
      record.nodeId,
      Date.now(),
    );
    this.sql('DELETE FROM llm_leases WHERE request_key = ?').run(record.key);
    this.sql('DELETE FROM llm_batch_items WHERE request_key = ?').run(record.key);
  }

  /**
   * The request as stored for audit, with what many requests share kept once in llm_texts: the system prompt
   * (referenced as {"$text": id}) and every turn but the last (messages become {"$turns": [ids], "last": message}).
   * A SynCSE request's exemplars are drawn from a small pool, so most of each body is text the cache already has.
   */
  private compactRequest(request: LlmRequest, serialized: SerializedRequest): string {
    const shared: Record<string, string> = {};
    if (typeof request.system === 'string' && request.system.length >= SHARED_TEXT_MIN) shared.system = `{"$text":${this.textId(request.system)}}`;
    const messages = serialized.messages;
    if (messages.length > 1) shared.messages = `{"$turns":[${messages.slice(0, -1).map((m) => this.textId(m)).join(',')}],"last":${messages[messages.length - 1]!}}`;
    else shared.messages = `[${messages.join(',')}]`;
    return canonicalJsonWith(request, shared);
  }

  private textId(text: string): number {
    const known = this.textIds.get(text);
    if (known !== undefined) return known;
    this.sql('INSERT OR IGNORE INTO llm_texts (text) VALUES (?)').run(text);
    const id = (this.sql('SELECT id FROM llm_texts WHERE text = ?').get(text) as { id: number }).id;
    if (this.textIds.size >= TEXT_ID_MEMO) this.textIds.clear();
    this.textIds.set(text, id);
    return id;
  }

  /** The stored request of a key, exactly as it was sent (shared texts put back), for audit. */
  storedRequest(key: ItemKey): LlmRequest | undefined {
    const row = this.sql('SELECT request_json FROM llm_responses WHERE request_key = ?').get(key) as { request_json: string } | undefined;
    if (row === undefined) return undefined;
    const textOf = (id: number) => (this.sql('SELECT text FROM llm_texts WHERE id = ?').get(id) as { text: string }).text;
    const request = JSON.parse(row.request_json) as Record<string, Json>;
    const system = request.system;
    if (isJsonObject(system) && typeof system.$text === 'number') request.system = textOf(system.$text);
    const messages = request.messages;
    if (isJsonObject(messages) && Array.isArray(messages.$turns)) {
      request.messages = [...messages.$turns.map((id) => JSON.parse(textOf(id as number)) as Json), messages.last!];
    }
    return request as unknown as LlmRequest;
  }

  /** The provider's response body as it was received. */
  storedRaw(key: ItemKey): Json | undefined {
    const row = this.sql('SELECT raw_json FROM llm_responses WHERE request_key = ?').get(key) as { raw_json: string | Buffer } | undefined;
    return row === undefined ? undefined : (JSON.parse(rawJsonText(row.raw_json)) as Json);
  }

  /** Mean output tokens of cached answers to requests with the same prefix (model, system, few-shot turns). */
  meanOutputTokens(prefixDigest: Digest): number | undefined {
    const row = this.sql('SELECT avg(output_tokens) AS mean, count(*) AS n FROM llm_responses WHERE prefix_digest = ?')
      .get(prefixDigest) as { mean: number | null; n: number };
    return row.n > 0 && row.mean !== null ? row.mean : undefined;
  }

  spendByNode(): LlmSpend[] {
    return readLlmSpend(this.store);
  }

  // --- Leases: one process pays for a request key; the others wait for its answer. ---

  /** Claims the right to pay for a key, unless it is answered already or another live owner holds it. */
  claim(key: ItemKey): ClaimResult {
    return this.store.transaction(() => this.claimInTransaction(key));
  }

  /** claim, committed with the other leases and answers of this turn of the event loop; resolves once committed. */
  claimGrouped(key: ItemKey): Promise<ClaimResult> {
    return this.group.add(() => this.claimInTransaction(key));
  }

  private claimInTransaction(key: ItemKey): ClaimResult {
    if (this.hasResponse(key)) return 'cached';
    const row = this.sql('SELECT owner, pid, host, heartbeat FROM llm_leases WHERE request_key = ?').get(key) as
      | { owner: string; pid: number; host: string; heartbeat: number }
      | undefined;
    if (row !== undefined && row.owner !== this.owner && !this.isStale(row)) return 'held';
    this.sql('INSERT OR REPLACE INTO llm_leases (request_key, owner, pid, host, heartbeat) VALUES (?, ?, ?, ?, ?)')
      .run(key, this.owner, process.pid, this.host, Date.now());
    return 'claimed';
  }

  release(key: ItemKey): void {
    this.sql('DELETE FROM llm_leases WHERE request_key = ? AND owner = ?').run(key, this.owner);
  }

  heartbeat(): void {
    this.sql('UPDATE llm_leases SET heartbeat = ? WHERE owner = ?').run(Date.now(), this.owner);
  }

  private isStale(row: { owner: string; pid: number; host: string; heartbeat: number }): boolean {
    if (row.host === this.host) {
      if (row.pid === process.pid) return !liveOwners.has(row.owner);
      if (!pidAlive(row.pid)) return true;
    }
    return Date.now() - row.heartbeat > this.leaseStaleMs;
  }

  // --- Batch intents ---

  batchItem(key: ItemKey): BatchItemRow | undefined {
    return this.sql('SELECT * FROM llm_batch_items WHERE request_key = ?').get(key) as BatchItemRow | undefined;
  }

  batchItemByCustomId(batchId: string, customId: string): BatchItemRow | undefined {
    return this.sql('SELECT * FROM llm_batch_items WHERE batch_id = ? AND custom_id = ?').get(batchId, customId) as
      | BatchItemRow
      | undefined;
  }

  itemsOfBatch(batchId: string): BatchItemRow[] {
    return this.sql('SELECT * FROM llm_batch_items WHERE batch_id = ?').all(batchId) as BatchItemRow[];
  }

  /** Written before a batch is created: which requests are about to be paid for. */
  recordIntent(items: readonly Omit<BatchItemRow, 'batch_id' | 'attempts'>[]): void {
    this.store.transaction(() => {
      const upsert = this.sql(
        `INSERT INTO llm_batch_items (request_key, custom_id, provider, sample, request_json, node_id, batch_id, attempts, created)
         VALUES (?, ?, ?, ?, ?, ?, NULL, 0, ?)
         ON CONFLICT (request_key) DO UPDATE SET batch_id = NULL`,
      );
      for (const item of items) upsert.run(item.request_key, item.custom_id, item.provider, item.sample, item.request_json, item.node_id, Date.now());
    });
  }

  /** Recorded the moment the provider returns the batch id, so a new process polls it instead of resubmitting. */
  recordBatch(batchId: string, provider: ProviderName, keys: readonly ItemKey[]): void {
    this.store.transaction(() => {
      this.sql(`INSERT OR REPLACE INTO llm_batches (batch_id, provider, state, request_count, created, finished) VALUES (?, ?, 'in_progress', ?, ?, NULL)`)
        .run(batchId, provider, keys.length, Date.now());
      const assign = this.sql('UPDATE llm_batch_items SET batch_id = ?, attempts = attempts + 1 WHERE request_key = ?');
      for (const key of keys) assign.run(batchId, key);
    });
  }

  /** The provider no longer knows the batch: its items are resubmitted when next asked for. */
  forgetBatch(batchId: string): void {
    this.store.transaction(() => {
      this.sql('UPDATE llm_batch_items SET batch_id = NULL WHERE batch_id = ?').run(batchId);
      this.sql(`UPDATE llm_batches SET state = 'lost', finished = ? WHERE batch_id = ?`).run(Date.now(), batchId);
    });
  }

  /** Detaches an errored/expired item from its batch so it is resubmitted; returns its attempts so far. */
  detachBatchItem(key: ItemKey): number {
    this.sql('UPDATE llm_batch_items SET batch_id = NULL WHERE request_key = ?').run(key);
    return this.batchItem(key)?.attempts ?? 0;
  }

  dropBatchItem(key: ItemKey): void {
    this.sql('DELETE FROM llm_batch_items WHERE request_key = ?').run(key);
  }

  finishBatch(batchId: string): void {
    this.sql(`UPDATE llm_batches SET state = 'collected', finished = ? WHERE batch_id = ?`).run(Date.now(), batchId);
  }

  batchIds(): { batchId: string; state: string; requestCount: number }[] {
    return (this.sql('SELECT batch_id, state, request_count FROM llm_batches ORDER BY created').all() as {
      batch_id: string;
      state: string;
      request_count: number;
    }[]).map((r) => ({ batchId: r.batch_id, state: r.state, requestCount: r.request_count }));
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Spend per node, provider, model and mode, from the responses in the cache (no service or API key needed). */
export function readLlmSpend(store: Store): LlmSpend[] {
  // Works on a read-only store too: no table yet means nothing was spent.
  if (store.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'llm_responses'`).get() === undefined) return [];
  const rows = store.db
    .prepare(
      `SELECT node_id, provider, request_model, mode, count(*) AS requests, sum(input_tokens) AS input,
              sum(output_tokens) AS output, sum(cache_read_tokens) AS cache_read, sum(cache_write_tokens) AS cache_write,
              sum(cost_usd) AS cost, sum(savings_usd) AS savings
         FROM llm_responses GROUP BY node_id, provider, request_model, mode ORDER BY node_id, provider, request_model, mode`,
    )
    .all() as {
    node_id: string;
    provider: ProviderName;
    request_model: string;
    mode: CallMode;
    requests: number;
    input: number;
    output: number;
    cache_read: number;
    cache_write: number;
    cost: number;
    savings: number;
  }[];
  return rows.map((r) => ({
    nodeId: r.node_id,
    provider: r.provider,
    model: r.request_model,
    mode: r.mode,
    requests: r.requests,
    usage: { input_tokens: r.input, output_tokens: r.output, cache_read_input_tokens: r.cache_read, cache_creation_input_tokens: r.cache_write },
    costUsd: r.cost,
    cacheSavingsUsd: r.savings,
  }));
}
