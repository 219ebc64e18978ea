/** The standard SentEval STS files, fetched once into the cache from their archives (served here from loopback). */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { deflateRawSync, gzipSync } from 'node:zlib';
import type { Row } from '../../engine/json.js';
import type { FileOutput, FileValue } from '../../engine/node-type.js';
import { encoder } from '../../nodes/encoder.js';
import { evaluate } from '../../nodes/eval.js';
import { unzip, untarGz } from '../../nodes/data/archives.js';
import { SENTEVAL_SOURCES } from '../../nodes/sts/senteval.js';
import { sha256 } from '../../engine/json.js';
import { fakeContext } from './fake-context.js';

/** A zip with deflated members (no CRC: the reader does not check it), as the STS archives are. */
function zip(files: Record<string, string>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of Object.entries(files)) {
    const data = deflateRawSync(Buffer.from(text));
    const nameBytes = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(Buffer.byteLength(text), 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(Buffer.byteLength(text), 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

function tarGz(files: Record<string, string>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, text] of Object.entries(files)) {
    const header = Buffer.alloc(512);
    header.write(name, 0);
    header.write(Buffer.byteLength(text).toString(8).padStart(11, '0'), 124);
    header.write('0', 156);
    header.write('ustar', 257);
    const data = Buffer.alloc(Math.ceil(Buffer.byteLength(text) / 512) * 512);
    data.write(text);
    blocks.push(header, data);
  }
  return gzipSync(Buffer.concat([...blocks, Buffer.alloc(1024)]));
}

const PAIRS: [string, string, number][] = [
  ['A man is playing a guitar.', 'A man plays the guitar.', 4.8],
  ['A woman is slicing an onion.', 'A woman is cutting an onion.', 4.2],
  ['A dog runs in the park.', 'A cat sleeps on the sofa.', 0.4],
  ['Two boys are swimming.', 'Two children swim in a pool.', 3.6],
  ['The stock market fell today.', 'A girl is riding a horse.', 0.0],
];
const input = PAIRS.map(([a, b]) => `${a}\t${b}`).join('\n') + '\n';
const gold = PAIRS.map(([, , s]) => String(s)).join('\n') + '\n';

/** Every archive SentEval downloads, with the real archive names and member layout, made of PAIRS. */
function archives(): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const source of SENTEVAL_SOURCES) {
    const name = new URL(source.url).pathname.split('/').pop()!;
    if (source.task === 'STS-B') {
      const csv = PAIRS.map(([a, b, s], i) => `main-captions\tMSRvid\t2012test\t${i}\t${s}\t${a}\t${b}`).join('\n') + '\n';
      out.set(name, tarGz({ 'stsbenchmark/sts-train.csv': csv, 'stsbenchmark/sts-test.csv': csv }));
    } else if (source.task === 'SICK-R') {
      const sick = ['pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment', ...PAIRS.map(([a, b, s], i) => `${i}\t${a}\t${b}\t${1 + s * 0.8}\tNEUTRAL`)].join('\n') + '\n';
      out.set(name, zip({ 'SICK_test_annotated.txt': sick, 'readme.txt': 'SICK' }));
    } else {
      const files: Record<string, string> = { 'dir/00-readme.txt': 'STS' };
      const prefix = source.task === 'STS16' ? 'STS2016' : 'STS';
      for (const place of Object.keys(source.members)) {
        const m = /STS\.(input|gs)\.(.+)\.txt$/.exec(place)!;
        files[`dir/${prefix}.${m[1]}.${m[2]}.txt`] = m[1] === 'input' ? input : gold;
      }
      out.set(name, zip(files));
    }
  }
  return out;
}

async function serve(files: Map<string, Buffer>): Promise<{ url: string; hits: Map<string, number>; server: Server }> {
  const hits = new Map<string, number>();
  const server = createServer((req, res) => {
    const name = (req.url ?? '').slice(1);
    hits.set(name, (hits.get(name) ?? 0) + 1);
    const body = files.get(name);
    if (body) res.writeHead(200).end(body);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, server };
}

const fileValue = (out: FileOutput): FileValue => ({ form: 'file', path: out.file, meta: out.meta, digest: sha256(readFileSync(out.file)) });

async function plainModel(): Promise<FileValue> {
  const ctx = fakeContext({});
  const out = (await encoder.run({} as never, encoder.params.parse({ variant: 'plain', max_vocab: 20000 }), ctx as never)) as { model: FileOutput };
  return fileValue(out.model);
}

function devFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-senteval-data-'));
  mkdirSync(join(dir, 'stsb'));
  writeFileSync(join(dir, 'stsb', 'dev.tsv'), ['sentence1\tsentence2\tscore', ...PAIRS.map((p) => p.join('\t'))].join('\n') + '\n');
  return dir;
}

test('zip and tar.gz members are read, including a zip written by the zip tool', () => {
  assert.deepEqual([...unzip(zip({ 'a/b.txt': 'hello', 'c.txt': 'x' })).entries()].map(([k, v]) => [k, v.toString()]), [['a/b.txt', 'hello'], ['c.txt', 'x']]);
  assert.deepEqual([...untarGz(tarGz({ 'd/e.csv': 'x\ty' })).entries()].map(([k, v]) => [k, v.toString()]), [['d/e.csv', 'x\ty']]);
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-zip-'));
  writeFileSync(join(dir, 'STS.input.x.txt'), input.repeat(20));
  try {
    execFileSync('zip', ['-q', '-r', 'a.zip', 'STS.input.x.txt'], { cwd: dir });
  } catch {
    return; // no zip tool here: the hand-made archives above cover the format
  }
  assert.equal(unzip(readFileSync(join(dir, 'a.zip'))).get('STS.input.x.txt')!.toString(), input.repeat(20));
});

test('senteval: the missing STS12-16, STS-B and SICK-R test files are fetched once and reported as held-out columns', async () => {
  const { url, hits, server } = await serve(archives());
  try {
    const model = await plainModel();
    const cacheDir = mkdtempSync(join(tmpdir(), 'synthcse-senteval-cache-'));
    const data = devFolder();
    const params = evaluate.params.parse({ data, senteval: { mirror: url } });
    const ctx = fakeContext({}, { cacheDir });
    const out = (await evaluate.run({ model } as never, params, ctx as never)) as { metrics: Row[] };
    const tasks = out.metrics.map((m) => m['task']);
    assert.deepEqual(tasks, ['STS12', 'STS13', 'STS14', 'STS15', 'STS16', 'STS-B', 'SICK-R', 'stsb-dev', 'Avg.']);
    assert.equal(out.metrics.find((m) => m['task'] === 'STS12')!['pairs'], 5 * 5, 'five subsets of STS12');
    assert.equal(out.metrics.find((m) => m['task'] === 'STS16')!['pairs'], 5 * 5, 'STS2016.* names read as STS.*');
    assert.equal(hits.size, 7);
    assert.ok([...hits.values()].every((n) => n === 1));

    // Again, same cache: nothing is downloaded, the figures are the same.
    const again = (await evaluate.run({ model } as never, params, fakeContext({}, { cacheDir }) as never)) as { metrics: Row[] };
    assert.deepEqual(again.metrics, out.metrics);
    assert.ok([...hits.values()].every((n) => n === 1), 'downloaded once');
  } finally {
    server.close();
  }
});

test('senteval: an unreachable network is a warning that says how to fix it; the local tasks are still evaluated', async () => {
  const { url, server } = await serve(new Map());
  server.close();
  const model = await plainModel();
  const ctx = fakeContext({}, { cacheDir: mkdtempSync(join(tmpdir(), 'synthcse-senteval-cache-')) });
  const out = (await evaluate.run({ model } as never, evaluate.params.parse({ data: devFolder(), senteval: { mirror: url } }), ctx as never)) as { metrics: Row[] };
  assert.deepEqual(out.metrics.map((m) => m['task']), ['stsb-dev']);
  const warning = ctx.messages.find((m) => m.level === 'warn' && /SentEval STS files could not be fetched/.test(m.message));
  assert.ok(warning, JSON.stringify(ctx.messages));
  assert.match(warning.message, /cannot download http:\/\/127\.0\.0\.1:\d+\/STS2012-en-test\.zip: fetch failed \(ECONNREFUSED\)/);
  assert.match(warning.message, /--force test, or set senteval: \{mirror: URL\}/);
  assert.equal(ctx.stats.values!['senteval'], 'unreachable');
});

test('synthcse eval --senteval --mirror URL: the same files through the command line, into its cache', async () => {
  const { url, hits, server } = await serve(archives());
  try {
    const model = await plainModel();
    const cache = mkdtempSync(join(tmpdir(), 'synthcse-senteval-cli-'));
    const cli = fileURLToPath(new URL('../../../bin/synthcse.js', import.meta.url));
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const args = [cli, 'eval', '--model', model.path, '--data', devFolder(), '--senteval', '--mirror', url, '--cache', cache];
    const r = await runCli(args, env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\| model\.onnx \| (\d+\.\d\d \| ){8}\d+\.\d\d \|$/m, r.stdout);
    assert.equal(hits.size, 7);
    const again = await runCli(args, env);
    assert.equal(again.stdout, r.stdout);
    assert.ok([...hits.values()].every((n) => n === 1), 'the second run reads the cache');
  } finally {
    server.close();
  }
});

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
