/**
 * Item work (a node type's itemWork through ctx.mapItemWork) on workers, end to end: a private redis-server, three
 * `synthcse worker` processes and the coordinator as CLI processes, with a plugin node type (`shout`) that logs the
 * pid of the process that did each item. With --redis every item is done by a worker, the rows equal a
 * single-process run's, a worker killed with SIGKILL mid-item has its items done by the others, and a coordinator
 * killed and restarted takes the items finished meanwhile from Redis.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { unlessPresent } from '../support/prerequisite.js';
import { redisAvailable, startRedis, type TestRedis } from '../support/redis-server.js';
import { collect, exportText, FaultProject } from '../faults/support.js';

const ITEMS = 60;
/** With `distinct: DISTINCT`, ten rows repeat the row before them: equal items, one key. */
const DISTINCT = 50;
const plugin = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'item-work-nodes.js');
const skip = unlessPresent(redisAvailable(), 'redis-server (Debian package redis-server)');

function project(delayMs: number, distinct = ITEMS): FaultProject {
  const p = new FaultProject();
  p.write(
    'p.yaml',
    [
      'name: shout',
      `plugins: [${JSON.stringify(plugin)}]`,
      'nodes:',
      '  src:',
      '    type: emit',
      '    with:',
      `      count: ${ITEMS}`,
      `      distinct: ${distinct}`,
      '  up:',
      '    type: shout',
      '    inputs:',
      '      words: src.words',
      '    with:',
      `      delay_ms: ${delayMs}`,
      '      concurrency: 16',
      '',
    ].join('\n'),
  );
  return p;
}

/** "<text> <pid>" lines the item function wrote: which process did which item. */
function workLog(p: FaultProject): { text: string; pid: number }[] {
  const file = join(p.dir, 'work.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((line) => {
    const [text, pid] = line.split(' ');
    return { text: text!, pid: Number(pid) };
  });
}

async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 20));
  }
}

describe('item work on workers', { skip }, () => {
  let reference: string;

  before(async () => {
    const single = project(0);
    const log = { SYNTHCSE_TEST_LOG: join(single.dir, 'work.log') };
    const child = single.spawn(['run', 'p.yaml'], undefined, log);
    const run = await collect(child);
    assert.equal(run.code, 0, run.stderr);
    // Without --redis the run does every item itself.
    assert.deepEqual(new Set(workLog(single).map((w) => w.pid)), new Set([child.pid]));
    assert.equal(workLog(single).length, ITEMS);
    reference = await exportText(single, 'up', 'words');
    assert.equal(reference.trim().split('\n').length, ITEMS);
    assert.match(reference, /"W0!"/);
  });

  let redis: TestRedis | undefined;
  after(() => redis?.stop());

  async function cluster(p: FaultProject, lockMs: number): Promise<{ workers: ChildProcess[]; stop(): Promise<void> }> {
    redis = await startRedis();
    const log = { SYNTHCSE_TEST_LOG: join(p.dir, 'work.log') };
    const workers = [0, 1, 2].map(() => p.spawn(['worker', '--redis', redis!.url, '--item-concurrency', '4', '--lock-ms', String(lockMs)], undefined, log));
    await Promise.all(
      workers.map(async (w) => {
        let text = '';
        w.stderr!.on('data', (d: Buffer) => (text += d.toString()));
        await until(() => text.includes('ready'), 'a worker to start', 20_000);
      }),
    );
    return {
      workers,
      async stop() {
        await Promise.all(
          workers.map(async (w) => {
            if (w.exitCode !== null || w.signalCode !== null) return;
            const exited = once(w, 'exit');
            w.kill('SIGKILL');
            await exited;
          }),
        );
        await redis!.stop();
        redis = undefined;
      },
    };
  }

  it('three workers do every item and give the rows of a single-process run, equal items included; a rerun is cached', async () => {
    const single = project(0, DISTINCT);
    const alone = await single.run(['run', 'p.yaml']);
    assert.equal(alone.code, 0, alone.stderr);
    const expected = await exportText(single, 'up', 'words');
    assert.equal(new Set(expected.trim().split('\n')).size, DISTINCT);

    const p = project(20, DISTINCT);
    const c = await cluster(p, 5000);
    try {
      const log = { SYNTHCSE_TEST_LOG: join(p.dir, 'work.log') };
      const run = await p.run(['run', 'p.yaml', '--redis', redis!.url], undefined, log);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(await exportText(p, 'up', 'words'), expected);
      const done = workLog(p);
      assert.equal(new Set(done.map((w) => w.text)).size, DISTINCT);
      // Equal items asked at once share one job; one asked after the other's job went is done again (as without
      // workers, where mapItems does every row).
      assert.ok(done.length >= DISTINCT && done.length <= ITEMS, `${done.length} items done`);
      const workerPids = new Set(c.workers.map((w) => w.pid));
      assert.ok(done.every((w) => workerPids.has(w.pid)), 'an item was done outside the workers');
      // The work is shared out (4 items at once per worker, 20 ms each).
      assert.ok(new Set(done.map((w) => w.pid)).size >= 2, 'one worker did every item');

      const again = await p.run(['run', 'p.yaml', '--redis', redis!.url], undefined, log);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(workLog(p).length, done.length, 'a rerun did item work again');
    } finally {
      await c.stop();
    }
  });

  it('a worker killed with SIGKILL mid-item: its items are done by the others', async () => {
    const p = project(150);
    const c = await cluster(p, 1500);
    try {
      const log = { SYNTHCSE_TEST_LOG: join(p.dir, 'work.log') };
      const victim = c.workers[0]!;
      const coordinator = p.spawn(['run', 'p.yaml', '--redis', redis!.url], undefined, log);
      const done = collect(coordinator);
      await until(() => workLog(p).some((w) => w.pid === victim.pid), 'the first worker to finish an item');
      victim.kill('SIGKILL');
      const run = await done;
      assert.equal(run.code, 0, run.stderr);
      assert.equal(await exportText(p, 'up', 'words'), reference);
      const texts = workLog(p).map((w) => w.text);
      assert.equal(new Set(texts).size, ITEMS);
      // Only the killed worker's items in flight (at most its 4) can have been done twice.
      assert.ok(texts.length - ITEMS <= 4, `${texts.length - ITEMS} items done twice`);
    } finally {
      await c.stop();
    }
  });

  it('a plugin edited between runs: the same workers load its new code for the new items', async () => {
    const p = new FaultProject();
    const nodeType = pathToFileURL(join(dirname(plugin), '..', '..', '..', 'engine', 'node-type.js')).href;
    const zod = import.meta.resolve('zod');
    const writePlugin = (mark: string) =>
      p.write(
        'mark.mjs',
        [
          `import { z } from ${JSON.stringify(zod)};`,
          `import { defineNode } from ${JSON.stringify(nodeType)};`,
          `import { appendFileSync } from 'node:fs';`,
          `export const portKinds = [{ name: 'words', form: 'rows', description: 'rows {text}' }];`,
          `const emit = defineNode({ type: 'emit', version: 1, description: 'rows', params: z.strictObject({}), inputs: {}, outputs: { words: { kind: 'words' } }, cheap: true,`,
          `  async run() { return { words: [{ text: 'a' }, { text: 'b' }, { text: 'c' }] }; } });`,
          `const mark = defineNode({ type: 'mark', version: 1, description: 'marks rows', params: z.strictObject({}), inputs: { words: { kind: 'words' } }, outputs: { words: { kind: 'words' } },`,
          `  async run(inputs, _params, ctx) {`,
          `    const { results } = await ctx.mapItemWork(inputs.words.rows, { namespace: 'mark', key: (row) => row.text, data: (row) => row.text });`,
          `    return { words: results.map((text) => ({ text })) };`,
          `  },`,
          `  itemWork: { async mark(text) { appendFileSync(process.env.SYNTHCSE_TEST_LOG, text + ' ' + process.pid + '\\n'); return text + ${JSON.stringify(mark)}; } },`,
          `});`,
          `export const nodeTypes = [emit, mark];`,
          '',
        ].join('\n'),
      );
    writePlugin('!');
    p.write('p.yaml', ['name: mark', 'plugins: [mark.mjs]', 'nodes:', '  src:', '    type: emit', '  up:', '    type: mark', '    inputs:', '      words: src.words', ''].join('\n'));
    const c = await cluster(p, 5000);
    try {
      const log = { SYNTHCSE_TEST_LOG: join(p.dir, 'work.log') };
      const first = await p.run(['run', 'p.yaml', '--redis', redis!.url], undefined, log);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(await exportText(p, 'up', 'words'), '{"text":"a!"}\n{"text":"b!"}\n{"text":"c!"}\n');
      // The same version with other code: new item keys, and the workers must not compute them with the old code.
      writePlugin('?');
      const second = await p.run(['run', 'p.yaml', '--redis', redis!.url], undefined, log);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(await exportText(p, 'up', 'words'), '{"text":"a?"}\n{"text":"b?"}\n{"text":"c?"}\n');
      const workerPids = new Set(c.workers.map((w) => w.pid));
      assert.ok(workLog(p).length === 6 && workLog(p).every((w) => workerPids.has(w.pid)));
    } finally {
      await c.stop();
    }
  });

  it('the coordinator killed and restarted: items finished meanwhile are taken from Redis, not done again', async () => {
    const p = project(150);
    const c = await cluster(p, 5000);
    try {
      const log = { SYNTHCSE_TEST_LOG: join(p.dir, 'work.log') };
      const first = p.spawn(['run', 'p.yaml', '--redis', redis!.url], undefined, log);
      const firstDone = collect(first);
      await until(() => workLog(p).length >= ITEMS / 3, 'a third of the items');
      first.kill('SIGKILL');
      assert.equal((await firstDone).signal, 'SIGKILL');
      const run = await p.run(['run', 'p.yaml', '--redis', redis!.url], undefined, log);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(await exportText(p, 'up', 'words'), reference);
      const texts = workLog(p).map((w) => w.text);
      assert.equal(new Set(texts).size, ITEMS);
      assert.equal(texts.length, ITEMS, 'an item was done twice');
    } finally {
      await c.stop();
    }
  });
});
