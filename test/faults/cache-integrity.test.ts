/**
 * Guarantee 2 (cache integrity): a truncated or corrupted cache.db, a missing artifact file, an artifact whose bytes
 * no longer match its digest (rows and model files), and a cache written by an older schema are each detected,
 * reported with what to do (no stack trace), and never served as a hit; `synthcse doctor` finds each problem and
 * `doctor --repair` repairs it so that the next run recomputes what was lost and ends with the original result.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { countMatching, Workspace, type CliResult } from '../engine/support.js';
import { startMockLlmServer } from '../support/mock-llm-server.js';
import { oneLineResponder, readCommitted, resentAfterCommit } from './crash-scenario.js';
import { cloneCache, exportText, FaultProject, filesUnder, hasStackTrace, pipelineYaml, premises, warmGloveCache } from './support.js';

/** emit's 3,000 rows of ~110 bytes are over the 256 KB threshold, so its output is an artifact file. */
const PIPELINE = `
name: integrity
plugins: [$PLUGIN]
nodes:
  src:
    type: emit
    with:
      count: 3000
      prefix: ${'x'.repeat(100)}
  up:
    type: upper
    inputs:
      words: src
  total:
    type: count
    inputs:
      words: up
`;

interface Ready {
  ws: Workspace;
  cache: string;
  expected: string;
}

function exportUp(ws: Workspace, name: string): CliResult {
  return ws.run(['export', 'up', '--out', name, '--pipeline', 'p.yaml']);
}

/** A project that ran once, with the export of `up` to compare with later. */
function ready(): Ready {
  const ws = new Workspace();
  ws.write('p.yaml', PIPELINE);
  const first = ws.run(['run', 'p.yaml']);
  assert.equal(first.code, 0, first.stderr);
  const exported = exportUp(ws, 'expected.jsonl');
  assert.equal(exported.code, 0, exported.stderr);
  ws.takeLog();
  return { ws, cache: join(ws.dir, '.synthcse'), expected: readFileSync(join(ws.dir, 'expected.jsonl'), 'utf8') };
}

function clean(result: CliResult, what: string): void {
  assert.ok(!hasStackTrace(result.stdout + result.stderr), `${what}: no stack trace\n${result.stdout}${result.stderr}`);
  assert.doesNotMatch(result.stdout + result.stderr, /Internal error/, what);
}

function doctor(r: Ready, repair: boolean): CliResult {
  const result = r.ws.run(['doctor', ...(repair ? ['--repair'] : []), '--cache', r.cache]);
  clean(result, 'doctor');
  return result;
}

/** After a repair, the next run ends with the original result, and doctor finds nothing more. */
function assertRecovered(r: Ready): void {
  const again = r.ws.run(['run', 'p.yaml']);
  assert.equal(again.code, 0, again.stderr);
  const exported = exportUp(r.ws, 'after.jsonl');
  assert.equal(exported.code, 0, exported.stderr);
  assert.equal(readFileSync(join(r.ws.dir, 'after.jsonl'), 'utf8'), r.expected, 'the recomputed result equals the original');
  const check = doctor(r, false);
  assert.equal(check.code, 0, check.stdout);
  assert.match(check.stdout, /^✓ .*database ok/m);
}

function rowsArtifactFile(r: Ready): string {
  const files = filesUnder(join(r.cache, 'artifacts')).filter((f) => !f.includes('.tmp-'));
  assert.ok(files.length > 0, 'an artifact file exists');
  return files.sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
}

test('a truncated cache.db: run stops with what to do, doctor --repair, the next run recomputes the same result', () => {
  const r = ready();
  const db = join(r.cache, 'cache.db');
  truncateSync(db, Math.floor(statSync(db).size / 2));
  const run = r.ws.run(['run', 'p.yaml']);
  clean(run, 'run');
  assert.equal(run.code, 1);
  assert.match(run.stderr, /cache database .*cannot be opened/);
  assert.match(run.stderr, /fix: .*synthcse doctor/);
  assert.equal(countMatching(r.ws.takeLog(), 'upper '), 0, 'nothing ran on a damaged cache');
  const check = doctor(r, false);
  assert.equal(check.code, 1);
  assert.match(check.stdout, /doctor --repair/);
  const repaired = doctor(r, true);
  assert.equal(repaired.code, 0, repaired.stdout);
  assert.match(repaired.stdout, /repaired: .*moved the database/);
  assertRecovered(r);
});

test('corrupted pages in cache.db: doctor finds them, --repair keeps the readable rows, the result is unchanged', () => {
  const r = ready();
  // A checkpoint first, so the damage lands in the database file rather than in its WAL.
  const handle = new Database(join(r.cache, 'cache.db'));
  handle.pragma('wal_checkpoint(TRUNCATE)');
  handle.close();
  const db = join(r.cache, 'cache.db');
  const bytes = readFileSync(db);
  // Garble the middle of every fourth page after the schema page: some rows of every large table are hit.
  for (let page = 2; page * 4096 < bytes.length; page += 4) bytes.fill(0x5a, page * 4096 + 200, page * 4096 + 1200);
  writeFileSync(db, bytes);
  const check = doctor(r, false);
  assert.equal(check.code, 1, check.stdout);
  assert.match(check.stdout, /integrity check failed/);
  assert.match(check.stdout, /doctor --repair/);
  const repaired = doctor(r, true);
  assert.equal(repaired.code, 0, repaired.stdout);
  assert.match(repaired.stdout, /repaired: /);
  assertRecovered(r);
});

test('a missing artifact file is not a cache hit: the next run recomputes the node that produced it, same result', () => {
  const r = ready();
  rmSync(rowsArtifactFile(r));
  const run = r.ws.run(['run', 'p.yaml']);
  clean(run, 'run');
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /ran\s+(src|up) /, 'the node whose output file is gone is recomputed, not reported as cached');
  const exported = exportUp(r.ws, 'after.jsonl');
  assert.equal(exported.code, 0, exported.stderr);
  assert.equal(readFileSync(join(r.ws.dir, 'after.jsonl'), 'utf8'), r.expected);
});

test('a missing artifact file: doctor reports it, --repair drops it, the next run recomputes the same result', () => {
  const r = ready();
  rmSync(rowsArtifactFile(r));
  const check = doctor(r, false);
  assert.equal(check.code, 1);
  assert.match(check.stdout, /artifact file missing/);
  assert.match(check.stdout, /doctor --repair/);
  assert.equal(doctor(r, true).code, 0);
  assertRecovered(r);
});

test('a rows artifact whose bytes changed: never read as data, doctor --repair, the next run recomputes the same result', () => {
  const r = ready();
  const file = rowsArtifactFile(r);
  const bytes = readFileSync(file);
  bytes[bytes.length - 10] = bytes[bytes.length - 10] === 0x41 ? 0x42 : 0x41; // same size, different content
  writeFileSync(file, bytes);
  // A node that reads it now must not get the damaged rows.
  const forced = r.ws.run(['run', 'p.yaml', '--force', 'up', '--force', 'total']);
  clean(forced, 'run --force');
  if (forced.code === 0) {
    assert.equal(exportUp(r.ws, 'forced.jsonl').code, 0);
    assert.equal(readFileSync(join(r.ws.dir, 'forced.jsonl'), 'utf8'), r.expected);
  } else {
    assert.match(forced.stderr, /no longer matches its digest/);
    assert.match(forced.stderr, /doctor --repair/);
  }
  const check = doctor(r, false);
  assert.equal(check.code, 1);
  assert.match(check.stdout, /bytes do not match digest/);
  assert.equal(doctor(r, true).code, 0);
  assertRecovered(r);
});

test('a cache written by an older schema: refused with what to do, nothing used, doctor --repair starts afresh', () => {
  const r = ready();
  const handle = new Database(join(r.cache, 'cache.db'));
  handle.prepare(`UPDATE meta SET value = '0' WHERE name = 'schema_version'`).run();
  handle.close();
  const run = r.ws.run(['run', 'p.yaml']);
  clean(run, 'run');
  assert.equal(run.code, 1);
  assert.match(run.stderr, /older synthcse/);
  assert.match(run.stderr, /fix: /);
  assert.equal(countMatching(r.ws.takeLog(), 'upper '), 0);
  const exported = exportUp(r.ws, 'old.jsonl');
  clean(exported, 'export');
  assert.notEqual(exported.code, 0, 'export does not serve entries of an older schema');
  const check = doctor(r, false);
  assert.equal(check.code, 1);
  assert.match(check.stdout, /older synthcse/);
  assert.equal(doctor(r, true).code, 0);
  assertRecovered(r);
  assert.equal(countMatching(r.ws.takeLog(), 'upper '), 3000, 'every item recomputed: none came from the old cache');
});

/** The model of an `encoder` node (a file output), on the warm GloVe cache. */
async function encoderProject(): Promise<{ project: FaultProject; template: string }> {
  const template = await warmGloveCache();
  const project = new FaultProject();
  cloneCache(template, project.cache);
  project.write('p.yaml', ['name: model', 'nodes:', '  enc:', '    type: encoder', '    with:', '      variant: plain', '      max_vocab: 60', ''].join('\n'));
  const run = await project.run(['run', 'p.yaml']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal((await project.run(['export', 'enc', '--out', 'expected.onnx', '--pipeline', 'p.yaml'])).code, 0);
  return { project, template };
}

function modelArtifact(project: FaultProject, template: string): string {
  const shared = new Set(filesUnder(join(template, 'artifacts')).map((f) => f.slice(template.length)));
  const own = filesUnder(join(project.cache, 'artifacts')).filter((f) => !shared.has(f.slice(project.cache.length)));
  assert.equal(own.length, 1, 'one model artifact');
  return own[0]!;
}

test('a model file whose bytes changed is never exported or used as it is', async () => {
    const { project, template } = await encoderProject();
    const file = modelArtifact(project, template);
    const bytes = readFileSync(file);
    bytes[bytes.length - 5]! ^= 0xff;
    writeFileSync(file, bytes);
    const exported = await project.run(['export', 'enc', '--out', 'after.onnx', '--pipeline', 'p.yaml']);
    clean(exported, 'export');
    if (exported.code === 0) {
      assert.ok(readFileSync(join(project.dir, 'after.onnx')).equals(readFileSync(join(project.dir, 'expected.onnx'))), 'the exported model is the original');
    } else {
      assert.match(exported.stderr, /digest|damaged/);
    }
});

test('a model file whose bytes changed: doctor finds it, --repair, the next run rebuilds the same model', async () => {
  const { project, template } = await encoderProject();
  const file = modelArtifact(project, template);
  const bytes = readFileSync(file);
  bytes[bytes.length - 5]! ^= 0xff;
  writeFileSync(file, bytes);
  const check = await project.run(['doctor', '--cache', project.cache]);
  clean(check, 'doctor');
  assert.equal(check.code, 1);
  assert.match(check.stdout, /bytes do not match digest/);
  const repaired = await project.run(['doctor', '--repair', '--cache', project.cache]);
  assert.equal(repaired.code, 0, repaired.stdout);
  const again = await project.run(['run', 'p.yaml']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /ran\s+enc/);
  assert.equal((await project.run(['export', 'enc', '--out', 'after.onnx', '--pipeline', 'p.yaml'])).code, 0);
  assert.ok(readFileSync(join(project.dir, 'after.onnx')).equals(readFileSync(join(project.dir, 'expected.onnx'))));
});

test('doctor --repair on a damaged database keeps the paid LLM answers it can read: the rerun pays only for the lost ones', async () => {
  const server = await startMockLlmServer({ responder: oneLineResponder });
  try {
    const project = new FaultProject();
    project.write('premises.txt', premises(30).join('\n') + '\n');
    project.write('p.yaml', pipelineYaml({ train: false }));
    const first = await project.run(['run', 'p.yaml'], server.url);
    assert.equal(first.code, 0, first.stderr);
    const expected = await exportText(project, 'clean', 'triplets');
    const paid = readCommitted(project.cache).requestKeys.size;
    assert.equal(paid, 60);
    const db = join(project.cache, 'cache.db');
    const bytes = readFileSync(db);
    for (let page = 3; page * 4096 < bytes.length; page += 5) bytes.fill(0x5a, page * 4096 + 100, page * 4096 + 900);
    writeFileSync(db, bytes);
    const check = await project.run(['doctor', '--cache', project.cache]);
    clean(check, 'doctor');
    assert.equal(check.code, 1, check.stdout);
    const repaired = await project.run(['doctor', '--repair', '--cache', project.cache]);
    clean(repaired, 'doctor --repair');
    assert.equal(repaired.code, 0, repaired.stdout);
    const kept = readCommitted(project.cache);
    assert.ok(kept.requestKeys.size > 0, `some paid answers were kept (${repaired.stdout})`);
    const snapshot = { received: new Map(server.stats.received), batch: new Map(server.stats.batchItemsReceived) };
    const sentBefore = [...server.stats.received.values()].reduce((a, b) => a + b, 0);
    const again = await project.run(['run', 'p.yaml'], server.url);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(await exportText(project, 'clean', 'triplets'), expected);
    assert.equal(resentAfterCommit(server, snapshot, kept), 0, 'no kept answer was paid again');
    const sent = [...server.stats.received.values()].reduce((a, b) => a + b, 0) - sentBefore;
    assert.ok(sent <= paid - kept.onlineRequestIds.size, `the rerun paid only for lost answers (${sent} sent, ${kept.requestKeys.size} of ${paid} kept)`);
  } finally {
    await server.close();
  }
});
