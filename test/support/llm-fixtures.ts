/** Shared setup for LLM tests: a temporary cache, a service pointed at the mock server, simple requests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../cache/store.js';
import { LlmConfigSchema, createLlmService, type LlmConfig, type LlmService } from '../../engine/llm/service.js';
import type { LlmRequest } from '../../engine/llm/types.js';
import type { Logger } from '../../engine/node-type.js';

export const TEST_KEY = 'sk-ant-test-0123456789abcdef';

export interface TempCache {
  dir: string;
  store: Store;
  cleanup(): void;
}

export function tempCache(): TempCache {
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-llm-'));
  const store = new Store(dir);
  return {
    dir,
    store,
    cleanup() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface CapturingLogger extends Logger {
  lines: string[];
}

export function capturingLogger(): CapturingLogger {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(`info: ${m}`), warn: (m) => lines.push(`warn: ${m}`) };
}

/** Test defaults: fast backoff and polling so fault tests take milliseconds. */
export function testConfig(url: string, overrides: Record<string, unknown> = {}): LlmConfig {
  return LlmConfigSchema.parse({
    base_url: url,
    max_concurrency: 8,
    requests_per_minute: 60_000,
    tokens_per_minute: 100_000_000,
    // Generous: the suite runs on loaded machines, and a timed-out attempt is retried (a resend the tests count).
    timeout_ms: 15_000,
    max_attempts: 4,
    backoff_base_ms: 10,
    backoff_max_ms: 100,
    batch_poll_ms: 50,
    batch_quiet_ms: 100,
    ...overrides,
  });
}

export function testService(
  url: string,
  store: Store,
  options: { config?: Record<string, unknown>; budgetUsd?: number; log?: Logger; env?: NodeJS.ProcessEnv } = {},
): LlmService {
  return createLlmService({
    config: testConfig(url, options.config),
    store,
    env: options.env ?? { ANTHROPIC_API_KEY: TEST_KEY },
    ...(options.budgetUsd === undefined ? {} : { budgetUsd: options.budgetUsd }),
    log: options.log ?? capturingLogger(),
    leasePollMs: 20,
  });
}

export function paraphraseRequest(sentence: string, model = 'claude-haiku-4-5'): LlmRequest {
  return {
    model,
    system: 'Please paraphrase the input sentence or phrase, providing an alternative expression with the same meaning.',
    messages: [{ role: 'user', content: sentence }],
    max_tokens: 64,
  };
}
