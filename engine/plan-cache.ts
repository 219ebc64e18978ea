/**
 * A cache of validated pipelines (like a build tool's configuration cache): resolving YAML, loading every node type
 * and checking every parameter costs more than deciding that 1,000 nodes are cached. An entry records what it was
 * built from and is used only while all of it still holds: the pipeline files, the environment variables they read
 * (and the working directory, when a variable held a relative path), the plugins' module graphs and the packages
 * node types depend on (stat first, content only when the stat changed), every listing, existence check and variable
 * a node's `files()` looked at, and the synthcse build. On any doubt the pipeline is resolved and validated again.
 * Diagnostics that need source positions re-read the files.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Store } from '../cache/store.js';
import { staleCode, type CodeProbe } from './code-deps.js';
import { staleProbe } from './dependencies.js';
import { digestJson, sha256, type Digest, type Json, type JsonObject } from './json.js';
import type { AnyNodeType } from './node-type.js';
import type { PipelineGraph, PlannedNode } from './pipeline/graph.js';
import type { Locator, ValuePath } from './pipeline/located.js';
import type { NodeSpec, ResolvedPipeline } from './pipeline/resolve.js';
import type { SourceRange } from './diagnostics.js';

const PLAN_FORMAT = 2;

interface CompiledPlan {
  format: number;
  sources: { path: string; digest: Digest }[];
  envUsed: Record<string, string | null>;
  /** Plugin modules and packages the node types' code depends on. */
  code: CodeProbe[];
  pipeline: Omit<ResolvedPipeline, 'locations' | 'nodes'> & { nodes: Record<string, NodeSpec> };
  nodes: (Omit<PlannedNode, 'options'> & { options: Json })[];
  levels: string[][];
  llmConfig?: JsonObject;
}

export interface PlanRequest {
  file: string;
  variant?: string;
  set?: readonly string[];
  env: NodeJS.ProcessEnv;
}

let cachedBuildId: string | undefined;

/** Identifies the installed synthcse code: the size and modification time of every compiled module. */
function buildId(): string {
  if (cachedBuildId) return cachedBuildId;
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const parts: string[] = [];
  for (const dir of ['engine', 'nodes', 'cache']) {
    let entries: string[] = [];
    try {
      entries = readdirSync(join(root, dir), { recursive: true }) as string[];
    } catch {
      continue;
    }
    for (const entry of entries.sort()) {
      if (!entry.endsWith('.js')) continue;
      const stat = statSync(join(root, dir, entry));
      parts.push(`${dir}/${entry}:${stat.size}:${stat.mtimeMs}`);
    }
  }
  cachedBuildId = sha256(parts.join('\n'));
  return cachedBuildId;
}

function requestKey(request: PlanRequest, mainDigest: Digest): string {
  return digestJson({ format: PLAN_FORMAT, build: buildId(), file: request.file, digest: mainDigest, variant: request.variant ?? null, set: [...(request.set ?? [])] });
}

function ensureTable(store: Store): void {
  store.ensureTables('plan-cache', 'CREATE TABLE IF NOT EXISTS compiled_plans (key TEXT PRIMARY KEY, plan TEXT NOT NULL, at INTEGER NOT NULL)');
}

function fileDigest(path: string): Digest | undefined {
  try {
    return sha256(readFileSync(path));
  } catch {
    return undefined;
  }
}

export function savePlan(store: Store, request: PlanRequest, graph: PipelineGraph, llmConfig: JsonObject | undefined, code: readonly CodeProbe[]): void {
  ensureTable(store);
  const pipeline = graph.pipeline;
  const sources = pipeline.sources.map((path) => ({ path, digest: fileDigest(path)! }));
  if (sources.some((s) => s.digest === undefined)) return;
  const { locations: _locations, ...rest } = pipeline;
  const plan: CompiledPlan = {
    format: PLAN_FORMAT,
    sources,
    envUsed: pipeline.envUsed,
    code: [...code],
    pipeline: rest,
    nodes: graph.order.map((id) => {
      const n = graph.nodes.get(id)!;
      return { id, type: n.type, params: n.params, options: n.options as Json, inputs: n.inputs, files: n.files, probes: n.probes };
    }),
    levels: graph.levels,
    llmConfig,
  };
  store.sql('INSERT OR REPLACE INTO compiled_plans (key, plan, at) VALUES (?, ?, ?)').run(requestKey(request, sources[0]!.digest), JSON.stringify(plan), Date.now());
}

/**
 * The validated graph from the cache, or undefined when anything it was built from changed. `implementation` and
 * `relocate` load node types and source positions only if a node runs or a diagnostic needs a position.
 */
export function loadPlan(
  store: Store,
  request: PlanRequest,
  implementation: (type: string, plugins: readonly string[]) => Promise<AnyNodeType>,
  relocate: () => Promise<Locator>,
): { graph: PipelineGraph; llmConfig?: JsonObject } | undefined {
  ensureTable(store);
  const mainDigest = fileDigest(request.file);
  if (!mainDigest) return undefined;
  const row = store.sql('SELECT plan FROM compiled_plans WHERE key = ?').get(requestKey(request, mainDigest)) as { plan: string } | undefined;
  if (!row) return undefined;
  let plan: CompiledPlan;
  try {
    plan = JSON.parse(row.plan) as CompiledPlan;
  } catch {
    return undefined;
  }
  if (plan.format !== PLAN_FORMAT) return undefined;
  for (const source of plan.sources.slice(1)) if (fileDigest(source.path) !== source.digest) return undefined;
  for (const [name, value] of Object.entries(plan.envUsed)) if ((request.env[name] ?? null) !== value) return undefined;
  if (plan.pipeline.cwd !== undefined && plan.pipeline.cwd !== process.cwd()) return undefined;
  if (staleCode(plan.code) !== undefined) return undefined;
  for (const node of plan.nodes) if (staleProbe(node.probes, request.env) !== undefined) return undefined;
  let locator: Locator | undefined;
  const lazyLocations: Locator = {
    find: (path: ValuePath): SourceRange | undefined => locator?.find(path),
    findKey: (path: ValuePath): SourceRange | undefined => locator?.findKey(path),
    ready: async () => {
      try {
        locator ??= await relocate();
      } catch {
        // The file changed under us: diagnostics go without positions.
      }
    },
  };
  const nodes = new Map<string, PlannedNode>(plan.nodes.map((n) => [n.id, { ...n }]));
  const graph: PipelineGraph = {
    pipeline: { ...plan.pipeline, locations: lazyLocations },
    nodes,
    levels: plan.levels,
    order: plan.levels.flat(),
    implementation: (type) => implementation(type, plan.pipeline.plugins),
  };
  return { graph, llmConfig: plan.llmConfig };
}
