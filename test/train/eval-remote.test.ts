/** Evaluation data from a URL: downloaded once into the cache, verified, laid out beside the local folder's files. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { NodeUserError } from '../../engine/node-type.js';
import { withRemoteFiles } from '../../nodes/sts/remote.js';
import { discoverTasks } from '../../nodes/sts/tasks.js';
import { fakeContext } from './fake-context.js';

const TSV = 'sentence1\tsentence2\tscore\nA man plays.\tA man is playing.\t4.5\nA cat sleeps.\tA dog runs.\t0.4\nA girl sings.\tA girl is singing.\t5\n';
const SHA = createHash('sha256').update(TSV).digest('hex');

test('a remote STS file is downloaded once, verified, and read like a local one', async () => {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    res.writeHead(req.url === '/dev.tsv' ? 200 : 404).end(req.url === '/dev.tsv' ? TSV : '');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const cacheDir = mkdtempSync(join(tmpdir(), 'synthcse-remote-'));
    const local = mkdtempSync(join(tmpdir(), 'synthcse-local-'));
    mkdirSync(join(local, 'sick'));
    writeFileSync(join(local, 'sick', 'test.tsv'), TSV);
    const ctx = fakeContext({}, { cacheDir });
    const remote = { 'stsb/dev.tsv': { url: `${url}/dev.tsv`, sha256: SHA } };

    const folder = await withRemoteFiles(local, remote, ctx);
    assert.equal(readFileSync(join(folder, 'stsb', 'dev.tsv'), 'utf8'), TSV);
    const { tasks } = discoverTasks(folder);
    assert.deepEqual(tasks.map((t) => t.name).sort(), ['SICK-R', 'stsb-dev'], 'local files and the download side by side');
    assert.equal(tasks.find((t) => t.name === 'stsb-dev')!.subsets[0]!.pairs.length, 3);

    await withRemoteFiles(local, remote, ctx);
    assert.equal(hits, 1, 'downloaded once');

    // A local copy wins: nothing is downloaded.
    mkdirSync(join(local, 'stsb'));
    writeFileSync(join(local, 'stsb', 'dev.tsv'), TSV);
    assert.equal(await withRemoteFiles(local, remote, ctx), local);
    assert.equal(hits, 1);

    const wrong = { 'sts12/x.tsv': { url: `${url}/dev.tsv`, sha256: '0'.repeat(64) } };
    await assert.rejects(withRemoteFiles(local, wrong, fakeContext({}, { cacheDir })), (error: unknown) => {
      assert.ok(error instanceof NodeUserError);
      assert.match(error.message, /has sha256 .* expected 0000/);
      assert.deepEqual(error.param, ['remote', 'sts12/x.tsv']);
      return true;
    });
    const missing = { 'sts13/y.tsv': { url: `${url}/nope.tsv` } };
    await assert.rejects(withRemoteFiles(local, missing, fakeContext({}, { cacheDir })), /HTTP 404/);
  } finally {
    server.close();
  }
});
