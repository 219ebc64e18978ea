/** A small in-memory NodeContext for testing node modules without the engine. */
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { digestJson, type Json } from '../../engine/json.js';
import type { NodeContext, NodeStats, ProgressHandle } from '../../engine/node-type.js';

export interface FakeContext<O> extends NodeContext<O> {
  messages: { level: 'info' | 'warn'; message: string }[];
  savedCheckpoints: Map<string, Buffer>;
}

/** Shared across tests so the GloVe conversion (seconds) happens once per machine, like the real cache. */
export const SHARED_TEST_CACHE = join(tmpdir(), 'synthcse-train-test-cache');

export function fakeContext<O>(options: O, init: { baseDir?: string; cacheDir?: string; signal?: AbortSignal; checkpoints?: Map<string, Buffer>; onTick?: (done: number) => void } = {}): FakeContext<O> {
  const cacheDir = init.cacheDir ?? SHARED_TEST_CACHE;
  mkdirSync(cacheDir, { recursive: true });
  const messages: FakeContext<O>['messages'] = [];
  const saved = init.checkpoints ?? new Map<string, Buffer>();
  const stats: NodeStats = {};
  const progress = (): ProgressHandle => {
    let done = 0;
    return {
      tick(n = 1) {
        done += n;
        init.onTick?.(done);
      },
      setTotal() {},
      done() {},
    };
  };
  return {
    nodeId: 'test',
    options,
    signal: init.signal ?? new AbortController().signal,
    log: {
      info: (message) => messages.push({ level: 'info', message }),
      warn: (message) => messages.push({ level: 'warn', message }),
    },
    progress,
    resolvePath: (path) => resolve(init.baseDir ?? process.cwd(), path),
    tempDir: () => mkdtempSync(join(tmpdir(), 'synthcse-node-')),
    cacheDir,
    async mapItems() {
      throw new Error('mapItems is not available in the fake context');
    },
    async mapItemWork() {
      throw new Error('mapItemWork is not available in the fake context');
    },
    streamItems() {
      throw new Error('streamItems is not available in the fake context');
    },
    async memoFile(key: Json, build: (outPath: string) => Promise<void>) {
      const path = join(cacheDir, 'memo', digestJson(key));
      if (!existsSync(path)) {
        mkdirSync(join(cacheDir, 'memo'), { recursive: true });
        await build(path);
      }
      return path;
    },
    memoFileExists: (key: Json) => existsSync(join(cacheDir, 'memo', digestJson(key))),
    planning: false,
    llm() {
      throw new Error('no LLM in the fake context');
    },
    checkpoints: {
      load: (name) => saved.get(name),
      save: (name, data) => void saved.set(name, Buffer.from(data)),
    },
    stats,
    messages,
    savedCheckpoints: saved,
  };
}
