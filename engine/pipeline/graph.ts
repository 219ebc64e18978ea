/**
 * Validates a resolved pipeline against the node registry and builds the DAG: node types, parameters (with "did you
 * mean"), input references, port kinds and cycles. Every problem found is reported at once; nothing runs when any is.
 */
import { DirectedGraph } from 'graphology';
import { topologicalGenerations } from 'graphology-dag';
import { resolve as resolvePath } from 'node:path';
import type { z } from 'zod';
import { DiagnosticError, didYouMean, type Diagnostic } from '../diagnostics.js';
import type { CodeRecord } from '../code-deps.js';
import { recordingProbe, type Probe } from '../dependencies.js';
import type { Json, JsonObject } from '../json.js';
import type { AnyNodeType, InputPortSpec } from '../node-type.js';
import { objectKeys, type NodeRegistry } from '../registry.js';
import type { ResolvedPipeline } from './resolve.js';

export interface InputBinding {
  port: string;
  from: string;
  fromPort: string;
}

/** What the engine needs to know of a node type to key and schedule it, without loading its implementation. */
export interface NodeMeta {
  type: string;
  version: number;
  inputs: Record<string, InputPortSpec>;
  outputs: Record<string, { kind: string; form: 'rows' | 'file'; fields?: readonly string[] }>;
  uses?: { llm?: boolean };
  cheap?: boolean;
  estimates: boolean;
  /** The type's code as a dependency (plugin modules, package versions); absent for built-in types without packages. */
  code?: CodeRecord;
}

export function nodeMeta(type: AnyNodeType, registry: NodeRegistry): NodeMeta {
  const outputs: NodeMeta['outputs'] = {};
  for (const [port, spec] of Object.entries(type.outputs)) {
    outputs[port] = { kind: spec.kind, form: registry.formOf(spec.kind), fields: registry.kind(spec.kind)?.fields };
  }
  const code = registry.codeOf(type.type)?.record;
  return { type: type.type, version: type.version, inputs: type.inputs, outputs, uses: type.uses, cheap: type.cheap, estimates: type.estimate !== undefined, ...(code ? { code } : {}) };
}

export interface PlannedNode {
  id: string;
  type: NodeMeta;
  /** Keyed parameters after schema parsing (defaults applied): what the key hashes. */
  params: Json;
  options: unknown;
  inputs: InputBinding[];
  /** Absolute paths of files whose content joins the key. */
  files: string[];
  /** What `files()` looked at to choose them (listings, existence checks, variables): revalidated by the plan cache. */
  probes: Probe[];
}

export interface PipelineGraph {
  pipeline: ResolvedPipeline;
  nodes: Map<string, PlannedNode>;
  /** Nodes by generation: every node's upstreams are in earlier generations. */
  levels: string[][];
  order: string[];
  /** The implementation of a node type, loaded only when a node of it has to run or estimate. */
  implementation(type: string): Promise<AnyNodeType>;
}

export function buildGraph(pipeline: ResolvedPipeline, registry: NodeRegistry, env: NodeJS.ProcessEnv = process.env): PipelineGraph {
  const diagnostics: Diagnostic[] = [];
  const loc = pipeline.locations;
  const planned = new Map<string, PlannedNode>();

  for (const [id, spec] of Object.entries(pipeline.nodes)) {
    const type = registry.type(spec.type);
    if (type === undefined) {
      diagnostics.push({
        severity: 'error',
        reason: 'unknown-node-type',
        message: `Node "${id}" has unknown type "${spec.type}".${didYouMean(spec.type, registry.typeNames())}`,
        location: loc.find(['nodes', id, 'type']),
        hint: `Known types: ${registry.typeNames().sort().join(', ')}.`,
      });
      continue;
    }
    const optionKeys = new Set(objectKeys(type.options));
    const paramInput: JsonObject = {};
    const optionInput: JsonObject = {};
    for (const [key, value] of Object.entries(spec.with)) (optionKeys.has(key) ? optionInput : paramInput)[key] = value;
    const knownKeys = [...objectKeys(type.params, paramInput), ...optionKeys];
    const params = parseWith(id, type, type.params, paramInput, knownKeys, pipeline, diagnostics);
    const options = type.options ? parseWith(id, type, type.options, optionInput, knownKeys, pipeline, diagnostics) : {};
    if (params === undefined || options === undefined) continue;
    let files: string[] = [];
    const { probe, probes } = recordingProbe(pipeline.dir, env);
    try {
      files = (type.files?.(params, options, probe) ?? []).map((f) => resolvePath(pipeline.dir, f));
    } catch (error) {
      diagnostics.push({ severity: 'error', reason: 'invalid-param', message: `Node "${id}": ${(error as Error).message}`, location: loc.find(['nodes', id, 'with']) });
    }
    planned.set(id, { id, type: nodeMeta(type, registry), params: params as Json, options, inputs: [], files, probes: probes() });
  }

  // Inputs: references, ports and kinds.
  for (const [id, node] of planned) {
    const spec = pipeline.nodes[id]!;
    const declared = node.type.inputs;
    for (const [port, ref] of Object.entries(spec.inputs)) {
      const location = loc.find(['nodes', id, 'inputs', port]);
      const portSpec = declared[port];
      if (portSpec === undefined) {
        diagnostics.push({
          severity: 'error',
          reason: 'unknown-input-port',
          message: `Node "${id}" (${node.type.type}) has no input port "${port}".${didYouMean(port, Object.keys(declared))}`,
          location: loc.findKey(['nodes', id, 'inputs', port]),
          hint: Object.keys(declared).length > 0 ? `Its inputs: ${describePorts(declared)}.` : `A ${node.type.type} node takes no inputs.`,
        });
        continue;
      }
      const [fromId, explicitPort] = splitRef(ref);
      const upstreamSpec = pipeline.nodes[fromId];
      if (upstreamSpec === undefined) {
        diagnostics.push({
          severity: 'error',
          reason: 'unknown-upstream',
          message: `Input "${port}" of node "${id}" refers to "${fromId}", which is not a node.${didYouMean(fromId, Object.keys(pipeline.nodes))}`,
          location,
          hint: `Nodes: ${Object.keys(pipeline.nodes).join(', ')}.`,
        });
        continue;
      }
      const upstream = planned.get(fromId);
      if (upstream === undefined) continue; // its own error is reported
      const outputs = upstream.type.outputs;
      const outputNames = Object.keys(outputs);
      const fromPort = explicitPort ?? (outputNames.length === 1 ? outputNames[0]! : undefined);
      if (fromPort === undefined || outputs[fromPort] === undefined) {
        diagnostics.push({
          severity: 'error',
          reason: 'unknown-output-port',
          message:
            explicitPort === undefined
              ? `Node "${fromId}" has several outputs; write "${fromId}.PORT" for input "${port}" of "${id}".`
              : `Node "${fromId}" (${upstream.type.type}) has no output "${explicitPort}".${didYouMean(explicitPort, outputNames)}`,
          location,
          hint: `Its outputs: ${outputNames.map((o) => `${o} (${outputs[o]!.kind})`).join(', ')}.`,
        });
        continue;
      }
      const produced = outputs[fromPort]!.kind;
      const accepted = Array.isArray(portSpec.kind) ? (portSpec.kind as readonly string[]) : [portSpec.kind as string];
      if (!accepted.some((kind) => registry.isAssignable(produced, kind))) {
        diagnostics.push({
          severity: 'error',
          reason: 'port-kind-mismatch',
          message: `Input "${port}" of node "${id}" takes ${accepted.join(' or ')}, but "${fromId}.${fromPort}" produces ${produced}.`,
          location,
          hint: `Connect an output of kind ${accepted.join(' or ')}, or put a node in between that turns ${produced} into it.`,
        });
        continue;
      }
      node.inputs.push({ port, from: fromId, fromPort });
    }
    for (const [port, portSpec] of Object.entries(declared)) {
      if (!portSpec.optional && spec.inputs[port] === undefined) {
        diagnostics.push({
          severity: 'error',
          reason: 'missing-input',
          message: `Node "${id}" (${node.type.type}) is missing its input "${port}" (${kindText(portSpec)}).`,
          location: loc.findKey(['nodes', id, 'inputs']) ?? loc.findKey(['nodes', id]),
          hint: `Add under the node: inputs: { ${port}: OTHER_NODE.PORT }.`,
        });
      }
    }
  }

  const graph = new DirectedGraph();
  for (const id of planned.keys()) graph.addNode(id);
  for (const node of planned.values()) for (const input of node.inputs) if (!graph.hasEdge(input.from, node.id)) graph.addEdge(input.from, node.id);
  const cycle = findCycle(graph);
  if (cycle) {
    const first = cycle[0]!;
    diagnostics.push({
      severity: 'error',
      reason: 'cycle',
      message: `The nodes form a cycle: ${[...cycle, first].join(' → ')}.`,
      location: loc.findKey(['nodes', first, 'inputs']) ?? loc.findKey(['nodes', first]),
      related: cycle.slice(1).flatMap((id) => {
        const l = loc.findKey(['nodes', id, 'inputs']);
        return l ? [{ message: `"${id}" takes its input from the node before it`, location: l }] : [];
      }),
      hint: 'A pipeline is a DAG: remove one of these inputs.',
    });
  }
  if (diagnostics.length > 0) throw new DiagnosticError(diagnostics);
  const levels = topologicalGenerations(graph);
  return {
    pipeline,
    nodes: planned,
    levels,
    order: levels.flat(),
    implementation: async (name) => {
      const type = registry.type(name);
      if (!type) throw new Error(`Internal error: node type ${name} is not registered`);
      return type;
    },
  };
}

function parseWith(
  id: string,
  type: AnyNodeType | NodeMeta,
  schema: z.ZodType,
  input: JsonObject,
  knownKeys: string[],
  pipeline: ResolvedPipeline,
  diagnostics: Diagnostic[],
): unknown {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        diagnostics.push({
          severity: 'error',
          reason: 'unknown-param',
          message: `Node "${id}" (${type.type}) has no parameter "${[...path, key].join('.')}".${didYouMean(key, knownKeys)}`,
          location: pipeline.locations.findKey(['nodes', id, 'with', ...path, key]) ?? pipeline.locations.find(['nodes', id, 'with', ...path]),
          hint: `Parameters of ${type.type}: ${knownKeys.join(', ')}.`,
        });
      }
      continue;
    }
    const where = path.length > 0 ? `parameter "${path.join('.')}"` : 'parameters';
    diagnostics.push({
      severity: 'error',
      reason: 'invalid-param',
      message: `Node "${id}" (${type.type}): ${where}: ${issue.message}.`,
      location: pipeline.locations.find(['nodes', id, 'with', ...path]),
      hint: `See "synthcse schema" or docs for the parameters of ${type.type}.`,
    });
  }
  return undefined;
}

function splitRef(ref: string): [string, string | undefined] {
  const dot = ref.indexOf('.');
  return dot < 0 ? [ref, undefined] : [ref.slice(0, dot), ref.slice(dot + 1)];
}

function kindText(spec: InputPortSpec): string {
  return Array.isArray(spec.kind) ? (spec.kind as readonly string[]).join(' or ') : (spec.kind as string);
}

function describePorts(ports: Record<string, InputPortSpec>): string {
  return Object.entries(ports)
    .map(([name, spec]) => `${name} (${kindText(spec)}${spec.optional ? ', optional' : ''})`)
    .join(', ');
}

/** A cycle as a list of node ids in edge order, or undefined. */
function findCycle(graph: DirectedGraph): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.outNeighbors(node)) {
      const s = state.get(next);
      if (s === 'open') return stack.slice(stack.indexOf(next));
      if (s === undefined) {
        const found = visit(next);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.nodes()) {
    if (!state.has(node)) {
      const found = visit(node);
      if (found) return found;
    }
  }
  return undefined;
}
