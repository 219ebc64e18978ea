/**
 * The in-process API behind the CLI: prepare a pipeline (resolve, validate, open the cache) and run or plan it.
 * Tests and benchmarks call these directly.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { Store } from '../cache/store.js';
import { DiagnosticError, type Diagnostic } from './diagnostics.js';
import type { LlmProgress, Reporter } from './events.js';
import { execute, type ExecuteResult, type LlmProvision } from './executor.js';
import type { LlmConfig } from './llm/config.js';
import type { JsonObject } from './json.js';
import type { CodeProbe } from './code-deps.js';
import { loadPlan, savePlan } from './plan-cache.js';
import type { PipelineGraph } from './pipeline/graph.js';
import type { NodeRegistry } from './registry.js';
import type { ItemJobData, ItemJobResult } from './workers/item-job.js';
import type { JobQueue } from './workers/job-queue.js';
import { RunStore } from './run-store.js';

export interface PipelineRequest {
  file: string;
  /** The node types; a function so that a fully cached run never loads them. */
  registry: NodeRegistry | (() => Promise<NodeRegistry>);
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
  /** Share of a node's items allowed to fail when the node sets no `max_failed` (0 to 1; default 0). */
  maxFailed?: number;
  /** redis://…: online LLM calls are sent by `synthcse worker` processes; this process stays the only cache writer. */
  redisUrl?: string;
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
export async function preparePipeline(request: PipelineRequest & { requireLlm?: boolean; keyInWorkers?: boolean }): Promise<PreparedPipeline> {
  const env = request.env ?? process.env;
  const file = resolvePath(request.file);
  if (!existsSync(file)) (await import('./pipeline/resolve.js')).resolvePipeline(file, { env }); // reports the missing file
  const store = new Store(request.cacheDir ? resolvePath(request.cacheDir) : defaultCacheDir(file, env));
  let registryPromise: Promise<NodeRegistry> | undefined;
  const registry = (plugins: readonly string[]) =>
    (registryPromise ??= (async () => {
      const r = typeof request.registry === 'function' ? await request.registry() : request.registry;
      await r.loadPlugins(plugins);
      return r;
    })());
  const planRequest = { file, variant: request.variant, set: request.set, env };
  let graph: PipelineGraph;
  let rawLlm: JsonObject | undefined;
  let codeProbes: CodeProbe[] = [];
  const cached = loadPlan(
    store,
    planRequest,
    async (type, plugins) => (await registry(plugins)).type(type)!,
    async () => (await import('./pipeline/resolve.js')).resolvePipeline(file, planRequest).locations,
  );
  if (cached) {
    graph = cached.graph;
    rawLlm = cached.llmConfig;
  } else {
    const [{ resolvePipeline }, { buildGraph }] = await Promise.all([import('./pipeline/resolve.js'), import('./pipeline/graph.js')]);
    const pipeline = resolvePipeline(file, planRequest);
    const types = await registry(pipeline.plugins);
    graph = buildGraph(pipeline, types, env);
    rawLlm = pipeline.llm;
    codeProbes = types.codeProbes(new Set([...graph.nodes.values()].map((n) => n.type.type)));
  }
  const usesLlm = [...graph.nodes.values()].some((n) => n.type.uses?.llm);
  const diagnostics: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  let llmConfig: LlmConfig | undefined;
  if (usesLlm || rawLlm !== undefined) {
    const { LlmConfigSchema, llmConfigProblem } = await import('./llm/config.js');
    const parsed = LlmConfigSchema.safeParse(rawLlm ?? {});
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
        diagnostics.push({
          severity: 'error',
          reason: 'invalid-param',
          message: `llm${path.length ? '.' + path.join('.') : ''}: ${issue.message}${issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : ''}.`,
          location: graph.pipeline.locations.find(['llm', ...path]),
          hint: 'See docs/llm.md for the fields of the llm: section.',
        });
      }
    } else {
      llmConfig = parsed.data;
      // With workers (--redis) an anthropic key lives in each worker's environment, not the coordinator's.
      const keyElsewhere = request.keyInWorkers === true && llmConfig.provider === 'anthropic';
      const problem = usesLlm && !keyElsewhere ? llmConfigProblem(llmConfig, env, { variants: graph.pipeline.variantNames }) : undefined;
      if (problem) {
        const diagnostic: Diagnostic = {
          severity: request.requireLlm ? 'error' : 'warning',
          reason: 'llm-not-configured',
          message: problem,
          location: rawLlm === undefined ? undefined : graph.pipeline.locations.findKey(['llm']),
          origin: rawLlm === undefined ? 'environment' : undefined,
        };
        (request.requireLlm ? diagnostics : warnings).push(diagnostic);
      }
    }
  }
  if (diagnostics.length > 0) {
    store.close();
    throw new DiagnosticError(diagnostics);
  }
  if (!cached) savePlan(store, planRequest, graph, rawLlm, codeProbes);
  return { graph, store, llmConfig, usesLlm, warnings };
}

export interface RunOutcome extends ExecuteResult {
  runId: string;
  prepared: PreparedPipeline;
}

export async function runPipeline(request: RunRequest): Promise<RunOutcome> {
  const prepared = await preparePipeline({ ...request, requireLlm: !request.plan, keyInWorkers: !request.plan && request.redisUrl !== undefined });
  const { graph, store } = prepared;
  const runId = randomUUID();
  const runs = new RunStore(store);
  const variant = request.variant ?? '';
  const reporter: Reporter = request.reporter ?? (() => {});
  const started = Date.now();
  let service: { close(): Promise<void>; progress(): LlmProgress } | undefined;
  // With --redis, item work of node types that declare it goes to the workers too (connected when a node first needs it).
  let itemQueue: Promise<JobQueue<ItemJobData, ItemJobResult>> | undefined;
  const remoteItems =
    request.redisUrl === undefined || request.plan
      ? undefined
      : () =>
          (itemQueue ??= (async () => {
            const [{ connectJobQueue }, { ITEM_QUEUE }, { itemWorkAborted }] = await Promise.all([import('./workers/job-queue.js'), import('./workers/item-job.js'), import('./node-context.js')]);
            return connectJobQueue<ItemJobData, ItemJobResult>({
              redisUrl: request.redisUrl!,
              queue: ITEM_QUEUE,
              aborted: itemWorkAborted,
              failure: (message) => new Error(message),
              warn: (message) => reporter({ type: 'log', node: 'workers', level: 'warn', message }),
            });
          })());
  try {
    let llm: LlmProvision | undefined;
    if (prepared.usesLlm && prepared.llmConfig) {
      const redisUrl = request.plan ? undefined : request.redisUrl;
      const provision = await createProvision(prepared.llmConfig, store, request.env ?? process.env, request.budgetUsd, reporter, request.plan === true, redisUrl);
      llm = provision.provision;
      service = provision.service;
    }
    if (!request.plan) {
      runs.startRun(runId, graph.pipeline.file, variant, [...(request.argv ?? [])], graph.order.map((id) => ({ id, type: graph.nodes.get(id)!.type.type })));
      reporter({ type: 'run-start', runId, pipeline: graph.pipeline.name, variant, nodes: graph.order.length });
    }
    const result = await execute({
      store,
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
      maxFailed: request.maxFailed,
      ...(remoteItems ? { remoteItems } : {}),
    });
    if (!request.plan) {
      runs.finishRun(runId, result.status);
      const items = { cached: 0, ran: 0, failed: 0 };
      for (const o of result.outcomes.values()) {
        items.cached += o.items.cached;
        items.ran += o.items.ran;
        items.failed += o.items.failed;
      }
      reporter({ type: 'run-end', runId, status: result.status, ms: Date.now() - started, items, ...(service ? { llm: service.progress() } : {}) });
    }
    return { ...result, runId, prepared };
  } finally {
    await service?.close();
    if (itemQueue !== undefined) await (await itemQueue.catch(() => undefined))?.close();
  }
}

/** Loads the LLM service only when a node needs it, so pipelines without LLM nodes never load the SDK. */
async function createProvision(
  config: LlmConfig,
  store: Store,
  env: NodeJS.ProcessEnv,
  budgetUsd: number | undefined,
  reporter: Reporter,
  plan: boolean,
  redisUrl: string | undefined,
): Promise<{ provision: LlmProvision; service: { close(): Promise<void>; progress(): LlmProgress } }> {
  const { createLlmService } = await import('./llm/service.js');
  const { llmConfigProblem, llmServiceKey } = await import('./llm/config.js');
  const warn = (message: string) => reporter({ type: 'log', node: 'llm', level: 'warn', message });
  // Loaded only with --redis, so a run without workers never loads BullMQ.
  const remote = redisUrl === undefined ? undefined : await (await import('./workers/remote-calls.js')).connectRemoteLlm(redisUrl, warn);
  const service = createLlmService({
    ...(remote === undefined ? {} : { remote }),
    config,
    store,
    env,
    budgetUsd,
    log: {
      info: (message: string) => reporter({ type: 'log', node: 'llm', level: 'info', message }),
      warn: (message: string) => reporter({ type: 'log', node: 'llm', level: 'warn', message }),
    },
  });
  try {
    // A local model is found (a run downloads it) and hashed once, before any key names it; a plan downloads nothing.
    await service.prepare({ download: !plan });
  } catch (error) {
    await service.close();
    throw new DiagnosticError([{ severity: 'error', reason: 'llm-not-configured', message: (error as Error).message, origin: 'environment' }]);
  }
  const provision: LlmProvision = {
    key: llmServiceKey(config, env),
    // With workers the key lives in each worker's environment, not here.
    problem: () => (remote !== undefined && config.provider === 'anthropic' ? undefined : llmConfigProblem(config, env)),
    client: (nodeId, overrides) => service.client(nodeId, overrides),
    spendOfNode: (nodeId) => service.spendThisRun(nodeId),
    progress: () => service.progress(),
  };
  return { provision, service };
}
