/**
 * A small stand-in for the engine's NodeContext and LlmClient, for unit tests of node types without an engine:
 * mapItems is a plain loop that records failures the way the engine does, memoFile builds into a temp dir, and
 * the LLM is a function from request to reply text.
 */
import { mkdtempSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { canonicalJson, digestJson, sha256, type Digest, type ItemKey, type Json, type Row } from '../../engine/json.js';
import type { AnyNodeType, ItemCounts, ItemMapResult, ItemMapSpec, ItemOutcome, ItemStream, NodeContext, NodeStats, PortValue } from '../../engine/node-type.js';
import { rowsInMemory } from '../../engine/values.js';
import type { LlmClient, LlmRequest, LlmResponse, RequestPlanner } from '../../engine/llm/types.js';

export interface FakeReply {
  text: string;
  stopReason?: string;
}
export type FakeLlm = (request: LlmRequest, sample: number) => FakeReply | string;

export interface RecordedCall {
  request: LlmRequest;
  sample: number;
}

export class FakeLlmClient implements LlmClient {
  readonly calls: RecordedCall[] = [];
  constructor(
    private readonly answer: FakeLlm,
    readonly provider: 'anthropic' | 'openai-compatible' = 'openai-compatible',
    readonly model = 'fake-model',
    readonly mode: 'online' | 'batch' = 'online',
    private readonly problems: (r: LlmRequest) => string[] = () => [],
  ) {}
  requestKey(request: LlmRequest, sample: number): ItemKey {
    return digestJson({ provider: this.provider, request, sample }) as string as ItemKey;
  }
  isCached(): boolean {
    return false;
  }
  async complete(request: LlmRequest, options: { sample: number }): Promise<LlmResponse> {
    this.calls.push({ request, sample: options.sample });
    const reply = this.answer(request, options.sample);
    const r = typeof reply === 'string' ? { text: reply } : reply;
    return {
      text: r.text,
      stopReason: r.stopReason ?? 'end_turn',
      model: this.model,
      usage: { input_tokens: 1, output_tokens: 1, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
      latencyMs: 0,
      cached: false,
      responseDigest: sha256(r.text),
      mode: this.mode,
    };
  }
  validate(request: LlmRequest): string[] {
    if (this.provider === 'anthropic' && (request.presence_penalty !== undefined || request.frequency_penalty !== undefined)) {
      return ['anthropic does not support presence_penalty/frequency_penalty'];
    }
    return this.problems(request);
  }
  estimate(requests: readonly { request: LlmRequest; sample: number }[]): { requests: number; inputTokens: number; outputTokens: number; costUsd: number } {
    return { requests: requests.length, inputTokens: 0, outputTokens: 0, costUsd: 0 };
  }
  planner(): RequestPlanner {
    return { isCached: () => this.isCached(), cost: () => ({ inputTokens: 0, outputTokens: 0, costUsd: 0 }) };
  }
}

export interface FakeContext<O> extends NodeContext<O> {
  /** Item keys passed to mapItems, in order, per namespace. */
  itemKeys: { namespace: string; key: Json }[];
  failures: { namespace: string; reason: string }[];
  logs: string[];
}

export function fakeContext<O>(opts: { options: O; baseDir?: string; llm?: LlmClient }): FakeContext<O> {
  const baseDir = opts.baseDir ?? process.cwd();
  const cacheDir = mkdtempSync(join(tmpdir(), 'synthcse-test-cache-'));
  const stats: NodeStats = {};
  const itemKeys: { namespace: string; key: Json }[] = [];
  const failures: { namespace: string; reason: string }[] = [];
  const logs: string[] = [];
  const ctx: FakeContext<O> = {
    nodeId: 'test',
    options: opts.options,
    signal: new AbortController().signal,
    log: { info: (m) => logs.push(m), warn: (m) => logs.push(`warn: ${m}`) },
    progress: () => ({ tick() {}, setTotal() {}, done() {} }),
    resolvePath: (p) => (isAbsolute(p) ? p : resolve(baseDir, p)),
    tempDir: () => mkdtempSync(join(tmpdir(), 'synthcse-test-tmp-')),
    cacheDir,
    async mapItemWork() {
      throw new Error('mapItemWork is not available in the fake context (test item work through the engine)');
    },
    async mapItems<I, R extends Json>(items: readonly I[], spec: ItemMapSpec<I, R>): Promise<ItemMapResult<R>> {
      const results: (R | undefined)[] = [];
      const fails: ItemMapResult<R>['failures'] = [];
      for (const [i, item] of items.entries()) {
        const key = spec.key(item, i, 0);
        itemKeys.push({ namespace: spec.namespace, key });
        try {
          results.push(await spec.run(item, i, ctx.signal, 0));
        } catch (error) {
          const reason = (error as Error).message;
          results.push(undefined);
          fails.push({ index: i, key: digestJson(key) as string as ItemKey, reason });
          failures.push({ namespace: spec.namespace, reason });
        }
      }
      return { results, failures: fails, cached: 0, ran: items.length, skipped: 0 };
    },
    streamItems<I, R extends Json>(items: Iterable<I> | AsyncIterable<I>, spec: ItemMapSpec<I, R>): ItemStream<I, R> {
      const counts: ItemCounts = { cached: 0, ran: 0, failed: 0, skipped: 0 };
      async function* outcomes(): AsyncGenerator<ItemOutcome<I, R>> {
        let index = 0;
        for await (const item of items) {
          const i = index++;
          const key = spec.key(item, i, 0);
          itemKeys.push({ namespace: spec.namespace, key });
          try {
            const result = await spec.run(item, i, ctx.signal, 0);
            counts.ran++;
            yield { index: i, item, result };
          } catch (error) {
            const reason = (error as Error).message;
            counts.failed++;
            failures.push({ namespace: spec.namespace, reason });
            yield { index: i, item, result: undefined, failure: { index: i, key: digestJson(key) as string as ItemKey, reason } };
          }
        }
      }
      return { counts, [Symbol.asyncIterator]: outcomes };
    },
    async memoFile(key: Json, build: (outPath: string) => Promise<void>): Promise<string> {
      const dir = join(cacheDir, 'memo');
      mkdirSync(dir, { recursive: true });
      const out = join(dir, digestJson(key));
      if (!existsSync(out)) await build(out);
      return out;
    },
    memoFileExists: (key: Json) => existsSync(join(cacheDir, 'memo', digestJson(key))),
    planning: false,
    llm: () => {
      if (!opts.llm) throw new Error('no LLM configured in this test');
      return opts.llm;
    },
    checkpoints: { load: () => undefined, save: () => {} },
    stats,
    itemKeys,
    failures,
    logs,
  };
  return ctx;
}

export function rowsValue(rows: Row[]): PortValue {
  return rowsInMemory(rows, sha256(canonicalJson(rows)) as Digest);
}

/** Parses params with the node's schema (defaults applied) and runs it, as the engine would. */
export async function runNode(
  type: AnyNodeType,
  inputs: Record<string, PortValue | undefined>,
  params: unknown,
  ctx: NodeContext<unknown>,
): Promise<Record<string, unknown>> {
  const p = type.params.parse(params);
  const o = type.options ? type.options.parse(ctx.options ?? {}) : {};
  (ctx as { options: unknown }).options = o;
  const outputs = (await type.run(inputs as never, p, ctx)) as Record<string, unknown>;
  // Streamed rows outputs are drained, as the engine drains them, so tests see arrays.
  for (const [port, value] of Object.entries(outputs)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && Symbol.asyncIterator in value) {
      const rows: unknown[] = [];
      for await (const row of value as AsyncIterable<unknown>) rows.push(row);
      outputs[port] = rows;
    }
  }
  return outputs;
}
