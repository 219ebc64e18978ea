/**
 * The engine's tables in the cache database: completed node runs by key, the history of runs, the last key record of
 * each (pipeline, variant, node) for `plan --explain`, item results, checkpoints, memoized files and locks.
 */
import { hostname } from 'node:os';
import type { Statement } from 'better-sqlite3';
import type { Store } from '../cache/store.js';
import type { Digest, Json, NodeKey } from './json.js';
import type { NodeKeyRecord } from './keys.js';
import type { NodeStats } from './node-type.js';

export type OutputRecord =
  | { form: 'rows'; digest: Digest; count: number }
  | { form: 'file'; digest: Digest; file: Digest; meta: { [key: string]: Json } };

export interface NodeRunRecord {
  key: NodeKey;
  type: string;
  record: NodeKeyRecord;
  outputs: Record<string, OutputRecord>;
  /** False when some items failed: the output is usable, but a rerun retries the failed items. */
  complete: boolean;
  failures: number;
  stats: NodeStats;
  ms: number;
  finished: number;
}

export type NodeState = 'cached' | 'ran' | 'partial' | 'failed' | 'interrupted' | 'skipped';

export interface HistoryRow {
  runId: string;
  pipeline: string;
  variant: string;
  nodeId: string;
  type: string;
  key: string;
  state: NodeState;
  ms: number;
  itemsCached: number;
  itemsRan: number;
  itemsFailed: number;
  failureReasons: Record<string, number>;
  at: number;
  /** What the node paid in this run (LLM requests, tokens, USD), when it paid anything. */
  spend?: Json;
}

export interface RunRow {
  runId: string;
  pipeline: string;
  variant: string;
  argv: string[];
  status: string;
  started: number;
  finished: number | null;
}

export interface RunNodeRow {
  nodeId: string;
  type: string;
  /** This run's spend of the node; undefined when it paid nothing (or did not finish). */
  spend?: Json;
}

const DDL = `
CREATE TABLE IF NOT EXISTS node_runs (
  key TEXT PRIMARY KEY, type TEXT NOT NULL, record TEXT NOT NULL, outputs TEXT NOT NULL,
  complete INTEGER NOT NULL, failures INTEGER NOT NULL, stats TEXT NOT NULL, ms INTEGER NOT NULL, finished INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, variant TEXT NOT NULL, argv TEXT NOT NULL,
  started INTEGER NOT NULL, finished INTEGER, status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS node_history (
  run_id TEXT NOT NULL, node_id TEXT NOT NULL, pipeline TEXT NOT NULL, variant TEXT NOT NULL, type TEXT NOT NULL,
  key TEXT NOT NULL, state TEXT NOT NULL, ms INTEGER NOT NULL, items_cached INTEGER NOT NULL, items_ran INTEGER NOT NULL,
  items_failed INTEGER NOT NULL, failure_reasons TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (run_id, node_id)
);
CREATE INDEX IF NOT EXISTS node_history_by_node ON node_history (node_id, at);
CREATE TABLE IF NOT EXISTS run_nodes (
  run_id TEXT NOT NULL, node_id TEXT NOT NULL, position INTEGER NOT NULL, type TEXT NOT NULL, spend TEXT,
  PRIMARY KEY (run_id, node_id)
);
CREATE TABLE IF NOT EXISTS last_keys (
  pipeline TEXT NOT NULL, variant TEXT NOT NULL, node_id TEXT NOT NULL, key TEXT NOT NULL, record TEXT NOT NULL,
  file_names TEXT NOT NULL, PRIMARY KEY (pipeline, variant, node_id)
);
CREATE TABLE IF NOT EXISTS items (key TEXT PRIMARY KEY, ok INTEGER NOT NULL, value TEXT, reason TEXT, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (node_key TEXT NOT NULL, name TEXT NOT NULL, digest TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (node_key, name));
CREATE TABLE IF NOT EXISTS memo_files (key TEXT PRIMARY KEY, digest TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS locks (name TEXT PRIMARY KEY, pid INTEGER NOT NULL, host TEXT NOT NULL, beat INTEGER NOT NULL);
`;

/** A lock whose holder has not beaten its heart for this long is taken over (the holder froze or died elsewhere). */
const STALE_LOCK_MS = 120_000;

export class RunStore {
  /** Bookkeeping writes (history, last keys) gathered so that a no-op rerun commits once, not twice per node. */
  private deferred: (() => void)[] = [];

  constructor(readonly store: Store) {
    store.ensureTables('engine', DDL);
  }

  get db() {
    return this.store.db;
  }

  private sql(text: string): Statement {
    return this.store.sql(text);
  }

  /** Commits the deferred bookkeeping writes in one transaction. */
  flushDeferred(): void {
    if (this.deferred.length === 0) return;
    const writes = this.deferred;
    this.deferred = [];
    this.store.transaction(() => writes.forEach((w) => w()));
  }

  getRun(key: NodeKey): NodeRunRecord | undefined {
    const row = this.sql('SELECT * FROM node_runs WHERE key = ?').get(key) as
      | { key: NodeKey; type: string; record: string; outputs: string; complete: number; failures: number; stats: string; ms: number; finished: number }
      | undefined;
    if (row === undefined) return undefined;
    try {
      return {
        key: row.key,
        type: row.type,
        record: JSON.parse(row.record) as NodeKeyRecord,
        outputs: JSON.parse(row.outputs) as Record<string, OutputRecord>,
        complete: row.complete === 1,
        failures: row.failures,
        stats: JSON.parse(row.stats) as NodeStats,
        ms: row.ms,
        finished: row.finished,
      };
    } catch {
      // An unreadable entry is a miss, never a crash.
      return undefined;
    }
  }

  putRun(run: NodeRunRecord): void {
    this.sql('INSERT OR REPLACE INTO node_runs (key, type, record, outputs, complete, failures, stats, ms, finished) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(run.key, run.type, JSON.stringify(run.record), JSON.stringify(run.outputs), run.complete ? 1 : 0, run.failures, JSON.stringify(run.stats), run.ms, run.finished);
  }


  /** Records the run and every node it will consider, so a killed run still lists them all. */
  startRun(runId: string, pipeline: string, variant: string, argv: string[], nodes: readonly { id: string; type: string }[] = []): void {
    this.store.transaction(() => {
      this.sql('INSERT OR REPLACE INTO runs (run_id, pipeline, variant, argv, started, status) VALUES (?, ?, ?, ?, ?, ?)').run(runId, pipeline, variant, JSON.stringify(argv), Date.now(), 'running');
      const insert = this.sql('INSERT OR REPLACE INTO run_nodes (run_id, node_id, position, type, spend) VALUES (?, ?, ?, ?, NULL)');
      nodes.forEach((node, position) => insert.run(runId, node.id, position, node.type));
    });
  }

  runNodes(runId: string): RunNodeRow[] {
    const rows = this.sql('SELECT node_id, type, spend FROM run_nodes WHERE run_id = ? ORDER BY position').all(runId) as { node_id: string; type: string; spend: string | null }[];
    return rows.map((r) => ({ nodeId: r.node_id, type: r.type, ...(r.spend === null ? {} : { spend: JSON.parse(r.spend) as Json }) }));
  }

  /** Past runs, newest first (of one pipeline file when given). */
  listRuns(pipeline?: string, limit = 50): RunRow[] {
    const rows = (pipeline === undefined
      ? this.sql('SELECT * FROM runs ORDER BY started DESC LIMIT ?').all(limit)
      : this.sql('SELECT * FROM runs WHERE pipeline = ? ORDER BY started DESC LIMIT ?').all(pipeline, limit)) as { run_id: string; pipeline: string; variant: string; argv: string; status: string; started: number; finished: number | null }[];
    return rows.map((r) => ({ runId: r.run_id, pipeline: r.pipeline, variant: r.variant, argv: JSON.parse(r.argv) as string[], status: r.status, started: r.started, finished: r.finished }));
  }

  /** The run whose id starts with `prefix` (ids are UUIDs; 8 characters are shown); undefined if none or several. */
  findRun(prefix: string): RunRow | 'ambiguous' | undefined {
    const rows = this.sql("SELECT run_id FROM runs WHERE run_id LIKE ? || '%' LIMIT 2").all(prefix) as { run_id: string }[];
    if (rows.length > 1) return 'ambiguous';
    if (rows.length === 0) return undefined;
    const row = this.sql('SELECT * FROM runs WHERE run_id = ?').get(rows[0]!.run_id) as { run_id: string; pipeline: string; variant: string; argv: string; status: string; started: number; finished: number | null };
    return { runId: row.run_id, pipeline: row.pipeline, variant: row.variant, argv: JSON.parse(row.argv) as string[], status: row.status, started: row.started, finished: row.finished };
  }

  finishRun(runId: string, status: string): void {
    this.sql('UPDATE runs SET finished = ?, status = ? WHERE run_id = ?').run(Date.now(), status, runId);
  }

  recordHistory(row: HistoryRow): void {
    this.deferred.push(() => this.sql(
        `INSERT OR REPLACE INTO node_history (run_id, node_id, pipeline, variant, type, key, state, ms, items_cached, items_ran, items_failed, failure_reasons, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(row.runId, row.nodeId, row.pipeline, row.variant, row.type, row.key, row.state, row.ms, row.itemsCached, row.itemsRan, row.itemsFailed, JSON.stringify(row.failureReasons), row.at));
    if (row.spend !== undefined) {
      this.deferred.push(() => this.sql('UPDATE run_nodes SET spend = ? WHERE run_id = ? AND node_id = ?').run(JSON.stringify(row.spend), row.runId, row.nodeId));
    }
  }

  /** The last key of every node of a pipeline and variant, read in one query (record JSON parsed on demand). */
  lastKeys(pipeline: string, variant: string): Map<string, { key: NodeKey; record: () => NodeKeyRecord; fileNames: () => string[] }> {
    const rows = this.sql('SELECT node_id, key, record, file_names FROM last_keys WHERE pipeline = ? AND variant = ?').all(pipeline, variant) as {
      node_id: string;
      key: NodeKey;
      record: string;
      file_names: string;
    }[];
    return new Map(rows.map((r) => [r.node_id, { key: r.key, record: () => JSON.parse(r.record) as NodeKeyRecord, fileNames: () => JSON.parse(r.file_names) as string[] }]));
  }

  /** Outputs and stats of a completed node run, without parsing its key record (the no-op rerun path). */
  getCompleted(key: NodeKey): Pick<NodeRunRecord, 'outputs' | 'stats'> | undefined {
    const row = this.sql('SELECT outputs, stats FROM node_runs WHERE key = ? AND complete = 1').get(key) as { outputs: string; stats: string } | undefined;
    if (row === undefined) return undefined;
    try {
      return { outputs: JSON.parse(row.outputs) as Record<string, OutputRecord>, stats: JSON.parse(row.stats) as NodeStats };
    } catch {
      return undefined;
    }
  }


  setLastKey(pipeline: string, variant: string, nodeId: string, key: NodeKey, record: NodeKeyRecord, fileNames: string[]): void {
    this.deferred.push(() => this.sql('INSERT OR REPLACE INTO last_keys (pipeline, variant, node_id, key, record, file_names) VALUES (?, ?, ?, ?, ?, ?)')
      .run(pipeline, variant, nodeId, key, JSON.stringify(record), JSON.stringify(fileNames)));
  }

  latestRun(pipeline?: string): { runId: string; pipeline: string; variant: string; status: string; started: number; finished: number | null } | undefined {
    const row = (pipeline === undefined
      ? this.sql('SELECT * FROM runs ORDER BY started DESC LIMIT 1').get()
      : this.sql('SELECT * FROM runs WHERE pipeline = ? ORDER BY started DESC LIMIT 1').get(pipeline)) as
      | { run_id: string; pipeline: string; variant: string; status: string; started: number; finished: number | null }
      | undefined;
    return row && { runId: row.run_id, pipeline: row.pipeline, variant: row.variant, status: row.status, started: row.started, finished: row.finished };
  }

  history(runId: string): HistoryRow[] {
    const rows = this.sql('SELECT * FROM node_history WHERE run_id = ? ORDER BY at, rowid').all(runId) as Array<Record<string, unknown>>;
    return rows.map(toHistory);
  }

  /** The most recent history row of a node id (for `show` and `export` without a pipeline file). */
  latestNode(nodeId: string, pipeline?: string): HistoryRow | undefined {
    const row = (pipeline === undefined
      ? this.sql(`SELECT * FROM node_history WHERE node_id = ? AND state IN ('cached','ran','partial') ORDER BY at DESC LIMIT 1`).get(nodeId)
      : this.sql(`SELECT * FROM node_history WHERE node_id = ? AND pipeline = ? AND state IN ('cached','ran','partial') ORDER BY at DESC LIMIT 1`).get(nodeId, pipeline)) as
      | Record<string, unknown>
      | undefined;
    return row && toHistory(row);
  }

  /** Tries to take a named lock; false when a live process holds it. */
  tryLock(name: string): boolean {
    const host = hostname();
    return this.store.transaction(() => {
      const row = this.sql('SELECT pid, host, beat FROM locks WHERE name = ?').get(name) as { pid: number; host: string; beat: number } | undefined;
      if (row && !(row.pid === process.pid && row.host === host)) {
        const dead = row.host === host && !processAlive(row.pid);
        const stale = Date.now() - row.beat > STALE_LOCK_MS;
        if (!dead && !stale) return false;
      }
      this.sql('INSERT OR REPLACE INTO locks (name, pid, host, beat) VALUES (?, ?, ?, ?)').run(name, process.pid, host, Date.now());
      return true;
    });
  }

  beat(names: Iterable<string>): void {
    const stmt = this.sql('UPDATE locks SET beat = ? WHERE name = ? AND pid = ?');
    const now = Date.now();
    for (const name of names) stmt.run(now, name, process.pid);
  }

  unlock(name: string): void {
    this.sql('DELETE FROM locks WHERE name = ? AND pid = ?').run(name, process.pid);
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function toHistory(row: Record<string, unknown>): HistoryRow {
  return {
    runId: row.run_id as string,
    pipeline: row.pipeline as string,
    variant: row.variant as string,
    nodeId: row.node_id as string,
    type: row.type as string,
    key: row.key as string,
    state: row.state as NodeState,
    ms: row.ms as number,
    itemsCached: row.items_cached as number,
    itemsRan: row.items_ran as number,
    itemsFailed: row.items_failed as number,
    failureReasons: JSON.parse(row.failure_reasons as string) as Record<string, number>,
    at: row.at as number,
  };
}
