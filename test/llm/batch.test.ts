import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startMockLlmServer, type MockLlmServer } from '../support/mock-llm-server.js';
import { paraphraseRequest, tempCache, testService } from '../support/llm-fixtures.js';

const CHILD = fileURLToPath(new URL('../support/llm-batch-child.js', import.meta.url));

describe('Message Batches mode', () => {
  let server: MockLlmServer;
  before(async () => {
    server = await startMockLlmServer();
  });
  after(async () => {
    await server.close();
  });
  beforeEach(() => {
    server.setFaults({ batchProcessingMs: 100, batchItemErrorRate: 0, batchItemExpireRate: 0 });
  });

  it('collects calls into one batch, polls, and stores results under the online cache keys at half price', async () => {
    const cache = tempCache();
    try {
      const created = server.stats.batchesCreated;
      const service = testService(server.url, cache.store);
      const batch = service.client('gen', { mode: 'batch' });
      const requests = Array.from({ length: 30 }, (_, i) => paraphraseRequest(`A big dog number ${i} runs.`));
      const answers = await Promise.all(requests.map((request) => batch.complete(request, { sample: 0 })));
      assert.equal(server.stats.batchesCreated - created, 1);
      assert.ok(answers.every((a) => a.mode === 'batch' && !a.cached));
      assert.equal(answers[3]!.text, 'A large puppy number 3 runs.');
      const online = service.client('gen-online');
      const again = await online.complete(requests[3]!, { sample: 0 });
      assert.equal(again.cached, true);
      assert.equal(again.text, answers[3]!.text);
      assert.equal(online.requestKey(requests[3]!, 0), batch.requestKey(requests[3]!, 0));
      const spend = service.spendByNode().find((s) => s.nodeId === 'gen')!;
      assert.equal(spend.mode, 'batch');
      assert.equal(spend.requests, 30);
      // Batch price = 50% of online (haiku 4.5: 1 USD in, 5 USD out per MTok).
      const full = (spend.usage.input_tokens * 1 + spend.usage.output_tokens * 5) / 1e6;
      assert.ok(Math.abs(spend.costUsd - full / 2) < 1e-12);
      await service.close();
    } finally {
      cache.cleanup();
    }
  });

  it('resubmits only errored and expired items', async () => {
    const cache = tempCache();
    try {
      server.setFaults({ batchItemErrorRate: 0.3, batchItemExpireRate: 0.1 });
      const created = server.stats.batchesCreated;
      const service = testService(server.url, cache.store, { config: { max_attempts: 10 } });
      const batch = service.client('gen', { mode: 'batch' });
      const requests = Array.from({ length: 40 }, (_, i) => paraphraseRequest(`Expiring sentence ${i}.`));
      const answers = await Promise.all(requests.map((request) => batch.complete(request, { sample: 0 })));
      assert.equal(answers.length, 40);
      assert.ok(server.stats.batchesCreated - created > 1);
      assert.equal(server.stats.batchItemsResentAfterSuccess, 0);
      await service.close();
    } finally {
      cache.cleanup();
    }
  });

  it('after kill -9, a new process polls the recorded batch instead of resubmitting', async () => {
    const cache = tempCache();
    try {
      server.setFaults({ batchProcessingMs: 600_000 });
      const created = server.stats.batchesCreated;
      const receivedBefore = new Map(server.stats.batchItemsReceived);
      const child = spawn(process.execPath, [CHILD, server.url, cache.dir, '25'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const db = new Database(join(cache.dir, 'cache.db'), { readonly: false });
      await waitFor(() => {
        try {
          return (db.prepare('SELECT count(*) AS n FROM llm_batches').get() as { n: number }).n > 0;
        } catch {
          return false;
        }
      }, 20_000);
      child.kill('SIGKILL');
      await exited;
      const recorded = db.prepare('SELECT count(*) AS n FROM llm_batch_items WHERE batch_id IS NOT NULL').get() as { n: number };
      assert.equal(recorded.n, 25);
      db.close();
      assert.equal(server.stats.batchesCreated - created, 1);

      server.finishBatches();
      const output = await runChild([CHILD, server.url, cache.dir, '25']);
      const result = JSON.parse(output.trim().split('\n').pop()!) as { answered: number; modes: string[]; paid: number };
      assert.equal(result.answered, 25);
      assert.deepEqual(result.modes, ['batch']);
      assert.equal(server.stats.batchesCreated - created, 1, 'no batch was submitted again');
      // Each item was sent to the provider exactly once.
      const sent = [...server.stats.batchItemsReceived].map(([id, n]) => n - (receivedBefore.get(id) ?? 0)).filter((n) => n > 0);
      assert.equal(sent.length, 25);
      assert.ok(sent.every((n) => n === 1));
      // And a third run is all cache hits.
      const third = JSON.parse((await runChild([CHILD, server.url, cache.dir, '25'])).trim().split('\n').pop()!) as { paid: number };
      assert.equal(third.paid, 0);
    } finally {
      cache.cleanup();
    }
  });
});

describe('leases across processes', () => {
  it('takes over the lease of a process killed with SIGKILL mid-call, without waiting for it to go stale', async () => {
    const server = await startMockLlmServer({ hangRate: 1 });
    const cache = tempCache();
    try {
      const child = spawn(process.execPath, [CHILD, server.url, cache.dir, '3', 'online'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      const db = new Database(join(cache.dir, 'cache.db'));
      await waitFor(() => {
        try {
          return (db.prepare('SELECT count(*) AS n FROM llm_leases').get() as { n: number }).n === 3 && (server.stats.byRoute['POST /v1/messages'] ?? 0) >= 1;
        } catch {
          return false;
        }
      }, 20_000);
      child.kill('SIGKILL');
      await exited;
      db.close();
      server.setFaults({ hangRate: 0 });
      const service = testService(server.url, cache.store);
      const client = service.client('batch-node');
      const started = Date.now();
      const answers = await Promise.all([0, 1, 2].map((i) => client.complete(paraphraseRequest(`Batch sentence number ${i} is here.`), { sample: 0 })));
      assert.ok(answers.every((a) => !a.cached));
      assert.ok(Date.now() - started < 10_000, 'did not wait for the 60 s heartbeat timeout');
      assert.equal(server.stats.resentAfterSuccess, 0);
      await service.close();
    } finally {
      cache.cleanup();
      await server.close();
    }
  });
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function runChild(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${err}`))));
  });
}
