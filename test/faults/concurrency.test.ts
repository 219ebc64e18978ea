/**
 * Guarantee 4 (concurrency): two `synthcse run` processes started together on the same cache and pipeline (online
 * and batch LLM nodes) both finish, with one result equal to a single process's, and no request paid twice: every
 * request body reaches the loopback server once, and every batch item is submitted once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startMockLlmServer } from '../support/mock-llm-server.js';
import { oneLineResponder } from './crash-scenario.js';
import { collect, exportText, FaultProject, pipelineYaml, premises } from './support.js';

const PREMISES = 16;

function project(cache?: string): FaultProject {
  const p = new FaultProject(cache === undefined ? {} : { cache });
  p.write('premises.txt', premises(PREMISES).join('\n') + '\n');
  p.write('p.yaml', pipelineYaml({ train: false, batchBranch: true }));
  return p;
}

async function outputs(p: FaultProject): Promise<string[]> {
  return [await exportText(p, 'annotate', 'triplets'), await exportText(p, 'annotate_b', 'triplets'), await exportText(p, 'clean', 'triplets')];
}

test('two processes on one cache and pipeline: both finish, one result, no request or batch item paid twice', async () => {
  const reference = await startMockLlmServer({ responder: oneLineResponder });
  let expected: string[];
  try {
    const p = project();
    const r = await p.run(['run', 'p.yaml'], reference.url);
    assert.equal(r.code, 0, r.stderr);
    expected = await outputs(p);
  } finally {
    await reference.close();
  }

  const server = await startMockLlmServer({ responder: oneLineResponder, latencyMs: 30, batchProcessingMs: 500 });
  try {
    const a = project();
    // The second process: its own copy of the project files, the same cache directory.
    const b = project(a.cache);
    const [ra, rb] = await Promise.all([collect(a.spawn(['run', 'p.yaml'], server.url)), collect(b.spawn(['run', 'p.yaml'], server.url))]);
    assert.equal(ra.code, 0, ra.stderr);
    assert.equal(rb.code, 0, rb.stderr);
    assert.deepEqual(await outputs(a), expected);
    assert.deepEqual(await outputs(b), expected);
    const perBody = [...server.stats.received.values()];
    assert.equal(perBody.length, PREMISES * 2, 'every online request reached the server');
    assert.deepEqual(perBody.filter((n) => n > 1), [], 'no online request was sent twice');
    assert.equal(server.stats.resentAfterSuccess, 0);
    const perItem = [...server.stats.batchItemsReceived.values()];
    assert.equal(perItem.length, PREMISES * 2, 'every batch request was submitted');
    assert.deepEqual(perItem.filter((n) => n > 1), [], 'no batch item was submitted twice');
    assert.equal(server.stats.batchesCreated, 1, 'one batch for both processes');
  } finally {
    await server.close();
  }
});
