/** hf:ORG/NAME downloads against a loopback server speaking the hub's file-URL protocol. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../../nodes/transformer/checkpoint.js';
import { downloadHubModel, parseHubModel } from '../../nodes/transformer/hub.js';
import { startHub } from './hub-server.js';
import { tinyCheckpoint } from './tiny.js';

test('hf:ORG/NAME[@REV] parses; anything else is not a hub model', () => {
  assert.deepEqual(parseHubModel('hf:sentence-transformers/all-MiniLM-L6-v2'), { repo: 'sentence-transformers/all-MiniLM-L6-v2', revision: 'main' });
  assert.deepEqual(parseHubModel('hf:BAAI/bge-small-en-v1.5@5c38ec7c'), { repo: 'BAAI/bge-small-en-v1.5', revision: '5c38ec7c' });
  assert.equal(parseHubModel('models/bert'), undefined);
  assert.equal(parseHubModel('hf:no-org'), undefined);
});

test('hub download: token sent, a broken transfer resumes with a Range request, a corrupted file is rejected, then cached', async () => {
  const source = tinyCheckpoint('bert');
  const hub = await startHub(source, 'org/tiny-bert', 'v1');
  const cache = mkdtempSync(join(tmpdir(), 'synthcse-hub-'));
  const env = { HF_ENDPOINT: hub.endpoint, HF_TOKEN: 'hf_test' };
  const model = parseHubModel('hf:org/tiny-bert@v1')!;
  try {
    // 1. The connection drops halfway through model.safetensors.
    hub.fault = 'cut';
    const warnings: string[] = [];
    await assert.rejects(() => downloadHubModel(model, cache, { env, warn: (m) => warnings.push(m) }), /broke off .* run again to resume/);
    // A branch or tag revision is named in the key: the commit it points to is suggested for pinning.
    assert.deepEqual(warnings, [`hf:org/tiny-bert@v1 is commit ${'a'.repeat(40)} today; the node key names the revision, not the files, so pin it: hf:org/tiny-bert@${'a'.repeat(40)}`]);
    // 2. The next run resumes it from the partial file.
    const progress: number[] = [];
    const folder = await downloadHubModel(model, cache, { env, onProgress: (file, bytes) => file === 'model.safetensors' && progress.push(bytes) });
    const resumes = hub.requests.filter((r) => r.url.endsWith('model.safetensors') && r.range);
    assert.equal(resumes.length, 1);
    assert.ok(Number(/bytes=(\d+)-/.exec(resumes[0]!.range!)![1]) > 0);
    assert.ok(progress.length > 0 && progress[0]! > 0, 'progress starts from the resumed offset');
    assert.ok(hub.requests.every((r) => r.auth === 'Bearer hf_test'));
    assert.deepEqual(readFileSync(join(folder, 'model.safetensors')), readFileSync(join(source, 'model.safetensors')));
    assert.equal(loadCheckpoint(folder).files['model.safetensors'], loadCheckpoint(source).files['model.safetensors']);
    // Optional files the repository lacks (modules.json…) are remembered as absent, not asked for again.
    const before = hub.requests.length;
    await downloadHubModel(model, cache, { env });
    assert.equal(hub.requests.length, before, 'a complete download makes no request');

    // 3. A corrupted transfer fails its checksum and leaves nothing behind.
    const other = mkdtempSync(join(tmpdir(), 'synthcse-hub-'));
    hub.fault = 'corrupt';
    await assert.rejects(() => downloadHubModel(model, other, { env }), /has sha256 [0-9a-f]{64}, expected [0-9a-f]{64}: the file is corrupted/);
    assert.equal(existsSync(join(other, 'hub', 'org--tiny-bert', 'v1', 'model.safetensors')), false);
    assert.equal(existsSync(join(other, 'hub', 'org--tiny-bert', 'v1', 'model.safetensors.part')), false);
    await downloadHubModel(model, other, { env });

    // 4. A missing repository names the file and the fix.
    await assert.rejects(() => downloadHubModel(parseHubModel('hf:org/nothing')!, cache, { env }), /HTTP 404: org\/nothing@main has no config\.json/);
  } finally {
    await hub.close();
  }
});
