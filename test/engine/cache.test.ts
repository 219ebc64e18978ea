import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countMatching, Workspace } from './support.js';

const PIPELINE = `
name: words
plugins: [$PLUGIN]
params:
  n: 20
  prefix: w
nodes:
  src:
    type: emit
    with:
      count: \${params.n}
      prefix: \${params.prefix}
  up:
    type: upper
    inputs:
      words: src
    with:
      suffix: "!"
  total:
    type: count
    inputs:
      words: up
variants:
  shout:
    nodes:
      up:
        with:
          suffix: "!!"
  other-source:
    nodes:
      src:
        type: join
        inputs:
          a: base
      base:
        type: emit
        with:
          count: \${params.n}
          prefix: \${params.prefix}
`;

test('a rerun with nothing changed computes nothing', () => {
  const ws = new Workspace();
  const file = ws.write('p.yaml', PIPELINE);
  // Initially everything runs.
  {
    const r = ws.run(['run', file]);
    assert.equal(r.code, 0, r.stderr);
    const log = ws.takeLog();
    assert.equal(countMatching(log, 'emit'), 1);
    assert.equal(countMatching(log, 'upper '), 20);
    assert.equal(countMatching(log, 'count'), 1);
  }
  // No input changed: every node is a cache hit.
  {
    const r = ws.run(['run', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(ws.takeLog(), []);
    assert.match(r.stderr, /cached\s+src/);
    assert.match(r.stderr, /cached\s+total/);
  }
});

test('adding rows recomputes only the new items', () => {
  const ws = new Workspace();
  const file = ws.write('p.yaml', PIPELINE);
  assert.equal(ws.run(['run', file]).code, 0);
  ws.takeLog();
  const r = ws.run(['run', file, '--set', 'params.n=25']);
  assert.equal(r.code, 0, r.stderr);
  const log = ws.takeLog();
  assert.equal(countMatching(log, 'upper '), 5, 'only the 5 new words are upper-cased');
  assert.deepEqual(log.filter((l) => l.startsWith('upper ')).sort(), ['upper w20', 'upper w21', 'upper w22', 'upper w23', 'upper w24']);
  assert.match(r.stderr, /20 cached, 5 ran/);
});

test('early cutoff: an upstream change that yields identical output stops there', () => {
  const ws = new Workspace();
  const file = ws.write(
    'p.yaml',
    PIPELINE.replace('      prefix: ${params.prefix}\n  up:', '      prefix: ${params.prefix}\n      note: first\n  up:'),
  );
  assert.equal(ws.run(['run', file]).code, 0);
  ws.takeLog();
  const changed = ws.write('p.yaml', PIPELINE.replace('      prefix: ${params.prefix}\n  up:', '      prefix: ${params.prefix}\n      note: second\n  up:'));
  const r = ws.run(['run', changed]);
  assert.equal(r.code, 0, r.stderr);
  const log = ws.takeLog();
  assert.deepEqual(log, ['emit'], 'emit reruns (its parameter changed) but produces the same rows, so nothing downstream runs');
  assert.match(r.stderr, /cached\s+up/);
});

test('a variant reuses every node whose inputs did not change', () => {
  const ws = new Workspace();
  const file = ws.write('p.yaml', PIPELINE);
  assert.equal(ws.run(['run', file]).code, 0);
  ws.takeLog();
  // A variant that swaps the front end for a different node producing the same rows: everything after is reused.
  {
    const r = ws.run(['run', file, '--variant', 'other-source']);
    assert.equal(r.code, 0, r.stderr);
    // "base" is the same computation as the former "src" (same type and parameters), so it is a hit too.
    assert.deepEqual(ws.takeLog(), ['join']);
    assert.match(r.stderr, /cached\s+up/);
    assert.match(r.stderr, /cached\s+total/);
  }
  // A variant that changes a parameter of one node reruns that node and what it feeds.
  {
    const r = ws.run(['run', file, '--variant', 'shout']);
    assert.equal(r.code, 0, r.stderr);
    const log = ws.takeLog();
    assert.equal(countMatching(log, 'upper '), 20);
    assert.match(r.stderr, /cached\s+src/);
  }
  // Going back to the base pipeline is all cache hits.
  assert.equal(ws.run(['run', file]).code, 0);
  assert.deepEqual(ws.takeLog(), []);
});

test('--force recomputes a node, and its items are still reused', () => {
  const ws = new Workspace();
  const file = ws.write('p.yaml', PIPELINE);
  assert.equal(ws.run(['run', file]).code, 0);
  ws.takeLog();
  const r = ws.run(['run', file, '--force', 'up']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /ran\s+up .*20 cached/);
  assert.deepEqual(ws.takeLog(), [], 'item results are reused even when the node is forced');
});

test('--only runs a node and its upstream, nothing downstream', () => {
  const ws = new Workspace();
  const file = ws.write('p.yaml', PIPELINE);
  const r = ws.run(['run', file, '--only', 'up']);
  assert.equal(r.code, 0, r.stderr);
  const log = ws.takeLog();
  assert.equal(countMatching(log, 'count'), 0);
  assert.equal(countMatching(log, 'upper '), 20);
});

test('failed items are recorded, counted, and retried alone on the next run', () => {
  const ws = new Workspace();
  const failing = ws.write('p.yaml', PIPELINE.replace('      suffix: "!"\n', '      suffix: "!"\n      fail_on: w3\n'));
  const first = ws.run(['run', failing]);
  assert.equal(first.code, 4, first.stderr);
  assert.match(first.stderr, /partial\s+up .*1 failed \(refused: 1\)/);
  assert.match(first.stderr, /up: 1 item\(s\) failed \(1 × refused\)/);
  assert.match(first.stderr, /skipped\s+total[^\n]*\n\s+not run: up left 1 failed item/, 'downstream does not run on partial input');
  ws.takeLog();
  // The failure is gone (fail_on is operational, so the key is the same): only that item runs.
  const fixed = ws.write('p.yaml', PIPELINE);
  const second = ws.run(['run', fixed]);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(ws.takeLog().filter((l) => l.startsWith('upper ')), ['upper w3']);
});

test('plan --explain says what changed since the last run', () => {
  const ws = new Workspace();
  const file = ws.write('p.yaml', PIPELINE);
  assert.equal(ws.run(['run', file]).code, 0);
  const plan = ws.run(['plan', file, '--explain', '--set', 'params.prefix=v']);
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(plan.stdout, /params\.prefix "w" → "v"/);
  assert.match(plan.stdout, /input words changed/);
  const same = ws.run(['plan', file]);
  assert.match(same.stdout, /up\s+cached/);
});
