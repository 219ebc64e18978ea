import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Store } from '../../cache/store.js';
import { DiagnosticError } from '../diagnostics.js';
import { buildGraph } from '../pipeline/graph.js';
import { resolvePipeline } from '../pipeline/resolve.js';
import type { OutputRecord } from '../run-store.js';
import { parseCommandArgs, usageError } from './args.js';
import { findCacheDir, openExistingStore } from './cache-dir.js';
import { builtinRegistry } from './registry.js';

const USAGE = 'synthcse gc [--root DIR] [--keep-runs N] [--dry-run] [--cache DIR]';

/**
 * Removes node results (and the artifacts only they use) that no pipeline file under --root reaches, judged by the
 * last key each pipeline and variant ran with, and by the nodes of its last --keep-runs runs. Item results and LLM
 * answers are kept: they are what was paid for, and they make the next run of a changed pipeline cheap.
 */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('gc', argv, { root: { type: 'string' }, 'keep-runs': { type: 'string' }, 'dry-run': { type: 'boolean' }, cache: { type: 'string' } }, USAGE);
  const keepRuns = values['keep-runs'] === undefined ? 1 : Number(values['keep-runs']);
  if (!(Number.isInteger(keepRuns) && keepRuns >= 1)) throw usageError(`--keep-runs must be a whole number of runs, 1 or more, not "${values['keep-runs']}".`, USAGE);
  const root = resolve(values.root ?? '.');
  const store = openExistingStore(findCacheDir({ cache: values.cache }, USAGE), USAGE);
  const dryRun = values['dry-run'] === true;
  const before = cacheSize(store);
  const reachable = await reachableKeys(store, root, keepRuns);
  const result = collect(store, reachable, dryRun);
  process.stdout.write(
    `${dryRun ? 'Would remove' : 'Removed'} ${result.runs} node result(s) and ${result.artifacts} artifact(s): ${formatBytes(result.bytes)} ${dryRun ? 'would be ' : ''}freed. Kept ${reachable.size} node result(s): those of the last ${keepRuns} run(s) of each pipeline under ${root}.\n`,
  );
  const after = dryRun ? undefined : cacheSize(store);
  process.stdout.write(`Cache ${store.dir}: ${formatBytes(before.total)} (database ${formatBytes(before.database)}, artifact files ${formatBytes(before.files)})${after ? `; now ${formatBytes(after.total)}` : ''}.\n`);
  return 0;
}

function findPipelineFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules' || entry.name === 'dist') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) findPipelineFiles(path, out);
    else if (/\.ya?ml$/.test(entry.name)) out.push(path);
  }
  return out;
}

/** Bytes of the cache: its database files and its artifact files. */
export function cacheSize(store: Store): { database: number; files: number; total: number } {
  const size = (path: string) => (existsSync(path) ? statSync(path).size : 0);
  const database = ['cache.db', 'cache.db-wal'].reduce((n, f) => n + size(join(store.dir, f)), 0);
  let files = 0;
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files += size(path);
    }
  };
  walk(store.artifactDir);
  return { database, files, total: database + files };
}

async function reachableKeys(store: Store, root: string, keepRuns: number): Promise<Set<string>> {
  const registry = await builtinRegistry();
  const keys = new Set<string>();
  const lastKeys = store.db.prepare('SELECT pipeline, variant, node_id, key FROM last_keys').all() as { pipeline: string; variant: string; node_id: string; key: string }[];
  const byPipeline = new Map<string, { variant: string; node_id: string; key: string }[]>();
  for (const row of lastKeys) byPipeline.set(row.pipeline, [...(byPipeline.get(row.pipeline) ?? []), row]);
  for (const file of findPipelineFiles(root)) {
    const rows = byPipeline.get(file);
    if (!rows) continue;
    for (const variant of new Set(rows.map((r) => r.variant))) {
      const ofVariant = rows.filter((r) => r.variant === variant);
      let nodeIds: Set<string> | undefined;
      try {
        const pipeline = resolvePipeline(file, { variant: variant || undefined });
        await registry.loadPlugins(pipeline.plugins);
        nodeIds = new Set(buildGraph(pipeline, registry).nodes.keys());
      } catch (error) {
        if (!(error instanceof DiagnosticError)) throw error;
        // A pipeline that does not validate now is not proof that its results are unwanted: keep them all.
      }
      for (const row of ofVariant) if (nodeIds === undefined || nodeIds.has(row.node_id)) keys.add(row.key);
    }
  }
  // The node results of each pipeline's last runs (any variant), so `report --run` and going back stay cheap.
  const lastRuns = store.db.prepare('SELECT run_id FROM runs WHERE pipeline = ? ORDER BY started DESC LIMIT ?');
  const nodesOfRun = store.db.prepare("SELECT key FROM node_history WHERE run_id = ? AND key != ''");
  for (const file of findPipelineFiles(root)) {
    for (const { run_id } of lastRuns.all(file, keepRuns) as { run_id: string }[]) {
      for (const { key } of nodesOfRun.all(run_id) as { key: string }[]) keys.add(key);
    }
  }
  return keys;
}

function collect(store: Store, reachable: Set<string>, dryRun: boolean): { runs: number; artifacts: number; bytes: number } {
  const runs = store.db.prepare('SELECT key, outputs FROM node_runs').all() as { key: string; outputs: string }[];
  const keptArtifacts = new Set<string>();
  const doomed: string[] = [];
  for (const run of runs) {
    if (reachable.has(run.key)) {
      for (const output of Object.values(JSON.parse(run.outputs) as Record<string, OutputRecord>)) keptArtifacts.add(output.form === 'rows' ? output.digest : output.file);
    } else doomed.push(run.key);
  }
  for (const row of store.db.prepare('SELECT digest FROM memo_files').all() as { digest: string }[]) keptArtifacts.add(row.digest);
  for (const row of store.db.prepare('SELECT node_key, digest FROM checkpoints').all() as { node_key: string; digest: string }[]) {
    if (reachable.has(row.node_key)) keptArtifacts.add(row.digest);
  }
  const artifacts = store.db.prepare('SELECT digest, size, in_file FROM artifacts').all() as { digest: string; size: number; in_file: number }[];
  const unused = artifacts.filter((a) => !keptArtifacts.has(a.digest));
  const bytes = unused.reduce((sum, a) => sum + a.size, 0);
  if (!dryRun) {
    store.transaction(() => {
      const delRun = store.db.prepare('DELETE FROM node_runs WHERE key = ?');
      for (const key of doomed) delRun.run(key);
      store.db.prepare(`DELETE FROM checkpoints WHERE node_key NOT IN (SELECT key FROM node_runs)`).run();
      const delArtifact = store.db.prepare('DELETE FROM artifacts WHERE digest = ?');
      for (const a of unused) delArtifact.run(a.digest);
    });
    for (const a of unused) if (a.in_file === 1) rmSync(store.artifactPath(a.digest as never), { force: true });
    const tmp = join(store.dir, 'tmp');
    if (existsSync(tmp) && statSync(tmp).isDirectory()) rmSync(tmp, { recursive: true, force: true });
    store.db.exec('VACUUM');
  }
  return { runs: doomed.length, artifacts: unused.length, bytes };
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}
