/**
 * DINO on the local provider, as a user runs it: `synthcse run` of a small DINO STS-x2 pipeline (raw completion,
 * self-debiasing against the counter-labels, top-k 5, top-p 0.9, cut at the closing quote, DINO's post-processing)
 * on a tiny GGUF the test writes. Phases: a run killed (SIGKILL) during generation; the same command resumes and
 * generates only what was not committed (every answer stored before the kill is untouched); a third run is all cached.
 * Then `plan` of the repository's dino-x2 pipeline, variant local, on the same model.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { cliPath, repoRoot } from '../engine/support.js';
import { writeTinyGguf } from '../support/tiny-gguf.js';
import { unlessPresent } from '../support/prerequisite.js';

const SENTENCES = [
  'a man sits on a chair',
  'a woman reads a book in the park',
  'two children play with a ball',
  'the dog runs on the beach',
  'a young man rides a bike on the street',
  'the cat sleeps on the bed',
  'people walk in the city',
  'a girl drinks tea at the table',
  'an old man holds a picture',
  'a bird sits in a tree',
  'the child eats an apple',
  'a woman writes a song',
  'a man plays music in a room',
  'the horse jumps over the water',
  'a person looks at the sea',
  'children are running in the park',
];
const SAMPLES = 2;
const GENERATIONS = SENTENCES.length * 3 * SAMPLES;

interface StoredAnswer {
  request_key: string;
  response_digest: string;
  created: number;
}

function answers(cacheDir: string): StoredAnswer[] {
  if (!existsSync(join(cacheDir, 'cache.db'))) return [];
  const db = new Database(join(cacheDir, 'cache.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT request_key, response_digest, created FROM llm_responses WHERE provider = 'local'").all() as StoredAnswer[];
  } catch {
    return []; // the table does not exist yet
  } finally {
    db.close();
  }
}

function pipeline(dir: string, model: string): string {
  const file = join(dir, 'dino-local.yaml');
  writeFileSync(join(dir, 'x1.txt'), SENTENCES.join('\n') + '\n');
  writeFileSync(
    file,
    `name: dino-local-tiny
llm:
  provider: local
  model: ${JSON.stringify(model)}
  sequences: 3
  context_size: 256
  threads: 1
nodes:
  x1:
    type: load
    with:
      path: x1.txt
  x2:
    type: annotate
    inputs:
      sentences: x1.sentences
    with:
      recipe: dino-x2
      spec: ${JSON.stringify(join(repoRoot, 'pipelines', 'prompts', 'dino', 'v1', 'sts-x2-lm.yaml'))}
      prompt_format: completion
      guidance: { type: self-debias, decay: 100, epsilon: 0.01 }
      samples: ${SAMPLES}
      temperature: 1.0
      top_p: 0.9
      top_k: 5
      max_tokens: 40
      concurrency: 1
  pairs:
    type: filter
    inputs:
      pairs: x2.pairs
    with:
      rules:
        - rule: trim
        - rule: dino-postprocess
          label_smoothing: 0.2
          max_per_label: 2
          random_pairs: 2
          seed: 42
`,
  );
  return file;
}

/** A tiny random model's answers are often cut off: those items fail, and this test is about resuming, not them. */
const ALLOW_FAILED = ['--max-failed', '100%'];

function cliEnv(cache: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SYNTHCSE_CACHE: cache };
  delete env.ANTHROPIC_API_KEY;
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

test('DINO with self-debiasing on a local model: killed during generation, the same command resumes without regenerating', { timeout: 5 * 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-local-dino-'));
  try {
    const model = join(dir, 'tiny.gguf');
    // The closing quote is likely at every step (about 0.1 to 0.2), so answers end at it as DINO's do.
    writeTinyGguf(model, { seed: 3, outputScale: 8, embedding: 64, feedForward: 128, layers: 4, boost: { token: '"', logit: 8 } });
    const file = pipeline(dir, model);
    const cache = join(dir, 'cache');
    const env = cliEnv(cache);

    // Killed once some answers are committed and before all are.
    const child = spawn(process.execPath, [cliPath, 'run', file, ...ALLOW_FAILED], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    let killedAt = 0;
    for (let waited = 0; waited < 120_000; waited += 20) {
      killedAt = answers(cache).length;
      if (killedAt >= 8) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    await exited;
    const beforeRerun = answers(cache);
    assert.ok(beforeRerun.length >= 8 && beforeRerun.length < GENERATIONS, `killed after ${beforeRerun.length} of ${GENERATIONS} answers; stderr: ${stderr}`);

    // The same command: it finishes, and every answer committed before the kill is the same row (not regenerated).
    const resumed = spawnSync(process.execPath, [cliPath, 'run', file, '--json', ...ALLOW_FAILED], { cwd: dir, env, encoding: 'utf8' });
    assert.equal(resumed.status, 0, resumed.stderr);
    const after = new Map(answers(cache).map((a) => [a.request_key, a]));
    assert.equal(after.size, GENERATIONS, 'one answer per (x1, label, sample)');
    for (const a of beforeRerun) assert.deepEqual(after.get(a.request_key), a);
    const events = resumed.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const x2 = events.find((e) => e.type === 'node-end' && e.node === 'x2') as { items: { ran: number; cached: number; failed: number } } | undefined;
    assert.ok(x2 !== undefined, resumed.stdout.slice(0, 2000));
    // Items finished before the kill are cached; the rest ran now (an item whose answer was committed just before
    // the kill runs again, but reads its answer from the cache: the rows above are unchanged).
    assert.ok(x2.items.cached >= 1, JSON.stringify(x2.items));
    assert.equal(x2.items.cached + x2.items.ran + x2.items.failed, GENERATIONS);

    // DINO's pairs came out: text_b cut before the closing quote, labels smoothed.
    const shown = spawnSync(process.execPath, [cliPath, 'export', 'pairs', '--port', 'pairs', '--out', join(dir, 'pairs.jsonl'), '--pipeline', file], { cwd: dir, env, encoding: 'utf8' });
    assert.equal(shown.status, 0, shown.stderr);
    const pairs = (await import('node:fs')).readFileSync(join(dir, 'pairs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { text_a: string; text_b: string; label: number });
    assert.ok(pairs.length > 0);
    assert.ok(pairs.every((p) => !p.text_b.includes('"')));
    assert.ok(pairs.some((p) => p.label === 0.9) && pairs.some((p) => p.label === 0.1));

    // Everything cached now: nothing is generated.
    const third = spawnSync(process.execPath, [cliPath, 'run', file, '--json', ...ALLOW_FAILED], { cwd: dir, env, encoding: 'utf8' });
    assert.equal(third.status, 0, third.stderr);
    const ends = third.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; node?: string; items?: { cached: number; ran: number; failed: number } });
    const again = ends.find((e) => e.type === 'node-end' && e.node === 'x2')?.items;
    // Items whose answer did not parse (no closing quote within 40 tokens) fail again from the cached answer.
    assert.deepEqual(again && { ...again, failureReasons: undefined }, { ...x2.items, cached: x2.items.cached + x2.items.ran, ran: 0, failureReasons: undefined });
    assert.equal(answers(cache).length, GENERATIONS);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const data = process.env.SYNTHCSE_DATA ?? join(repoRoot, '..', 'shared', 'data');
const hasData = existsSync(join(data, 'stsb', 'train.tsv'));

test('plan of the DINO pipeline, variant local, says how many tokens it will generate and that it costs nothing', { skip: unlessPresent(hasData, `no data folder at ${data}`) }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-local-plan-'));
  try {
    const model = join(dir, 'tiny.gguf');
    writeTinyGguf(model, { seed: 3 });
    const env = { ...cliEnv(join(dir, 'cache')), SYNTHCSE_DATA: data };
    const r = spawnSync(
      process.execPath,
      [cliPath, 'plan', 'pipelines/dino-x2.yaml', '--variant', 'local', '--set', `llm.model=${model}`, '--set', 'params.x1=5'],
      { cwd: repoRoot, env, encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    // 5 sentences × 3 labels × 2 samples, at most 40 tokens each.
    assert.match(r.stdout, /30 local generations, about 1200 tokens to generate/);
    assert.match(r.stdout, /Estimated LLM cost of what is not cached yet: \$0\.0000/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
