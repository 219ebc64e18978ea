import { resolvePipeline } from '../pipeline/resolve.js';
import { buildGraph, type PipelineGraph } from '../pipeline/graph.js';
import { asStrings, parseCommandArgs, usageError } from './args.js';
import { builtinRegistry } from './registry.js';

const USAGE = 'synthcse dag FILE [--format mermaid|dot] [--variant V] [--set k=v]';

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('dag', argv, { format: { type: 'string' }, variant: { type: 'string' }, set: { type: 'string', multiple: true } }, USAGE);
  const file = positionals[0];
  if (file === undefined) throw usageError('dag takes a pipeline file.', USAGE);
  const format = values.format ?? 'mermaid';
  if (format !== 'mermaid' && format !== 'dot') throw usageError(`--format must be mermaid or dot, not "${format}".`, USAGE);
  const registry = await builtinRegistry();
  const pipeline = resolvePipeline(file, { variant: values.variant, set: asStrings(values.set) });
  await registry.loadPlugins(pipeline.plugins);
  const graph = buildGraph(pipeline, registry);
  process.stdout.write((format === 'mermaid' ? toMermaid(graph) : toDot(graph)) + '\n');
  return 0;
}

function safeId(id: string): string {
  return id.replace(/[^A-Za-z0-9_]/g, '_');
}

export function toMermaid(graph: PipelineGraph): string {
  const lines = ['flowchart LR'];
  for (const id of graph.order) lines.push(`  ${safeId(id)}["${id}<br/><small>${graph.nodes.get(id)!.type.type}</small>"]`);
  for (const node of graph.nodes.values()) {
    for (const input of node.inputs) {
      const kind = graph.nodes.get(input.from)!.type.outputs[input.fromPort]!.kind;
      lines.push(`  ${safeId(input.from)} -->|${kind}| ${safeId(node.id)}`);
    }
  }
  return lines.join('\n');
}

export function toDot(graph: PipelineGraph): string {
  const lines = [`digraph "${graph.pipeline.name}" {`, '  rankdir=LR;', '  node [shape=box, style=rounded];'];
  for (const id of graph.order) lines.push(`  "${id}" [label="${id}\\n(${graph.nodes.get(id)!.type.type})"];`);
  for (const node of graph.nodes.values()) {
    for (const input of node.inputs) {
      const kind = graph.nodes.get(input.from)!.type.outputs[input.fromPort]!.kind;
      lines.push(`  "${input.from}" -> "${node.id}" [label="${kind}"];`);
    }
  }
  lines.push('}');
  return lines.join('\n');
}
