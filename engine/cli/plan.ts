import { runPipeline } from '../api.js';
import { formatDiagnostics } from '../diagnostics.js';
import { formatDuration } from '../events.js';
import { estimateLlmTime } from '../llm/pace.js';
import type { Store } from '../../cache/store.js';
import { recordingProbe } from '../dependencies.js';
import { memoFileCached, type NodeOutcome } from '../executor.js';
import type { PipelineGraph } from '../pipeline/graph.js';
import { asStrings, commonPipelineOptions, parseCommandArgs, usageError } from './args.js';
import { builtinRegistry } from './registry.js';

const USAGE = 'synthcse plan FILE [--variant V] [--set k=v]... [--explain] [--json] [--cache DIR]';

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('plan', argv, { ...commonPipelineOptions, explain: { type: 'boolean' }, json: { type: 'boolean' }, only: { type: 'string', multiple: true } }, USAGE);
  const file = positionals[0];
  if (file === undefined || positionals.length > 1) throw usageError('plan takes one pipeline file.', USAGE);
  const result = await runPipeline({
    file,
    registry: builtinRegistry,
    variant: values.variant,
    set: asStrings(values.set),
    cacheDir: values.cache,
    only: asStrings(values.only),
    plan: true,
  });
  const { graph, warnings } = result.prepared;
  if (warnings.length > 0) process.stderr.write(formatDiagnostics(warnings) + '\n');
  const outcomes = graph.order.map((id) => result.outcomes.get(id)).filter((o): o is NodeOutcome => o !== undefined);
  const downloads = await plannedDownloads(result.prepared.graph, result.prepared.store);
  if (values.json) {
    for (const o of outcomes) {
      const fetches = downloads.filter((d) => d.nodes.includes(o.id)).map(({ url, bytes, cached }) => ({ url, bytes: bytes ?? null, cached }));
      process.stdout.write(JSON.stringify({ node: o.id, type: o.type, state: o.state, key: o.key, explain: o.explain, estimate: o.estimate, downloads: fetches }) + '\n');
    }
    return 0;
  }
  process.stdout.write(`${graph.pipeline.name}${graph.pipeline.variant ? ` (variant ${graph.pipeline.variant})` : ''}: ${outcomes.length} nodes\n`);
  const width = Math.max(...outcomes.map((o) => o.id.length));
  let cost = 0;
  let costKnown = false;
  const llmWork = { requests: 0, inputTokens: 0, outputTokens: 0 };
  for (const o of outcomes) {
    const upstream = graph.nodes.get(o.id)!.inputs.map((i) => i.from);
    process.stdout.write(`  ${o.id.padEnd(width)}  ${describe(o).padEnd(28)} ${o.type}${upstream.length ? ` ← ${upstream.join(', ')}` : ''}\n`);
    if (values.explain && o.state !== 'cached') {
      for (const reason of o.explain) process.stdout.write(`  ${' '.repeat(width)}    ${reason}\n`);
      const e = o.estimate;
      if (e && e.items > 0) process.stdout.write(`  ${' '.repeat(width)}    items to compute: ${e.items - e.cachedItems} of ${e.items} (the others are cached)\n`);
    }
    if (o.estimate?.note) process.stdout.write(`  ${' '.repeat(width)}    ${o.estimate.note}\n`);
    if (o.estimate?.costUsd !== undefined) {
      cost += o.estimate.costUsd;
      costKnown = true;
    }
    llmWork.requests += o.estimate?.requests ?? 0;
    llmWork.inputTokens += o.estimate?.inputTokens ?? 0;
    llmWork.outputTokens += o.estimate?.outputTokens ?? 0;
    if (o.diagnostic) process.stdout.write(formatDiagnostics([o.diagnostic]) + '\n');
  }
  const pending = downloads.filter((d) => !d.cached);
  if (pending.length > 0) {
    const total = pending.reduce((n, d) => n + (d.bytes ?? 0), 0);
    process.stdout.write(`Downloads into the cache (once; a local file in the data folder is used instead when present): ${(total / 1024 / 1024).toFixed(1)} MB\n`);
    for (const d of pending) process.stdout.write(`  ${d.url}  ${d.bytes === undefined ? 'size unknown' : `${(d.bytes / 1024 / 1024).toFixed(1)} MB`}  (${d.nodes.join(', ')})\n`);
  }
  if (costKnown) process.stdout.write(`Estimated LLM cost of what is not cached yet: $${cost.toFixed(4)}\n`);
  const config = result.prepared.llmConfig;
  if (config && llmWork.requests > 0) {
    const time = estimateLlmTime(config, llmWork.requests, llmWork.inputTokens, llmWork.outputTokens);
    process.stdout.write(`Estimated LLM time: ${time.ms === undefined ? 'unknown' : `about ${formatDuration(Math.round(time.ms))}`} for ${llmWork.requests} requests, ${time.why}\n`);
  }
  return 0;
}

interface PlannedDownload {
  url: string;
  nodes: string[];
  cached: boolean;
  bytes: number | undefined;
}

/** What the pipeline's nodes will fetch (as their types' downloads() say), whether it is cached, and how big. */
async function plannedDownloads(graph: PipelineGraph, store: Store): Promise<PlannedDownload[]> {
  const byUrl = new Map<string, PlannedDownload>();
  for (const node of graph.nodes.values()) {
    const type = await graph.implementation(node.type.type);
    if (!type.downloads) continue;
    for (const { url, memoKey } of type.downloads(node.params as never, recordingProbe(graph.pipeline.dir, process.env).probe)) {
      const entry = byUrl.get(url) ?? { url, nodes: [], cached: memoFileCached(store, memoKey), bytes: undefined };
      entry.nodes.push(node.id);
      byUrl.set(url, entry);
    }
  }
  const entries = [...byUrl.values()];
  await Promise.all(entries.filter((e) => !e.cached).map(async (e) => (e.bytes = await remoteSize(e.url))));
  return entries;
}

async function remoteSize(url: string): Promise<number | undefined> {
  try {
    const response = await fetch(url, { method: 'HEAD', redirect: 'follow', signal: AbortSignal.timeout(10_000) });
    const length = Number(response.headers.get('content-length') ?? Number.NaN);
    return response.ok && Number.isFinite(length) ? length : undefined;
  } catch {
    return undefined;
  }
}

function describe(o: NodeOutcome): string {
  switch (o.state) {
    case 'cached':
      return 'cached';
    case 'will-run': {
      const e = o.estimate;
      if (e && e.items > 0) {
        const head = e.cachedItems > 0 ? `partial: ${e.cachedItems} of ${e.items} cached` : `will run ${e.items} items`;
        const price = e.costUsd !== undefined ? ` ~$${e.costUsd.toFixed(4)}` : '';
        return head + price;
      }
      return o.explain[0]?.startsWith('waits for') ? 'will run (after upstream)' : 'will run';
    }
    case 'ran':
      return 'will run (cheap; done now)';
    case 'failed':
      return 'cannot run';
    default:
      return o.state;
  }
}
