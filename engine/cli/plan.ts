import { runPipeline } from '../api.js';
import { formatDiagnostics } from '../diagnostics.js';
import type { NodeOutcome } from '../executor.js';
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
  if (values.json) {
    for (const o of outcomes) process.stdout.write(JSON.stringify({ node: o.id, type: o.type, state: o.state, key: o.key, explain: o.explain, estimate: o.estimate }) + '\n');
    return 0;
  }
  process.stdout.write(`${graph.pipeline.name}${graph.pipeline.variant ? ` (variant ${graph.pipeline.variant})` : ''}: ${outcomes.length} nodes\n`);
  const width = Math.max(...outcomes.map((o) => o.id.length));
  let cost = 0;
  let costKnown = false;
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
    if (o.diagnostic) process.stdout.write(formatDiagnostics([o.diagnostic]) + '\n');
  }
  if (costKnown) process.stdout.write(`Estimated LLM cost of what is not cached yet: $${cost.toFixed(4)}\n`);
  return 0;
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
