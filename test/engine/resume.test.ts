/**
 * Interrupted runs: SIGKILL at random moments, Ctrl-C (drain), and two processes on one cache. After each, the same
 * command finishes the work, the result equals an uninterrupted run's, and finished items are never recomputed
 * beyond those in flight at the kill.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { countMatching, sleep, Workspace } from './support.js';

const ITEMS = 120;
const CONCURRENCY = 4;
const PIPELINE = `
name: slow
plugins: [$PLUGIN]
nodes:
  src:
    type: emit
    with:
      count: ${ITEMS}
  up:
    type: upper
    inputs:
      words: src
    with:
      delay_ms: 8
      concurrency: ${CONCURRENCY}
  total:
    type: count
    inputs:
      words: up
`;

function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('SIGKILL at random moments, then the same command: identical result, no finished item recomputed', async () => {
  const reference = new Workspace();
  reference.write('p.yaml', PIPELINE);
  assert.equal(reference.run(['run', 'p.yaml']).code, 0);
  const expected = reference.run(['export', 'up', '--out', 'up.jsonl', '--pipeline', 'p.yaml']);
  assert.equal(expected.code, 0, expected.stderr);

  const ws = new Workspace();
  ws.write('p.yaml', PIPELINE);
  const random = seededRandom(42);
  let kills = 0;
  for (let attempt = 0; attempt < 8; attempt++) {
    const child = ws.spawn(['run', 'p.yaml']);
    const exited = once(child, 'exit');
    await sleep(150 + Math.floor(random() * 350));
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      kills++;
    }
    await exited;
  }
  const final = ws.run(['run', 'p.yaml']);
  assert.equal(final.code, 0, final.stderr);
  const log = ws.takeLog();
  const computed = countMatching(log, 'upper ');
  assert.ok(kills > 0, 'at least one run was killed');
  assert.ok(computed >= ITEMS, `every item computed at least once (${computed})`);
  assert.ok(computed <= ITEMS + kills * CONCURRENCY, `recomputed only items in flight: ${computed} computations for ${ITEMS} items after ${kills} kills`);

  const exported = ws.run(['export', 'up', '--out', 'up.jsonl', '--pipeline', 'p.yaml']);
  assert.equal(exported.code, 0, exported.stderr);
  const { readFileSync } = await import('node:fs');
  assert.equal(readFileSync(`${ws.dir}/up.jsonl`, 'utf8'), readFileSync(`${reference.dir}/up.jsonl`, 'utf8'));
});

test('Ctrl-C drains: in-flight items finish and are kept, nothing new starts, rerun completes the rest', async () => {
  const ws = new Workspace();
  ws.write('p.yaml', PIPELINE);
  const child = ws.spawn(['run', 'p.yaml']);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(child, 'exit');
  // Wait until the upper node has started computing items.
  for (let i = 0; i < 100 && !ws.takeLogPeek().some((l) => l.startsWith('upper ')); i++) await sleep(20);
  child.kill('SIGINT');
  const [code] = (await exited) as [number | null];
  assert.equal(code, 130, stderr);
  assert.match(stderr, /Stopping: no new work starts/);
  assert.match(stderr, /stopped\s+up/);
  const firstRun = countMatching(ws.takeLog(), 'upper ');
  assert.ok(firstRun > 0 && firstRun < ITEMS, `drained part-way (${firstRun} items)`);
  const second = ws.run(['run', 'p.yaml']);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(countMatching(ws.takeLog(), 'upper '), ITEMS - firstRun, 'the rerun computes exactly the items not finished before');
});

test('two processes on the same cache compute each node once', async () => {
  const ws = new Workspace();
  ws.write('p.yaml', PIPELINE);
  const a = ws.spawn(['run', 'p.yaml']);
  const b = ws.spawn(['run', 'p.yaml']);
  const [[codeA], [codeB]] = (await Promise.all([once(a, 'exit'), once(b, 'exit')])) as [[number], [number]];
  assert.equal(codeA, 0);
  assert.equal(codeB, 0);
  const log = ws.takeLog();
  assert.equal(countMatching(log, 'upper '), ITEMS, 'no item computed twice');
  assert.equal(countMatching(log, 'count'), 1);
});
