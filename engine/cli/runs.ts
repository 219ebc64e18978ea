/**
 * `synthcse runs`: past runs side by side (as `dvc exp show` does): pipeline, variant, --set values, status, what each
 * paid, and the numbers its nodes reported (an eval node's Spearman per task, a filter's kept rows…).
 */
import { basename, resolve } from 'node:path';
import type { Store } from '../../cache/store.js';
import type { NodeKey } from '../json.js';
import { RunStore, type RunRow } from '../run-store.js';
import { parseCommandArgs, usageError } from './args.js';
import { findCacheDir, openExistingStore } from './cache-dir.js';

const USAGE = 'synthcse runs [FILE] [--limit N] [--json] [--cache DIR]';

export interface RunSummary {
  runId: string;
  pipeline: string;
  variant: string;
  set: string[];
  status: string;
  started: number;
  /** LLM requests sent, tokens and USD paid by this run (never other runs', whatever their node names). */
  requests: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** "node.name" → number, from the stats values of the nodes that finished (ran or cached) in this run. */
  metrics: Record<string, number>;
}

/** `--set` values from a run's recorded command line. */
export function setValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--set' && argv[i + 1] !== undefined) out.push(argv[++i]!);
    else if (arg.startsWith('--set=')) out.push(arg.slice('--set='.length));
  }
  return out;
}

export function summarizeRun(store: Store, run: RunRow): RunSummary {
  const runs = new RunStore(store);
  const summary: RunSummary = {
    runId: run.runId,
    pipeline: run.pipeline,
    variant: run.variant,
    set: setValues(run.argv),
    status: run.status,
    started: run.started,
    requests: 0,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
    metrics: {},
  };
  for (const node of runs.runNodes(run.runId)) {
    const spend = node.spend as { requests?: number; usage?: { input_tokens?: number; output_tokens?: number }; costUsd?: number } | undefined;
    if (!spend) continue;
    summary.requests += spend.requests ?? 0;
    summary.inputTokens += spend.usage?.input_tokens ?? 0;
    summary.outputTokens += spend.usage?.output_tokens ?? 0;
    summary.costUsd += spend.costUsd ?? 0;
  }
  for (const h of runs.history(run.runId)) {
    if (!['ran', 'cached', 'partial'].includes(h.state) || h.key === '') continue;
    const values = runs.getRun(h.key as NodeKey)?.stats.values ?? {};
    for (const [name, value] of Object.entries(values)) if (typeof value === 'number' && name !== 'llm') summary.metrics[`${h.nodeId}.${name}`] = value;
  }
  return summary;
}

function formatMetric(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(4);
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('runs', argv, { limit: { type: 'string' }, json: { type: 'boolean' }, cache: { type: 'string' } }, USAGE);
  if (positionals.length > 1) throw usageError('runs takes at most one pipeline file.', USAGE);
  const limit = values.limit === undefined ? 20 : Number(values.limit);
  if (!(Number.isInteger(limit) && limit > 0)) throw usageError(`--limit must be a positive integer, not "${values.limit}".`, USAGE);
  const pipeline = positionals[0];
  const store = openExistingStore(findCacheDir({ cache: values.cache, pipeline }, USAGE), USAGE);
  try {
    const summaries = new RunStore(store).listRuns(pipeline ? resolve(pipeline) : undefined, limit).map((run) => summarizeRun(store, run));
    if (values.json) {
      for (const s of summaries) process.stdout.write(JSON.stringify(s) + '\n');
      return 0;
    }
    if (summaries.length === 0) {
      process.stdout.write('No runs recorded in this cache yet.\n');
      return 0;
    }
    const metricNames = [...new Set(summaries.flatMap((s) => Object.keys(s.metrics)))].sort();
    const header = ['run', 'started (UTC)', 'pipeline', 'variant', 'status', 'requests', 'cost', '--set', ...metricNames];
    const table = summaries.map((s) => [
      s.runId.slice(0, 8),
      new Date(s.started).toISOString().replace('T', ' ').slice(0, 16),
      basename(s.pipeline),
      s.variant || '-',
      s.status === 'running' ? 'not finished' : s.status,
      String(s.requests),
      `$${s.costUsd.toFixed(4)}`,
      s.set.join(' ') || '-',
      ...metricNames.map((m) => (s.metrics[m] === undefined ? '' : formatMetric(s.metrics[m]!))),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
    const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
    process.stdout.write([line(header), ...table.map(line)].join('\n') + '\n');
    return 0;
  } finally {
    store.close();
  }
}
