/**
 * The in-process API behind the CLI: prepare a pipeline (resolve, validate, open the cache) and run or plan it.
 * Tests and benchmarks call these directly.
 */
import { randomUUID } from 'node:crypto';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { Store } from '../cache/store.js';
import { DiagnosticError, type Diagnostic } from './diagnostics.js';
import type { Reporter } from './events.js';
import { execute, type ExecuteResult, type LlmProvision } from './executor.js';
import { LlmConfigSchema, llmConfigProblem, llmServiceKey, type LlmConfig } from './llm/config.js';
import { buildGraph, type PipelineGraph } from './pipeline/graph.js';
import { resolvePipeline } from './pipeline/resolve.js';
import type { NodeRegistry } from './registry.js';
import { RunStore } from './run-store.js';

export interface PipelineRequest {
  file: string;
  registry: NodeRegistry;
  variant?: string;
  set?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Cache directory; default SYNTHCSE_CACHE, else .synthcse/ next to the pipeline file. */
  cacheDir?: string;
}

export interface RunRequest extends PipelineRequest {
  only?: readonly string[];
  force?: readonly string[];
  jobs?: number;
  budgetUsd?: number;
  reporter?: Reporter;
  drain?: AbortSignal;
  plan?: boolean;
  argv?: readonly string[];
}

export interface PreparedPipeline {
  graph: PipelineGraph;
  store: Store;
  llmConfig?: LlmConfig;
  usesLlm: boolean;
  warnings: Diagnostic[];
}

export function defaultCacheDir(file: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.SYNTHCSE_CACHE ? resolvePath(env.SYNTHCSE_CACHE) : join(dirname(resolvePath(file)), '.synthcse');
}

/** Everything that can be checked before any work: the file, variant, --set, node types, params, ports, LLM config. */
export async function preparePipeline(request: PipelineRequest & { requireLlm?: boolean }): Promise<PreparedPipeline> {
  const env = request.env ?? process.env;
  const pipeline = resolvePipeline(request.file, { variant: request.variant, set: request.set, env });
  await request.registry.loadPlugins(pipeline.plugins);
  const graph = buildGraph(pipeline, request.registry);
  const usesLlm = [...graph.nodes.values()].some((n) => n.type.uses?.llm);
  const diagnostics: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  let llmConfig: LlmConfig | undefined;
  if (usesLlm || pipeline.llm !== undefined) {
    const parsed = LlmConfigSchema.safeParse(pipeline.llm ?? {});
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
        diagnostics.push({
          severity: 'error',
          reason: 'invalid-param',
          message: `llm${path.length ? '.' + path.join('.') : ''}: ${issue.message}${issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : ''}.`,
          location: pipeline.locations.find(['llm', ...path]),
          hint: 'See docs/llm.md for the fields of the llm: section.',
        });
      }
    } else {
      llmConfig = parsed.data;
      const problem = usesLlm ? llmConfigProblem(llmConfig, env) : undefined;
      if (problem) {
        const diagnostic: Diagnostic = {
          severity: request.requireLlm ? 'error' : 'warning',
          reason: 'llm-not-configured',
          message: problem,
          location: pipeline.locations.findKey(['llm']),
          origin: pipeline.llm === undefined ? 'environment' : undefined,
        };
        (request.requireLlm ? diagnostics : warnings).push(diagnostic);
      }
    }
  }
  if (diagnostics.length > 0) throw new DiagnosticError(diagnostics);
  const store = new Store(request.cacheDir ? resolvePath(request.cacheDir) : defaultCacheDir(request.file, env));
  return { graph, store, llmConfig, usesLlm, warnings };
}

export interface RunOutcome extends ExecuteResult {
  runId: string;
  prepared: PreparedPipeline;
}

export async function runPipeline(request: RunRequest): Promise<RunOutcome> {
  const prepared = await preparePipeline({ ...request, requireLlm: !request.plan });
  const { graph, store } = prepared;
  const runId = randomUUID();
  const runs = new RunStore(store);
  const variant = request.variant ?? '';
  const reporter: Reporter = request.reporter ?? (() => {});
  const started = Date.now();
  let service: { close(): Promise<void> } | undefined;
  try {
    let llm: LlmProvision | undefined;
    if (prepared.usesLlm && prepared.llmConfig) {
      const provision = await createProvision(prepared.llmConfig, store, request.env ?? process.env, request.budgetUsd, reporter);
      llm = provision.provision;
      service = provision.service;
    }
    if (!request.plan) {
      runs.startRun(runId, graph.pipeline.file, variant, [...(request.argv ?? [])]);
      reporter({ type: 'run-start', runId, pipeline: graph.pipeline.name, variant, nodes: graph.order.length });
    }
    const result = await execute({
      store,
      registry: request.registry,
      graph,
      runId,
      variant,
      reporter,
      drain: request.drain ?? new AbortController().signal,
      only: request.only,
      force: request.force,
      jobs: request.jobs,
      llm,
      plan: request.plan,
    });
    if (!request.plan) {
      runs.finishRun(runId, result.status);
      reporter({ type: 'run-end', runId, status: result.status, ms: Date.now() - started });
    }
    return { ...result, runId, prepared };
  } finally {
    await service?.close();
  }
}

/** Loads the LLM service only when a node needs it, so pipelines without LLM nodes never load the SDK. */
async function createProvision(
  config: LlmConfig,
  store: Store,
  env: NodeJS.ProcessEnv,
  budgetUsd: number | undefined,
  reporter: Reporter,
): Promise<{ provision: LlmProvision; service: { close(): Promise<void> } }> {
  const { createLlmService } = await import('./llm/service.js');
  const service = createLlmService({
    config,
    store,
    env,
    budgetUsd,
    log: {
      info: (message: string) => reporter({ type: 'log', node: 'llm', level: 'info', message }),
      warn: (message: string) => reporter({ type: 'log', node: 'llm', level: 'warn', message }),
    },
  });
  const provision: LlmProvision = {
    key: llmServiceKey(config),
    problem: () => llmConfigProblem(config, env),
    client: (nodeId, overrides) => service.client(nodeId, overrides),
    spendByNode: () => service.spendByNode(),
  };
  return { provision, service };
}
