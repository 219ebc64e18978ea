import { resolve } from 'node:path';
import { formatDuration } from '../events.js';
import type { Json, NodeKey } from '../json.js';
import { RunStore } from '../run-store.js';
import { parseCommandArgs } from './args.js';
import { findCacheDir, openExistingStore } from './cache-dir.js';

const USAGE = 'synthcse status [FILE] [--cache DIR] [--json]';

interface SpendValue {
  requests?: number;
  usage?: { input_tokens?: number; output_tokens?: number; cache_read_input_tokens?: number; cache_creation_input_tokens?: number };
  costUsd?: number;
  mode?: string;
  cacheSavingsUsd?: number;
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('status', argv, { cache: { type: 'string' }, json: { type: 'boolean' } }, USAGE);
  const pipeline = positionals[0];
  const store = openExistingStore(findCacheDir({ cache: values.cache, pipeline }, USAGE), USAGE);
  const runs = new RunStore(store);
  const latest = runs.latestRun(pipeline ? resolve(pipeline) : undefined);
  if (!latest) {
    process.stdout.write('No runs recorded in this cache yet.\n');
    return 0;
  }
  const history = new Map(runs.history(latest.runId).map((h) => [h.nodeId, h]));
  // Every node the run considered, in pipeline order, finished or not (a killed run lists the ones it never reached).
  const planned = runs.runNodes(latest.runId);
  const ids = planned.length > 0 ? planned.map((n) => n.nodeId) : [...history.keys()];
  const notFinished = latest.status === 'running' || latest.status === 'interrupted' ? 'not finished' : 'not run';
  const rows = ids.map((nodeId) => {
    const h = history.get(nodeId);
    const node = planned.find((n) => n.nodeId === nodeId);
    // What the node paid in this run: recorded per run; for a node that ran, also what its own result says it cost.
    const ranNow = h !== undefined && (h.state === 'ran' || h.state === 'partial') && h.key !== '';
    const spend = (node?.spend ?? (ranNow ? runs.getRun(h.key as NodeKey)?.stats.values?.llm : undefined)) as SpendValue | undefined;
    if (h) return { ...h, spend };
    return { nodeId, type: node?.type ?? '', state: notFinished, ms: 0, itemsCached: 0, itemsRan: 0, itemsFailed: 0, failureReasons: {}, spend };
  });
  if (values.json) {
    process.stdout.write(JSON.stringify({ run: latest, nodes: rows }, null, 2) + '\n');
    return 0;
  }
  const when = new Date(latest.started).toISOString().replace('T', ' ').slice(0, 19);
  process.stdout.write(`Last run ${latest.runId.slice(0, 8)} of ${latest.pipeline}${latest.variant ? ` (variant ${latest.variant})` : ''}: ${latest.status === 'running' ? 'not finished (still running, or killed)' : latest.status}, started ${when} UTC\n`);
  let totalCost = 0;
  let totalIn = 0;
  let totalOut = 0;
  const width = Math.max(4, ...rows.map((r) => r.nodeId.length));
  process.stdout.write(`  ${'node'.padEnd(width)}  ${'state'.padEnd(12)} ${'time'.padStart(9)}  ${'items cached/ran/failed'.padEnd(24)} ${'tokens in/out'.padEnd(16)} cost\n`);
  for (const r of rows) {
    const items = r.itemsCached + r.itemsRan + r.itemsFailed > 0 ? `${r.itemsCached}/${r.itemsRan}/${r.itemsFailed}` : '';
    const tokens = r.spend?.usage ? `${r.spend.usage.input_tokens ?? 0}/${r.spend.usage.output_tokens ?? 0}` : '';
    const cost = r.spend?.costUsd !== undefined ? `$${r.spend.costUsd.toFixed(4)}${r.spend.mode === 'batch' ? ' (batch)' : ''}` : '';
    if (r.spend) {
      totalCost += r.spend.costUsd ?? 0;
      totalIn += r.spend.usage?.input_tokens ?? 0;
      totalOut += r.spend.usage?.output_tokens ?? 0;
    }
    process.stdout.write(`  ${r.nodeId.padEnd(width)}  ${r.state.padEnd(12)} ${(r.ms > 0 || history.has(r.nodeId) ? formatDuration(r.ms) : '').padStart(9)}  ${items.padEnd(24)} ${tokens.padEnd(16)} ${cost}\n`);
    const reasons = Object.entries(r.failureReasons as Record<string, Json>);
    if (reasons.length > 0) process.stdout.write(`  ${' '.repeat(width)}  failed: ${reasons.map(([k, v]) => `${v} × ${k}`).join(', ')}\n`);
  }
  process.stdout.write(`Spent in this run: ${totalIn} input + ${totalOut} output tokens, $${totalCost.toFixed(4)} (cached nodes paid nothing now; their cost is in the run that computed them)\n`);
  return 0;
}
