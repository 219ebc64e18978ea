/**
 * bench:llm — throughput and loss of the LLM layer against the loopback server: 50 requests/s with 100 ms latency and
 * 429 above that rate, 5,000 requests through the client configured for 50 requests/s; then again with 5% random
 * 500 errors. The last stdout line is one JSON object.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../cache/store.js';
import { LlmConfigSchema, createLlmService } from '../engine/llm/service.js';
import { LlmCallError, type LlmRequest } from '../engine/llm/types.js';
import { startMockLlmServer } from '../test/support/mock-llm-server.js';

const RATE_PER_SECOND = 50;
const LATENCY_MS = 100;
const REQUESTS = Number(process.env.BENCH_LLM_REQUESTS ?? 5_000);

interface RunResult {
  requests: number;
  answered: number;
  elapsed_s: number;
  achieved_rate_ratio: number;
  /** Requests the server accepted (any status but 429) per second, against the limit: retries included. */
  server_rate_ratio: number;
  server_requests: number;
  server_429s: number;
  server_500s: number;
  lost_items: number;
  resent_after_success: number;
  failures: Record<string, number>;
}

async function run(error500Rate: number): Promise<RunResult> {
  const server = await startMockLlmServer({ requestsPerSecond: RATE_PER_SECOND, latencyMs: LATENCY_MS, error500Rate, seed: 7 });
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-bench-llm-'));
  const store = new Store(dir);
  const service = createLlmService({
    config: LlmConfigSchema.parse({
      base_url: server.url,
      model: 'claude-haiku-4-5',
      max_concurrency: 16,
      requests_per_minute: RATE_PER_SECOND * 60,
      tokens_per_minute: 10_000_000,
      max_attempts: 8,
      backoff_base_ms: 200,
      backoff_max_ms: 5_000,
      timeout_ms: 10_000,
    }),
    store,
    env: { ANTHROPIC_API_KEY: 'sk-ant-bench-not-a-real-key' },
    log: { info: () => undefined, warn: (m) => process.stderr.write(`${m}\n`) },
  });
  const client = service.client('bench');
  const requests: LlmRequest[] = Array.from({ length: REQUESTS }, (_, i) => ({
    model: 'claude-haiku-4-5',
    system: 'Please paraphrase the input sentence or phrase, providing an alternative expression with the same meaning.',
    messages: [{ role: 'user', content: `Bench sentence ${i}: a man walks his big dog down the street.` }],
    max_tokens: 64,
  }));
  const failures: Record<string, number> = {};
  const started = performance.now();
  let answered = 0;
  await Promise.all(
    requests.map(async (request) => {
      try {
        await client.complete(request, { sample: 0 });
        answered++;
      } catch (error) {
        const reason = error instanceof LlmCallError ? error.reason : (error as Error).message;
        failures[reason] = (failures[reason] ?? 0) + 1;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  // Every answered item must be in the cache (nothing lost between answer and commit).
  const stored = requests.filter((request) => client.isCached(request, 0)).length;
  await service.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
  await server.close();
  const stats = server.stats;
  return {
    requests: REQUESTS,
    answered,
    elapsed_s: round(elapsed, 2),
    achieved_rate_ratio: round(answered / elapsed / RATE_PER_SECOND, 3),
    server_rate_ratio: round(((stats.byRoute['POST /v1/messages'] ?? 0) - (stats.byStatus[429] ?? 0)) / elapsed / RATE_PER_SECOND, 3),
    server_requests: stats.byRoute['POST /v1/messages'] ?? 0,
    server_429s: stats.byStatus[429] ?? 0,
    server_500s: stats.byStatus[500] ?? 0,
    lost_items: REQUESTS - Math.min(answered, stored),
    resent_after_success: stats.resentAfterSuccess,
    failures,
  };
}

function round(value: number, digits: number): number {
  return Math.round(value * 10 ** digits) / 10 ** digits;
}

const clean = await run(0);
process.stderr.write(`clean: ${JSON.stringify(clean)}\n`);
const withErrors = await run(0.05);
process.stderr.write(`with 5% 500s: ${JSON.stringify(withErrors)}\n`);
console.log(
  JSON.stringify({
    ...clean,
    limit_rps: RATE_PER_SECOND,
    latency_ms: LATENCY_MS,
    with_5pct_errors: withErrors,
  }),
);
