/**
 * `synthcse worker`'s item side: takes item-work jobs, loads the node type they name (built in, or from the
 * pipeline's plugins) and runs its itemWork on the item's data. The node type must be the one the run keyed: same
 * name, version and code digest; a worker with other code fails the job with a message saying so, rather than
 * computing something else under the run's key. Like LLM calls, results go back through Redis to the coordinator.
 */
import { hostname } from 'node:os';
import type { Job } from 'bullmq';
import { digestJson, type Json } from '../json.js';
import type { ItemScope } from '../keys.js';
import type { ItemWork } from '../node-type.js';
import type { NodeRegistry } from '../registry.js';
import { ITEM_QUEUE, type ItemJobData, type ItemJobResult } from './item-job.js';
import { queueWorker } from './redis.js';

export interface ItemWorkerOptions {
  redisUrl: string;
  /** Items this worker runs at once (item work that computes synchronously runs one at a time anyway). */
  concurrency: number;
  lockMs: number;
  /** The built-in node types; the jobs' plugins are loaded into it. */
  registry(): Promise<NodeRegistry>;
  log(message: string): void;
}

export interface ItemWorker {
  close(): Promise<void>;
}

export async function startItemWorker(options: ItemWorkerOptions): Promise<ItemWorker> {
  const name = `${hostname()}:${process.pid}`;
  const stopping = new AbortController();
  /** One registry per list of plugins (as a run loads them). */
  const registries = new Map<string, Promise<NodeRegistry>>();
  const registryFor = (plugins: readonly string[]) => {
    const id = JSON.stringify(plugins);
    let registry = registries.get(id);
    if (registry === undefined) {
      registry = options.registry().then(async (r) => {
        await r.loadPlugins(plugins);
        return r;
      });
      registry.catch(() => registries.delete(id)); // a plugin fixed on disk is loaded on the next job
      registries.set(id, registry);
    }
    return registry;
  };

  const workFor = async (scope: ItemScope, plugins: readonly string[], namespace: string): Promise<ItemWork> => {
    const load = async () => {
      try {
        return await registryFor(plugins);
      } catch (error) {
        throw new Error(`this worker cannot load the pipeline's plugins (${(error as Error).message.split('\n')[0]}); the same plugin files must be at the same paths on every worker machine.`);
      }
    };
    let registry = await load();
    if (!matches(registry, scope) && plugins.length > 0) {
      // The plugin may have been edited since this worker loaded it: load it afresh (its new code is imported anew).
      registries.delete(JSON.stringify(plugins));
      registry = await load();
    }
    const type = registry.type(scope.type);
    if (type === undefined || !matches(registry, scope)) {
      const has = type === undefined ? 'no such node type' : `${scope.type}@${type.version} with code ${codeDigest(registry, scope.type)?.slice(0, 12) ?? 'none'}`;
      throw new Error(`this worker has ${has}, the run needs ${scope.type}@${scope.version} with code ${scope.code?.slice(0, 12) ?? 'none'}: run the worker from the same synthcse version and plugin files as the pipeline.`);
    }
    const work = type.itemWork?.[namespace];
    if (work === undefined) throw new Error(`node type ${scope.type}@${scope.version} has no itemWork "${namespace}".`);
    return work;
  };

  const processJob = async (job: Job<ItemJobData, ItemJobResult>): Promise<ItemJobResult> => {
    const { scope, plugins, namespace, data } = job.data;
    const work = await workFor(scope, plugins, namespace);
    const value: Json = await work(data, stopping.signal);
    return { value, worker: name };
  };

  const worker = queueWorker<ItemJobData, ItemJobResult>(ITEM_QUEUE, processJob, options);
  await worker.waitUntilReady();
  return {
    async close() {
      await worker.close();
      stopping.abort();
    },
  };
}

/** Whether the registry's node type is the one the run keyed: same name, version and code. */
function matches(registry: NodeRegistry, scope: ItemScope): boolean {
  const type = registry.type(scope.type);
  return type !== undefined && type.version === scope.version && codeDigest(registry, scope.type) === scope.code;
}

/** The code digest of a node type as the coordinator's item scope carries it (see itemScope in node-key.ts). */
function codeDigest(registry: NodeRegistry, type: string): string | null {
  const record = registry.codeOf(type)?.record;
  return record === undefined ? null : digestJson(record as unknown as Json);
}
