/**
 * Workers on Redis, end to end: a private redis-server, the loopback LLM server, three `synthcse worker` processes
 * and the coordinator (`synthcse run --redis`) as CLI processes. The server requires the API key, which only the
 * workers have, so every answer comes through a worker. Each scenario's rows must equal a single-process run's; a worker killed with
 * SIGKILL mid-job, the coordinator killed and restarted, and Redis restarted must neither lose nor duplicate rows, and
 * an answer that arrived is never paid for again.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { startMockLlmServer, type MockLlmServer } from '../support/mock-llm-server.js';
import { unlessPresent } from '../support/prerequisite.js';
import { redisAvailable, startRedis, type TestRedis } from '../support/redis-server.js';
import { collect, exportText, failedItems, FaultProject, pipelineYaml, premises, SENTINEL_KEY } from '../faults/support.js';

const PREMISES = 40; // 80 calls
const CALLS = 2 * PREMISES;
/** The coordinator has no key: the server (which requires one) would refuse any call it made itself. */
const NO_KEY = { ANTHROPIC_API_KEY: '' };
const skip = unlessPresent(redisAvailable(), 'redis-server (Debian package redis-server)');

function project(): FaultProject {
  const p = new FaultProject();
  p.write('premises.txt', premises(PREMISES).join('\n') + '\n');
  // A generous timeout: on a loaded machine a timed-out attempt is sent again, which would read as a resend here.
  p.write('p.yaml', pipelineYaml({ train: false, concurrency: 64, llm: { timeout_ms: 60000 } }));
  return p;
}

/** Forgets which bodies were answered (the reference run sent the same ones), keeping the answers themselves. */
function forgetAnswered(server: MockLlmServer): void {
  server.stats.received.clear();
  server.stats.succeeded.clear();
  server.stats.resentAfterSuccess = 0;
}

function messages(server: MockLlmServer): number {
  return server.stats.byRoute['POST /v1/messages'] ?? 0;
}

async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 20));
  }
}

/** Rows of a cache's llm_responses (one per paid request key). */
function storedAnswers(p: FaultProject): number {
  const db = new Database(join(p.cache, 'cache.db'), { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM llm_responses').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('workers on Redis', { skip }, () => {
  let server: MockLlmServer;
  let reference: string;

  before(async () => {
    server = await startMockLlmServer({ latencyMs: 150, apiKey: SENTINEL_KEY });
    const single = project();
    const run = await single.run(['run', 'p.yaml'], server.url);
    assert.equal(run.code, 0, run.stderr);
    reference = await exportText(single, 'annotate', 'triplets');
    assert.equal(reference.trim().split('\n').length, PREMISES);
  });
  after(() => server?.close());

  /** Redis, three workers bound to the loopback server, and a fresh project; all stopped afterwards. */
  async function cluster(): Promise<{ redis: TestRedis; workers: ChildProcess[]; p: FaultProject; stop(): Promise<void> }> {
    forgetAnswered(server);
    const redis = await startRedis();
    const p = project();
    const workers = [0, 1, 2].map(() => p.spawn(['worker', '--redis', redis.url, '--concurrency', '4', '--base-url', server.url, '--lock-ms', '5000'], undefined));
    await Promise.all(workers.map(async (w) => {
      let text = '';
      w.stderr!.on('data', (d: Buffer) => (text += d.toString()));
      await until(() => text.includes('ready'), 'a worker to start', 20_000);
    }));
    return {
      redis,
      workers,
      p,
      async stop() {
        await Promise.all(workers.map(async (w) => {
          if (w.exitCode !== null || w.signalCode !== null) return;
          const exited = once(w, 'exit');
          w.kill('SIGKILL');
          await exited;
        }));
        await redis.stop();
      },
    };
  }

  it('three workers give the rows of a single-process run, each answer paid once', async () => {
    const c = await cluster();
    try {
      const before = messages(server);
            const run = await c.p.run(['run', 'p.yaml', '--redis', c.redis.url], server.url, NO_KEY);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(await exportText(c.p, 'annotate', 'triplets'), reference);
      assert.equal(messages(server) - before, CALLS);
      assert.equal(server.stats.resentAfterSuccess, 0);
      assert.equal(storedAnswers(c.p), CALLS);
    } finally {
      await c.stop();
    }
  });

  it('a worker killed with SIGKILL mid-job: its jobs go to the others', async () => {
    const c = await cluster();
    try {
      const before = messages(server);
            const coordinator = c.p.spawn(['run', 'p.yaml', '--redis', c.redis.url], server.url, NO_KEY);
      const done = collect(coordinator);
      await until(() => messages(server) - before >= CALLS / 3, 'a third of the calls');
      c.workers[0]!.kill('SIGKILL');
      const run = await done;
      assert.equal(run.code, 0, run.stderr);
      assert.equal(await exportText(c.p, 'annotate', 'triplets'), reference);
      assert.equal(storedAnswers(c.p), CALLS);
      // Only the dead worker's jobs in flight (at most its 4 slots) can have been sent again.
      assert.ok(server.stats.resentAfterSuccess <= 4, `resent ${server.stats.resentAfterSuccess}`);
    } finally {
      await c.stop();
    }
  });

  it('the coordinator killed and restarted: answers that arrived meanwhile are taken from Redis, not paid again', async () => {
    const c = await cluster();
    try {
      const before = messages(server);
            const first = c.p.spawn(['run', 'p.yaml', '--redis', c.redis.url], server.url, NO_KEY);
      const firstDone = collect(first);
      await until(() => messages(server) - before >= CALLS / 3, 'a third of the calls');
      first.kill('SIGKILL');
      assert.equal((await firstDone).signal, 'SIGKILL');
      const run = await c.p.run(['run', 'p.yaml', '--redis', c.redis.url], server.url, NO_KEY);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(await exportText(c.p, 'annotate', 'triplets'), reference);
      assert.equal(storedAnswers(c.p), CALLS);
      assert.equal(server.stats.resentAfterSuccess, 0);
      assert.equal(messages(server) - before, CALLS);
    } finally {
      await c.stop();
    }
  });

  it('a call the provider refuses fails its item with the same reason as in one process; a rerun asks again', async () => {
    const c = await cluster();
    try {
      server.setFaults({ alwaysStatus: 400 });
      const refused = await c.p.run(['run', 'p.yaml', '--redis', c.redis.url], server.url, NO_KEY);
      server.setFaults({ alwaysStatus: undefined });
      const failed = failedItems(refused.stderr).get('annotate');
      assert.equal(failed?.count, PREMISES, refused.stderr);
      assert.match(failed!.reasons, /invalid-request/);
      forgetAnswered(server);
      const run = await c.p.run(['run', 'p.yaml', '--redis', c.redis.url], server.url, NO_KEY);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(await exportText(c.p, 'annotate', 'triplets'), reference);
      assert.equal(storedAnswers(c.p), CALLS);
    } finally {
      server.setFaults({ alwaysStatus: undefined });
      await c.stop();
    }
  });

  it('llm.requests_per_minute is one pace for all workers together, kept through Redis', async () => {
    const c = await cluster();
    try {
      // 1,200 a minute: one start every 50 ms across the three workers, so the 80 calls take at least about 4 s (each
      // worker on its own pace would take a third of that).
      c.p.write('p.yaml', pipelineYaml({ train: false, concurrency: 64, llm: { timeout_ms: 60000, requests_per_minute: 1200 } }));
      const before = messages(server);
      let firstAt = 0;
      let lastAt = 0;
      // When the endpoint saw the first and the last call (sampled every 10 ms).
      const sampler = setInterval(() => {
        const seen = messages(server) - before;
        if (seen > 0 && firstAt === 0) firstAt = Date.now();
        if (seen >= CALLS && lastAt === 0) lastAt = Date.now();
      }, 10);
      const run = await c.p.run(['run', 'p.yaml', '--redis', c.redis.url], server.url, NO_KEY);
      clearInterval(sampler);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(storedAnswers(c.p), CALLS);
      const seconds = (lastAt - firstAt) / 1000;
      assert.ok(seconds >= ((CALLS - 1) * 50) / 1000 - 0.1, `80 calls at 1,200 a minute were sent within ${seconds} s`);
    } finally {
      await c.stop();
    }
  });

  it('Redis restarted mid-run (its queue lost): the coordinator queues the rest again and finishes', async () => {
    const c = await cluster();
    try {
      const before = messages(server);
      const coordinator = c.p.spawn(['run', 'p.yaml', '--redis', c.redis.url], server.url, NO_KEY);
      const done = collect(coordinator);
      await until(() => messages(server) - before >= CALLS / 3, 'a third of the calls');
      await c.redis.restart();
      const run = await done;
      assert.equal(run.code, 0, run.stderr);
      assert.equal(await exportText(c.p, 'annotate', 'triplets'), reference);
      assert.equal(storedAnswers(c.p), CALLS);
    } finally {
      await c.stop();
    }
  });
});
