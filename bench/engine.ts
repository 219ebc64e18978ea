/**
 * Engine benchmark (`npm run bench:engine`): no-op rerun of a 1,000-node pipeline, rerun of a node whose 100,000
 * items are all cached, and the engine's per-item overhead on a first run (a no-op node type). Prints one JSON
 * object on its last line.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPipeline } from '../engine/api.js';
import { NodeRegistry } from '../engine/registry.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');
const plugin = join(repoRoot, 'dist', 'test', 'engine', 'fixtures', 'test-nodes.js');
const cli = join(repoRoot, 'bin', 'synthcse.js');

function pipeline1000(): string {
  const lines = ['name: thousand', `plugins: [${plugin}]`, 'nodes:'];
  // 250 chains of emit → join → count → join(a, b): a realistic mix of fan-in and depth.
  for (let c = 0; c < 250; c++) {
    lines.push(`  e${c}:`, '    type: emit', '    with:', `      count: ${1 + (c % 5)}`, `      prefix: c${c}-`);
    lines.push(`  j${c}:`, '    type: join', '    inputs:', `      a: e${c}`);
    lines.push(`  n${c}:`, '    type: count', '    inputs:', `      words: j${c}`);
    lines.push(`  m${c}:`, '    type: join', '    inputs:', `      a: j${c}`, `      b: e${(c + 1) % 250}`);
  }
  return lines.join('\n') + '\n';
}

function pipelineItems(n: number, salt: string): string {
  return ['name: items', `plugins: [${plugin}]`, 'nodes:', '  src:', '    type: emit', '    with:', `      count: ${n}`, '  same:', '    type: noop', '    inputs:', '      words: src', '    with:', `      salt: "${salt}"`, ''].join('\n');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-bench-'));
  const registry = () => new NodeRegistry();

  // 1. No-op rerun of 1,000 nodes.
  const big = join(dir, 'thousand.yaml');
  writeFileSync(big, pipeline1000());
  const cacheDir = join(dir, 'cache-1000');
  let t = performance.now();
  const first = await runPipeline({ file: big, registry: registry(), cacheDir });
  const firstMs = performance.now() - t;
  if (first.status !== 'ok') throw new Error(`first run failed: ${first.status}`);
  const inProcess: number[] = [];
  for (let i = 0; i < 5; i++) {
    t = performance.now();
    const rerun = await runPipeline({ file: big, registry: registry(), cacheDir });
    inProcess.push(performance.now() - t);
    if ([...rerun.outcomes.values()].some((o) => o.state !== 'cached')) throw new Error('rerun was not all cached');
  }
  // The whole CLI process, as a user runs it. NODE_EXTRA_CA_CERTS is unset: it adds ~85 ms to every node start here.
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const cliRuns: number[] = [];
  for (let i = 0; i < 5; i++) {
    t = performance.now();
    const r = spawnSync(process.execPath, [cli, 'run', big, '--cache', cacheDir], { env, encoding: 'utf8' });
    cliRuns.push(performance.now() - t);
    if (r.status !== 0) throw new Error(`CLI rerun failed: ${r.stderr}`);
  }

  // 2 and 3. 100,000 items through a no-op node type.
  const items = 100_000;
  const itemFile = join(dir, 'items.yaml');
  writeFileSync(itemFile, pipelineItems(items, 'a'));
  const itemCache = join(dir, 'cache-items');
  const firstItems = await runPipeline({ file: itemFile, registry: registry(), cacheDir: itemCache });
  const firstNode = firstItems.outcomes.get('same')!;
  if (firstNode.items.ran !== items) throw new Error(`expected ${items} items to run, got ${firstNode.items.ran}`);
  // Overhead per item on a first run: run again under a new namespace salt so every item is a miss.
  const overheadRuns: number[] = [];
  for (const salt of ['b', 'c', 'd']) {
    writeFileSync(itemFile, pipelineItems(items, salt));
    const r = await runPipeline({ file: itemFile, registry: registry(), cacheDir: itemCache });
    const node = r.outcomes.get('same')!;
    if (node.items.ran !== items) throw new Error('expected a full first run');
    overheadRuns.push((node.ms * 1000) / items);
  }
  // All items cached: force the node so it rereads 100,000 item results instead of the node-level hit.
  const cachedRuns: number[] = [];
  for (let i = 0; i < 3; i++) {
    t = performance.now();
    const r = await runPipeline({ file: itemFile, registry: registry(), cacheDir: itemCache, force: ['same'] });
    const elapsed = performance.now() - t;
    const node = r.outcomes.get('same')!;
    if (node.items.cached !== items) throw new Error(`expected ${items} cached items, got ${node.items.cached}`);
    cachedRuns.push(elapsed / 1000);
  }

  const result = {
    noop_rerun_1000_nodes_ms: Math.round(median(cliRuns)),
    noop_rerun_1000_nodes_in_process_ms: Math.round(median(inProcess)),
    first_run_1000_nodes_ms: Math.round(firstMs),
    cached_100k_items_s: Number(median(cachedRuns).toFixed(3)),
    first_run_overhead_us_per_item: Number(median(overheadRuns).toFixed(2)),
    notes: 'noop_rerun_1000_nodes_ms: whole CLI process, median of 5, NODE_EXTRA_CA_CERTS unset; cached_100k_items_s: forced rerun of the node, median of 3; overhead: no-op node, median of 3 first runs',
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:engine failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
