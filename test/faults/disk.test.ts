/**
 * Guarantee 3 (disk full, write failures): a write that fails in the middle of a run ends the run with a clear
 * message (what failed, what to do; no stack trace), and the cache stays usable: the next run, with space again,
 * finishes with the same result as an undisturbed run and pays for no answer that had been committed.
 *
 * Two ways to make writes fail, both real: RLIMIT_FSIZE (`ulimit -f`, works without privileges: writes past the limit
 * fail with EFBIG; Node ignores SIGXFSZ) at several sizes, so the failure lands at different moments; and a small
 * tmpfs as the cache directory (ENOSPC), skipped when this machine does not allow mounting.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { startMockLlmServer, type MockLlmServer } from '../support/mock-llm-server.js';
import { oneLineResponder, readCommitted, resentAfterCommit } from './crash-scenario.js';
import { cliPath, exportText, FaultProject, hasStackTrace, pipelineYaml, premises, type CliResult } from './support.js';

const PREMISES = 40;
/** KB: while opening the cache, while committing the first node, in the middle of the LLM node. */
const LIMITS_KB = [100, 300, 1200];
let server: MockLlmServer;
let expected: string;

function project(): FaultProject {
  const p = new FaultProject();
  p.write('premises.txt', premises(PREMISES).join('\n') + '\n');
  p.write('p.yaml', pipelineYaml({ train: false }));
  return p;
}

before(async () => {
  server = await startMockLlmServer({ responder: oneLineResponder, latencyMs: 5 });
  const p = project();
  const r = await p.run(['run', 'p.yaml'], server.url);
  assert.equal(r.code, 0, r.stderr);
  expected = await exportText(p, 'clean', 'triplets');
});

after(() => server.close());

function underFileSizeLimit(p: FaultProject, kb: number): Promise<CliResult> {
  return p.sh(`ulimit -f ${kb}; exec "${process.execPath}" "${cliPath}" run p.yaml`, server.url);
}

/** With space again, the same command finishes with the undisturbed result and re-pays nothing committed. */
async function assertNextRunRecovers(p: FaultProject): Promise<void> {
  const committed = readCommitted(p.cache);
  const snapshot = { received: new Map(server.stats.received), batch: new Map(server.stats.batchItemsReceived) };
  const again = await p.run(['run', 'p.yaml'], server.url);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(await exportText(p, 'clean', 'triplets'), expected, 'the result equals an undisturbed run');
  assert.equal(resentAfterCommit(server, snapshot, committed), 0, 'no committed answer was paid again');
}

function assertClearWriteError(r: CliResult, what: string): void {
  const out = r.stdout + r.stderr;
  assert.notEqual(r.code, 0, `${what}: the run reports the failure`);
  assert.equal(r.signal, null, `${what}: the process was not killed by a signal`);
  assert.ok(!hasStackTrace(out), `${what}: no stack trace\n${out}`);
  assert.doesNotMatch(out, /Internal error|looks like a bug/, `${what}\n${out}`);
  assert.match(out, /could not be written|cannot write|disk|space|too large/i, `${what}\n${out}`);
  assert.match(out, /fix: /, `${what}\n${out}`);
}

test('a write failure mid-run (file size limit): the next run completes the same result and pays nothing twice', async () => {
  for (const kb of LIMITS_KB) {
    const p = project();
    const r = await underFileSizeLimit(p, kb);
    assert.notEqual(r.code, 0, `the ${kb} KB limit was hit`);
    await assertNextRunRecovers(p);
  }
});

for (const kb of LIMITS_KB) {
  test(`a write failure (file size limit ${kb} KB) ends with a clear message, no stack trace`, async () => {
    assertClearWriteError(await underFileSizeLimit(project(), kb), `limit ${kb} KB`);
  });
}

function canMount(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  const probe = new FaultProject();
  const dir = `${probe.dir}/probe`;
  mkdirSync(dir);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]).status === 0;
  if (mounted) spawnSync('umount', [dir]);
  return mounted;
}

const mountable = canMount();

test(
  'disk full (a small tmpfs as the cache): a clear message; after space is freed the next run completes the same result',
  { skip: mountable ? false : 'mounting a tmpfs needs root on Linux (covered by the file-size-limit tests)' },
  async () => {
    const p = project();
    mkdirSync(p.cache, { recursive: true });
    assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=900k', 'tmpfs', p.cache]).status, 0);
    try {
      const r = await p.run(['run', 'p.yaml'], server.url);
      assert.notEqual(r.code, 0, 'the disk filled up');
      if (process.env.SYNTHCSE_FAULTS_VERBOSE) process.stderr.write(r.stdout + r.stderr);
      assertClearWriteError(r, 'tmpfs full');
      // "Free disk space": grow the file system, keeping its content.
      assert.equal(spawnSync('mount', ['-o', 'remount,size=64m', p.cache]).status, 0);
      await assertNextRunRecovers(p);
    } finally {
      spawnSync('umount', ['-l', p.cache]);
    }
  },
);
