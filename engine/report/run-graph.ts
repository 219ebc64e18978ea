/**
 * The DAG of a recorded run. The run stores its pipeline file, variant and command line, so the graph is rebuilt by
 * resolving that file again. When that fails (the file moved or no longer validates), the edges are inferred from
 * the key records: an input digest equal to an output digest of another node of the run is an edge.
 */
import { resolvePipeline } from '../pipeline/resolve.js';
import { buildGraph } from '../pipeline/graph.js';
import type { NodeRegistry } from '../registry.js';
import type { NodeRunRecord } from '../run-store.js';

export interface RunGraphNode {
  id: string;
  type: string;
  inputs: { port: string; from: string; fromPort: string }[];
  /** Kind of each output port, when the node type is known. */
  outputKinds: Record<string, string>;
}

export interface RunGraph {
  name: string;
  nodes: Map<string, RunGraphNode>;
  levels: string[][];
  /** Why the graph had to be inferred, or undefined when it came from the pipeline file. */
  inferredBecause?: string;
}

/** The `--set` values of a recorded `run` command line. */
export function setOverrides(argv: readonly string[]): string[] {
  const sets: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--set' && i + 1 < argv.length) sets.push(argv[++i]!);
    else if (arg.startsWith('--set=')) sets.push(arg.slice('--set='.length));
  }
  return sets;
}

export async function runGraph(
  registry: NodeRegistry,
  run: { pipelineFile: string; variant: string; argv: readonly string[] },
  recorded: ReadonlyMap<string, { type: string; record?: NodeRunRecord }>,
): Promise<RunGraph> {
  try {
    const pipeline = resolvePipeline(run.pipelineFile, { variant: run.variant || undefined, set: setOverrides(run.argv) });
    await registry.loadPlugins(pipeline.plugins);
    const graph = buildGraph(pipeline, registry);
    const nodes = new Map<string, RunGraphNode>();
    for (const id of graph.order) {
      const planned = graph.nodes.get(id)!;
      const outputKinds: Record<string, string> = {};
      for (const [port, spec] of Object.entries(planned.type.outputs)) outputKinds[port] = spec.kind;
      nodes.set(id, { id, type: planned.type.type, inputs: planned.inputs.map((i) => ({ ...i })), outputKinds });
    }
    return { name: pipeline.name, nodes, levels: graph.levels };
  } catch (error) {
    return inferGraph(recorded, `the pipeline file could not be resolved again (${firstLine((error as Error).message)})`);
  }
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.slice(0, 200).replace(/\.$/, '');
}

function inferGraph(recorded: ReadonlyMap<string, { type: string; record?: NodeRunRecord }>, because: string): RunGraph {
  const producers = new Map<string, { id: string; port: string }>();
  for (const [id, { record }] of recorded) {
    for (const [port, output] of Object.entries(record?.outputs ?? {})) producers.set(output.digest, { id, port });
  }
  const nodes = new Map<string, RunGraphNode>();
  const byId = [...recorded].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [id, { type, record }] of byId) {
    const inputs = Object.entries(record?.record.inputs ?? {}).flatMap(([port, digest]) => {
      const from = producers.get(digest);
      return from && from.id !== id ? [{ port, from: from.id, fromPort: from.port }] : [];
    });
    nodes.set(id, { id, type, inputs, outputKinds: {} });
  }
  return { name: '', nodes, levels: generations(nodes), inferredBecause: because };
}

/** Longest-path layering: a node's level is one more than its deepest upstream's. */
export function generations(nodes: ReadonlyMap<string, RunGraphNode>): string[][] {
  const level = new Map<string, number>();
  const visiting = new Set<string>();
  const depth = (id: string): number => {
    const known = level.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    const node = nodes.get(id);
    const d = node && node.inputs.length > 0 ? 1 + Math.max(...node.inputs.map((i) => (nodes.has(i.from) ? depth(i.from) : -1))) : 0;
    visiting.delete(id);
    level.set(id, d);
    return d;
  };
  const levels: string[][] = [];
  for (const id of nodes.keys()) (levels[depth(id)] ??= []).push(id);
  return levels.filter((l) => l !== undefined);
}
