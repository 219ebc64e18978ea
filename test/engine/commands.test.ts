/** The inspection and upkeep commands: show, export, status, dag, diff, gc, schema, --json events. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot, Workspace } from './support.js';

const PIPELINE = `
name: words
plugins: [$PLUGIN]
params:
  n: 4
nodes:
  src:
    type: emit
    with:
      count: \${params.n}
  up:
    type: upper
    inputs:
      words: src
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
`;

test('show and export print and write a node output', () => {
  const ws = new Workspace();
  ws.write('p.yaml', PIPELINE);
  assert.equal(ws.run(['run', 'p.yaml']).code, 0);
  const show = ws.run(['show', 'up', '--head', '2', '--pipeline', 'p.yaml']);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /up\.words: 4 rows/);
  assert.match(show.stdout, /text: W0/);
  assert.doesNotMatch(show.stdout, /W2/);
  for (const ext of ['jsonl', 'csv', 'tsv']) {
    const out = join(ws.dir, `up.${ext}`);
    const r = ws.run(['export', 'up', '--out', out, '--pipeline', 'p.yaml']);
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(out, 'utf8');
    if (ext === 'jsonl') assert.equal(text.split('\n')[0], '{"tag":"u","text":"W0"}');
    else assert.equal(text.split('\n')[0], ext === 'csv' ? 'tag,text' : 'tag\ttext');
  }
  const missing = ws.run(['show', 'nope', '--pipeline', 'p.yaml']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /No finished output of node "nope"/);
});

test('status reports the last run per node', () => {
  const ws = new Workspace();
  ws.write('p.yaml', PIPELINE);
  assert.equal(ws.run(['run', 'p.yaml']).code, 0);
  assert.equal(ws.run(['run', 'p.yaml', '--set', 'params.n=6']).code, 0);
  const status = ws.run(['status', 'p.yaml']);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /Last run .* of .*p\.yaml: ok/);
  assert.match(status.stdout, /up\s+ran\s+.*4\/2\/0/);
});

test('dag prints mermaid and dot', () => {
  const ws = new Workspace();
  ws.write('p.yaml', PIPELINE);
  const mermaid = ws.run(['dag', 'p.yaml']);
  assert.equal(mermaid.code, 0, mermaid.stderr);
  assert.match(mermaid.stdout, /flowchart LR/);
  assert.match(mermaid.stdout, /src -->\|words\| up/);
  const dot = ws.run(['dag', 'p.yaml', '--format', 'dot']);
  assert.match(dot.stdout, /"up" -> "total" \[label="tagged-words"\]/);
});

test('diff shows which nodes two variants share', () => {
  const ws = new Workspace();
  ws.write('p.yaml', PIPELINE);
  const r = ws.run(['diff', 'p.yaml', '--variant', 'shout']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /src\s+shared/);
  assert.match(r.stdout, /up\s+differs\s+parameters or files differ/);
  assert.match(r.stdout, /total\s+differs\s+upstream differs \(up\)/);
});

test('gc removes results no pipeline reaches and keeps the rest', () => {
  const ws = new Workspace();
  ws.write('p.yaml', PIPELINE);
  ws.write('q.yaml', PIPELINE.replace('name: words', 'name: other').replace('n: 4', 'n: 5'));
  assert.equal(ws.run(['run', 'p.yaml']).code, 0);
  assert.equal(ws.run(['run', 'q.yaml']).code, 0);
  ws.takeLog();
  rmSync(join(ws.dir, 'q.yaml'));
  const dry = ws.run(['gc', '--dry-run', '--cache', join(ws.dir, '.synthcse')]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /Would remove 3 node result\(s\)/);
  const gc = ws.run(['gc', '--cache', join(ws.dir, '.synthcse')]);
  assert.match(gc.stdout, /Removed 3 node result\(s\)/);
  // p.yaml is untouched by gc: all cached.
  assert.equal(ws.run(['run', 'p.yaml']).code, 0);
  assert.deepEqual(ws.takeLog(), []);
});

test('gc --keep-runs N keeps the node results of the last N runs of each pipeline, and reports the cache size', () => {
  const ws = new Workspace();
  ws.write('p.yaml', PIPELINE);
  const cache = join(ws.dir, '.synthcse');
  assert.equal(ws.run(['run', 'p.yaml']).code, 0);
  assert.equal(ws.run(['run', 'p.yaml', '--set', 'params.n=6']).code, 0);
  ws.takeLog();
  const keep = ws.run(['gc', '--keep-runs', '2', '--cache', cache]);
  assert.equal(keep.code, 0, keep.stderr);
  assert.match(keep.stdout, /Removed 0 node result\(s\)/);
  assert.match(keep.stdout, /the last 2 run\(s\) of each pipeline/);
  assert.match(keep.stdout, /Cache .*: [\d.]+ (B|KiB|MiB) \(database [\d.]+ (B|KiB|MiB), artifact files [\d.]+ (B|KiB|MiB)\); now /);
  assert.equal(ws.run(['run', 'p.yaml']).code, 0);
  assert.deepEqual(ws.takeLog(), [], 'the older run is still cached');
  assert.equal(ws.run(['run', 'p.yaml', '--set', 'params.n=6']).code, 0);
  ws.takeLog();
  const one = ws.run(['gc', '--cache', cache]);
  assert.match(one.stdout, /Removed [1-9]\d* node result\(s\)/, 'by default only the last run is kept');
  assert.equal(ws.run(['gc', '--keep-runs', '0', '--cache', cache]).code, 2);
});

test('--json streams typed events', () => {
  const ws = new Workspace();
  ws.write('p.yaml', PIPELINE);
  const r = ws.run(['run', 'p.yaml', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; node?: string; state?: string });
  assert.equal(events[0]!.type, 'run-start');
  assert.equal(events.at(-1)!.type, 'run-end');
  assert.deepEqual(events.filter((e) => e.type === 'node-end').map((e) => [e.node, e.state]), [['src', 'ran'], ['up', 'ran'], ['total', 'ran']]);
});

test('schema writes a JSON Schema generated from the node types', () => {
  const ws = new Workspace();
  const out = join(ws.dir, 'schema.json');
  const r = ws.run(['schema', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(out));
  const schema = JSON.parse(readFileSync(out, 'utf8')) as { properties: { nodes: { additionalProperties: { properties: { type: { enum: string[] } } } } } };
  assert.ok(schema.properties.nodes.additionalProperties.properties.type.enum.includes('annotate'));
});

test('docs/pipeline.schema.json is the schema the node types generate (regenerate with synthcse schema --out)', () => {
  const ws = new Workspace();
  const r = ws.run(['schema']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, readFileSync(join(repoRoot, 'docs', 'pipeline.schema.json'), 'utf8'));
});
