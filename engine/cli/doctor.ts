import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { Store, StoreError } from '../../cache/store.js';
import { sha256 } from '../json.js';
import type { OutputRecord } from '../run-store.js';
import { parseCommandArgs } from './args.js';
import { findCacheDir } from './cache-dir.js';

const USAGE = 'synthcse doctor [--repair] [--cache DIR]';

interface Finding {
  problem: string;
  repair: string;
}

/**
 * Checks the cache: SQLite integrity, every artifact against its digest, node results whose artifacts are gone.
 * With --repair, drops what is damaged so the next run recomputes it (never serving a damaged entry as a hit).
 */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('doctor', argv, { repair: { type: 'boolean' }, cache: { type: 'string' } }, USAGE);
  const dir = findCacheDir({ cache: values.cache }, USAGE);
  const repair = values.repair === true;
  let store: Store;
  try {
    store = new Store(dir);
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    process.stdout.write(`✗ ${error.message}\n`);
    if (repair && (error.reason === 'corrupt-database' || error.reason === 'old-schema')) {
      const moved = join(dir, `cache.db.broken-${Date.now()}`);
      renameSync(join(dir, 'cache.db'), moved);
      for (const suffix of ['-wal', '-shm']) if (existsSync(join(dir, 'cache.db' + suffix))) renameSync(join(dir, 'cache.db' + suffix), moved + suffix);
      process.stdout.write(`  repaired: moved the database to ${moved}; the next run starts an empty cache.\n`);
      return 0;
    }
    process.stdout.write(`  fix: ${error.hint}\n`);
    return 1;
  }
  const findings: Finding[] = [];
  const integrity = store.db.pragma('integrity_check') as { integrity_check: string }[];
  if (integrity.length !== 1 || integrity[0]!.integrity_check !== 'ok') {
    findings.push({ problem: `SQLite integrity check: ${integrity.map((r) => r.integrity_check).join('; ')}`, repair: 'move the database away (doctor --repair)' });
  }
  const badArtifacts: string[] = [];
  const artifacts = store.db.prepare('SELECT digest, in_file, data FROM artifacts').all() as { digest: string; in_file: number; data: Buffer | null }[];
  for (const a of artifacts) {
    if (a.in_file === 1) {
      const path = store.artifactPath(a.digest as never);
      if (!existsSync(path)) {
        findings.push({ problem: `artifact file missing: ${path}`, repair: 'drop it and the results that use it; they are recomputed' });
        badArtifacts.push(a.digest);
      } else if (sha256(readFileSync(path)) !== a.digest) {
        findings.push({ problem: `artifact file damaged (bytes do not match digest): ${path}`, repair: 'drop it and the results that use it; they are recomputed' });
        badArtifacts.push(a.digest);
      }
    } else if (sha256(a.data ?? Buffer.alloc(0)) !== a.digest) {
      findings.push({ problem: `artifact ${a.digest.slice(0, 12)} in the database does not match its digest`, repair: 'drop it and the results that use it' });
      badArtifacts.push(a.digest);
    }
  }
  const bad = new Set(badArtifacts);
  const runs = store.db.prepare('SELECT key, outputs FROM node_runs').all() as { key: string; outputs: string }[];
  const badRuns = runs.filter((r) => {
    try {
      return Object.values(JSON.parse(r.outputs) as Record<string, OutputRecord>).some((o) => bad.has(o.form === 'rows' ? o.digest : o.file) || !store.hasArtifact((o.form === 'rows' ? o.digest : o.file) as never));
    } catch {
      return true;
    }
  });
  for (const r of badRuns) findings.push({ problem: `node result ${r.key.slice(0, 12)} refers to a missing or damaged artifact`, repair: 'forget it; the node reruns (its items and LLM answers stay cached)' });

  if (findings.length === 0) {
    process.stdout.write(`✓ ${dir}: database ok, ${artifacts.length} artifacts verified, ${runs.length} node results consistent.\n`);
    return 0;
  }
  for (const f of findings) process.stdout.write(`✗ ${f.problem}\n    ${repair ? 'repaired' : 'repair'}: ${f.repair}\n`);
  if (!repair) {
    process.stdout.write(`Run "synthcse doctor --repair" to repair; damaged entries are never used as cache hits meanwhile.\n`);
    return 1;
  }
  store.transaction(() => {
    for (const d of bad) store.db.prepare('DELETE FROM artifacts WHERE digest = ?').run(d);
    for (const r of badRuns) store.db.prepare('DELETE FROM node_runs WHERE key = ?').run(r.key);
    store.db.prepare('DELETE FROM memo_files WHERE digest NOT IN (SELECT digest FROM artifacts)').run();
    store.db.prepare('DELETE FROM checkpoints WHERE digest NOT IN (SELECT digest FROM artifacts)').run();
  });
  process.stdout.write(`Repaired ${findings.length} problem(s); run the pipeline again to recompute what was dropped.\n`);
  return 0;
}
