import Database from 'better-sqlite3';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isWritable, openReadable, Store, StoreError } from '../../cache/store.js';
import { sha256, type Digest } from '../json.js';
import { rawJsonText } from '../llm/llm-store.js';
import type { OutputRecord } from '../run-store.js';
import { parseCommandArgs } from './args.js';
import { findCacheDir } from './cache-dir.js';

const USAGE = 'synthcse doctor [--repair] [--cache DIR]';
/** Lines of SQLite's integrity report shown; the rest is counted. */
const INTEGRITY_LINES_SHOWN = 3;

interface Finding {
  problem: string;
  repair: string;
}

/**
 * Checks the cache: SQLite integrity, every artifact against its digest, every stored LLM answer against its digest,
 * node results whose artifacts are gone. With --repair, drops what is damaged so that the next run recomputes it
 * (never serving a damaged entry as a hit); a damaged database is salvaged row by row into a fresh file, so paid LLM
 * answers and finished items that can still be read are kept.
 */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('doctor', argv, { repair: { type: 'boolean' }, cache: { type: 'string' } }, USAGE);
  const dir = findCacheDir({ cache: values.cache }, USAGE);
  const repair = values.repair === true;
  if (!existsSync(join(dir, 'cache.db'))) {
    process.stdout.write(`✓ ${dir}: no cache database yet (nothing has run with this cache).\n`);
    return 0;
  }
  if (!isWritable(dir) || !isWritable(join(dir, 'cache.db'))) return checkReadOnly(dir, repair);
  let store: Store;
  try {
    store = new Store(dir);
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    process.stdout.write(`✗ ${error.message}\n`);
    if (error.reason === 'newer-schema') {
      process.stdout.write(`  fix: ${error.hint}\n`);
      return 1;
    }
    if (!repair) {
      process.stdout.write(
        error.reason === 'old-schema'
          ? `  fix: run "synthcse doctor --repair --cache ${dir}" to move it aside and start a fresh cache (its entries cannot be used as hits).\n`
          : `  fix: run "synthcse doctor --repair --cache ${dir}": it keeps every row that can still be read and moves the damaged file aside.\n`,
      );
      return 1;
    }
    if (error.reason === 'corrupt-database') return salvageAndReport(dir);
    const moved = moveAside(dir);
    process.stdout.write(`  repaired: moved the database to ${moved}; the next run starts an empty cache.\n`);
    return 0;
  }

  const integrity = integrityProblems(store);
  if (integrity.length > 0) {
    process.stdout.write(`✗ SQLite integrity check failed: ${summarize(integrity)}\n`);
    if (!repair) {
      process.stdout.write(
        `  fix: run "synthcse doctor --repair --cache ${dir}": it keeps every row that can still be read and moves the damaged file aside.\n` +
          'Damaged rows are never used as cache hits: a read that fails is a miss or an error, never a wrong answer.\n',
      );
      store.close();
      return 1;
    }
    store.close();
    const code = salvageAndReport(dir);
    if (code !== 0) return code;
    // Check what was salvaged like any other cache.
    store = new Store(dir);
  }

  const findings = checkContents(store);
  if (findings.list.length === 0) {
    process.stdout.write(`✓ ${dir}: database ok, ${findings.artifacts} artifacts verified, ${findings.responses} LLM answers verified, ${findings.runs} node results consistent.\n`);
    store.close();
    return 0;
  }
  for (const f of findings.list) process.stdout.write(`✗ ${f.problem}\n    ${repair ? 'repaired' : 'repair'}: ${f.repair}\n`);
  if (!repair) {
    process.stdout.write(`Run "synthcse doctor --repair --cache ${dir}" to repair; damaged entries are never used as cache hits meanwhile.\n`);
    store.close();
    return 1;
  }
  findings.repair();
  store.close();
  process.stdout.write(`Repaired ${findings.list.length} problem(s); run the pipeline again to recompute what was dropped.\n`);
  return 0;
}

/** A cache this user cannot write is not damaged: say so, and check its contents from a snapshot without repairing. */
function checkReadOnly(dir: string, repair: boolean): number {
  process.stdout.write(
    `✗ ${dir} is read-only for this user: runs cannot use it (status, show, export and report can read it).\n` +
      `  fix: make it writable (chmod -R u+w ${dir}), or run with --cache pointing at a writable folder.\n`,
  );
  const { store } = openReadable(dir);
  try {
    const integrity = integrityProblems(store);
    const findings = integrity.length > 0 ? undefined : checkContents(store);
    if (integrity.length > 0) process.stdout.write(`✗ SQLite integrity check failed: ${summarize(integrity)}\n`);
    else if (findings!.list.length === 0) {
      process.stdout.write(`✓ its contents: database ok, ${findings!.artifacts} artifacts verified, ${findings!.responses} LLM answers verified, ${findings!.runs} node results consistent.\n`);
    } else for (const f of findings!.list) process.stdout.write(`✗ ${f.problem}\n`);
    if (repair) process.stdout.write('  Nothing was repaired: a read-only cache cannot be changed.\n');
  } finally {
    store.close();
  }
  return 1;
}

function integrityProblems(store: Store): string[] {
  try {
    const rows = store.db.pragma('integrity_check') as { integrity_check: string }[];
    const lines = rows.flatMap((r) => r.integrity_check.split('\n')).filter((l) => l !== 'ok' && !l.startsWith('*** in database'));
    return lines;
  } catch (error) {
    return [(error as Error).message];
  }
}

function summarize(lines: readonly string[]): string {
  const shown = lines.slice(0, INTEGRITY_LINES_SHOWN).join('; ');
  return lines.length > INTEGRITY_LINES_SHOWN ? `${shown}; … and ${lines.length - INTEGRITY_LINES_SHOWN} more` : shown;
}

interface Contents {
  list: Finding[];
  artifacts: number;
  responses: number;
  runs: number;
  repair(): void;
}

/** Artifacts against their digests, LLM answers against theirs, node results against their artifacts. */
function checkContents(store: Store): Contents {
  const list: Finding[] = [];
  const bad = new Set<string>();
  const artifacts = store.db.prepare('SELECT digest, in_file, data FROM artifacts').all() as { digest: string; in_file: number; data: Buffer | null }[];
  for (const a of artifacts) {
    if (a.in_file === 1) {
      const path = store.artifactPath(a.digest as Digest);
      if (!existsSync(path)) {
        list.push({ problem: `artifact file missing: ${path}`, repair: 'drop it and the results that use it; they are recomputed' });
        bad.add(a.digest);
      } else if (sha256(readFileSync(path)) !== a.digest) {
        list.push({ problem: `artifact file damaged (bytes do not match digest): ${path}`, repair: 'drop it and the results that use it; they are recomputed' });
        bad.add(a.digest);
      }
    } else if (sha256(a.data ?? Buffer.alloc(0)) !== a.digest) {
      list.push({ problem: `artifact ${a.digest.slice(0, 12)} in the database does not match its digest`, repair: 'drop it and the results that use it; they are recomputed' });
      bad.add(a.digest);
    }
  }
  const known = new Set(artifacts.map((a) => a.digest));
  const present = (d: string) => known.has(d) && !bad.has(d);

  const runs = tableExists(store, 'node_runs') ? (store.db.prepare('SELECT key, outputs FROM node_runs').all() as { key: string; outputs: string }[]) : [];
  const badRuns = runs.filter((r) => {
    try {
      return Object.values(JSON.parse(r.outputs) as Record<string, OutputRecord>).some((o) => !present(o.form === 'rows' ? o.digest : o.file));
    } catch {
      return true;
    }
  });
  for (const r of badRuns) list.push({ problem: `node result ${r.key.slice(0, 12)} refers to a missing or damaged artifact`, repair: 'forget it; the node reruns (its items and LLM answers stay cached)' });

  const badResponses: string[] = [];
  let responses = 0;
  if (tableExists(store, 'llm_responses')) {
    for (const r of store.db.prepare('SELECT request_key, raw_json, response_digest FROM llm_responses').iterate() as Iterable<{ request_key: string; raw_json: string | Buffer; response_digest: string }>) {
      responses++;
      let raw: string | undefined;
      try {
        raw = rawJsonText(r.raw_json);
      } catch {
        raw = undefined; // not inflatable: damaged
      }
      if (raw === undefined || sha256(raw) !== r.response_digest) badResponses.push(r.request_key);
    }
  }
  if (badResponses.length > 0) list.push({ problem: `${badResponses.length} stored LLM answer(s) do not match their digest`, repair: 'drop them; the next run asks for them again' });

  const badItems = tableExists(store, 'items') ? unreadableItems(store) : [];
  if (badItems.length > 0) list.push({ problem: `${badItems.length} item result(s) are not valid JSON`, repair: 'drop them; the next run recomputes those items' });

  return {
    list,
    artifacts: artifacts.length,
    responses,
    runs: runs.length,
    repair() {
      store.transaction(() => {
        for (const d of bad) store.db.prepare('DELETE FROM artifacts WHERE digest = ?').run(d);
        for (const r of badRuns) store.db.prepare('DELETE FROM node_runs WHERE key = ?').run(r.key);
        for (const k of badResponses) store.db.prepare('DELETE FROM llm_responses WHERE request_key = ?').run(k);
        for (const k of badItems) store.db.prepare('DELETE FROM items WHERE key = ?').run(k);
        if (tableExists(store, 'memo_files')) store.db.prepare('DELETE FROM memo_files WHERE digest NOT IN (SELECT digest FROM artifacts)').run();
        if (tableExists(store, 'checkpoints')) store.db.prepare('DELETE FROM checkpoints WHERE digest NOT IN (SELECT digest FROM artifacts)').run();
      });
      for (const d of bad) rmSync(store.artifactPath(d as Digest), { force: true });
    },
  };
}

function unreadableItems(store: Store): string[] {
  const out: string[] = [];
  for (const r of store.db.prepare('SELECT key, value FROM items WHERE ok = 1').iterate() as Iterable<{ key: string; value: string | null }>) {
    try {
      JSON.parse(r.value ?? '');
    } catch {
      out.push(r.key);
    }
  }
  return out;
}

function tableExists(store: Store, name: string): boolean {
  return store.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/** Moves cache.db (and its WAL files) aside; returns the new name. */
function moveAside(dir: string): string {
  const moved = join(dir, `cache.db.broken-${Date.now()}`);
  renameSync(join(dir, 'cache.db'), moved);
  for (const suffix of ['-wal', '-shm']) if (existsSync(join(dir, 'cache.db' + suffix))) renameSync(join(dir, 'cache.db' + suffix), moved + suffix);
  return moved;
}

function salvageAndReport(dir: string): number {
  const result = salvage(dir);
  const moved = moveAside(dir);
  if (result === undefined) {
    process.stdout.write(`  repaired: nothing could be read; moved the database to ${moved}; the next run starts an empty cache.\n`);
    return 0;
  }
  renameSync(result.file, join(dir, 'cache.db'));
  const lost = result.damagedTables.length > 0 ? ` (tables with unreadable rows: ${result.damagedTables.join(', ')})` : '';
  process.stdout.write(
    `  repaired: kept ${result.rows} readable row(s) from ${result.tables} table(s)${lost} in a fresh database; the damaged file is at ${moved}. ` +
      'The next run recomputes what was lost.\n',
  );
  return 0;
}

/**
 * Copies every row that can still be read into a fresh database file (reading each table forwards, then backwards
 * from its end, so that rows on both sides of a damaged page are kept). Undefined when the schema itself is unreadable.
 */
function salvage(dir: string): { file: string; tables: number; rows: number; damagedTables: string[] } | undefined {
  let old: Database.Database;
  let schema: { type: string; name: string; sql: string }[];
  try {
    old = new Database(join(dir, 'cache.db'), { fileMustExist: true });
  } catch {
    return undefined;
  }
  try {
    schema = old.prepare("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'").all() as typeof schema;
  } catch {
    old.close();
    return undefined;
  }
  const file = join(dir, `cache.db.salvage-${process.pid}`);
  rmSync(file, { force: true });
  const fresh = new Database(file);
  let rows = 0;
  let tables = 0;
  const damagedTables: string[] = [];
  try {
    for (const t of schema.filter((s) => s.type === 'table')) {
      try {
        fresh.exec(t.sql);
      } catch {
        continue;
      }
      tables++;
      let columns: string[];
      try {
        columns = (old.prepare(`PRAGMA table_info("${t.name}")`).all() as { name: string }[]).map((c) => c.name);
      } catch {
        damagedTables.push(t.name);
        continue;
      }
      const insert = fresh.prepare(`INSERT OR IGNORE INTO "${t.name}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
      let damaged = false;
      for (const order of ['ASC', 'DESC']) {
        // Rows read before a damaged page are committed; the pass in the other direction picks up those after it.
        fresh.transaction(() => {
          try {
            for (const row of old.prepare(`SELECT * FROM "${t.name}" ORDER BY rowid ${order}`).raw().iterate() as Iterable<unknown[]>) {
              rows += insert.run(...row).changes;
            }
          } catch {
            damaged = true;
          }
        })();
      }
      if (damaged) damagedTables.push(t.name);
    }
    for (const i of schema.filter((s) => s.type === 'index')) {
      try {
        fresh.exec(i.sql);
      } catch {
        // An index that cannot be rebuilt (duplicate keys from damage) is left out; the tables create it again.
      }
    }
  } finally {
    fresh.close();
    old.close();
  }
  return { file, tables, rows, damagedTables };
}
