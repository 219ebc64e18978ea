/**
 * The commands of docs/walkthrough.md, on the toy pipeline (test node types only), so the walkthrough stays true:
 * writing and running a pipeline, swapping the sentence source with a variant, resuming a killed run.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { countMatching, repoRoot, sleep, Workspace } from '../engine/support.js';
import { toyWorkspace } from './support.js';
import { unlessPresent } from '../support/prerequisite.js';

const WALKTHROUGH = join(repoRoot, 'docs', 'walkthrough.md');
const sharedData = process.env.SYNTHCSE_DATA ?? join(repoRoot, '..', 'shared', 'data');

/** The fenced blocks of the walkthrough, in order, with their language tag. */
function codeBlocks(): { lang: string; text: string }[] {
  const blocks: { lang: string; text: string }[] = [];
  const text = readFileSync(WALKTHROUGH, 'utf8');
  for (const m of text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)) blocks.push({ lang: m[1]!, text: m[2]! });
  return blocks;
}

/** The block printed after `$ COMMAND` in the walkthrough (up to the next blank line or prompt). */
function documentedOutput(command: string): string {
  for (const block of codeBlocks()) {
    const lines = block.text.split('\n');
    const start = lines.indexOf(`$ ${command}`);
    if (start < 0) continue;
    const out: string[] = [];
    for (const line of lines.slice(start + 1)) {
      if (line === '' || line.startsWith('$ ')) break;
      out.push(line);
    }
    return out.join('\n');
  }
  throw new Error(`docs/walkthrough.md shows no "$ ${command}"`);
}

test('the walkthrough\'s pipeline file is valid, and its dag and the real diff print what the page shows', { skip: unlessPresent(existsSync(join(sharedData, 'unlabeled', 'snli_premises.txt')), `no shared data at ${sharedData}`) }, () => {
  const ws = new Workspace();
  const yaml = codeBlocks().find((b) => b.lang === 'yaml' && b.text.startsWith('name: my-first'));
  assert.ok(yaml, 'the first pipeline file is in the walkthrough');
  ws.write('first.yaml', yaml.text);
  symlinkSync(join(repoRoot, 'pipelines', 'prompts'), join(ws.dir, 'prompts'));
  const env = { SYNTHCSE_DATA: sharedData, ANTHROPIC_API_KEY: '', ANTHROPIC_AUTH_TOKEN: '' };
  const plan = ws.run(['plan', 'first.yaml'], env);
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(plan.stderr, /No LLM is configured/);
  assert.match(plan.stdout, /annotate\s+will run.*annotate ← premises/);
  const dag = ws.run(['dag', 'first.yaml'], env);
  assert.equal(dag.code, 0, dag.stderr);
  assert.equal(dag.stdout.trimEnd(), documentedOutput('synthcse dag first.yaml'));

  const diff = new Workspace().run(['diff', join(repoRoot, 'pipelines', 'syncse-partial.yaml'), '--variant', 'scratch'], env);
  assert.equal(diff.code, 0, diff.stderr);
  const documented = documentedOutput('synthcse diff pipelines/syncse-partial.yaml --variant scratch').split('\n').slice(1);
  assert.deepEqual(diff.stdout.trimEnd().split('\n').slice(1), documented, 'same rows as the walkthrough');
});

test('use 1: plan, dag, run, status, show, export, report', () => {
  const { ws, file } = toyWorkspace();
  const plan = ws.run(['plan', file]);
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(plan.stdout, /toy-syncse: 5 nodes/);
  assert.match(plan.stdout, /pairs\s+will run\s+toy-pairs ← sentences/);

  const dag = ws.run(['dag', file]);
  assert.equal(dag.code, 0, dag.stderr);
  assert.match(dag.stdout, /^flowchart LR/);
  assert.match(dag.stdout, /train -->\|toy-model\| eval/);

  const run = ws.run(['run', file]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /ran\s+pairs \(toy-pairs\) .*\[items: 24 ran\]/);
  assert.match(run.stdout, /\| Model \| sickr \| stsb-dev \|/, 'the STS table is printed');
  assert.match(run.stdout, /\| GloVe avg \(baseline\) \|/);

  const status = ws.run(['status', file]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /Last run [0-9a-f]{8} of .*toy\.yaml: ok/);
  assert.match(status.stdout, /pairs\s+ran\s+.*0\/24\/0/);

  const show = ws.run(['show', 'clean', '--head', '2', '--pipeline', file]);
  assert.equal(show.code, 0, show.stderr);
  const shown = /clean\.pairs: (\d+) rows/.exec(show.stdout);
  assert.ok(shown, show.stdout);
  assert.match(show.stdout, /anchor: A man is playing a guitar on stage\./);

  const exported = ws.run(['export', 'clean', '--out', 'clean.jsonl', '--pipeline', file]);
  assert.equal(exported.code, 0, exported.stderr);
  const lines = readFileSync(join(ws.dir, 'clean.jsonl'), 'utf8').trim().split('\n');
  assert.equal(lines.length, Number(shown[1]));

  const report = ws.run(['report', file, '--out', 'report.html']);
  assert.equal(report.code, 0, report.stderr);
});

test('use 2: a variant that swaps the sentence source reuses every annotated sentence it shares', () => {
  const { ws, file } = toyWorkspace({ sentences: 24, scratchSentences: 36 });
  assert.equal(ws.run(['run', file]).code, 0);
  ws.takeLog();

  const diff = ws.run(['diff', file, '--variant', 'scratch']);
  assert.equal(diff.code, 0, diff.stderr);
  assert.match(diff.stdout, /Comparing .*toy\.yaml@scratch with .*toy\.yaml/);
  assert.match(diff.stdout, /generate\s+only-a/);
  assert.match(diff.stdout, /sentences\s+only-b/);
  assert.match(diff.stdout, /pairs\s+differs\s+wired to different inputs; upstream differs \(generate\); reused if it yields identical data/);
  assert.match(diff.stdout, /eval\s+differs\s+upstream differs \(train\)/);

  const scratch = ws.run(['run', file, '--variant', 'scratch']);
  assert.equal(scratch.code, 0, scratch.stderr);
  assert.match(scratch.stderr, /ran\s+pairs \(toy-pairs\) .*\[items: 24 cached, 12 ran\]/);
  assert.equal(countMatching(ws.takeLog(), 'toy-pairs '), 12, 'only the 12 new sentences are annotated');

  // Back to the base pipeline: everything is in the cache.
  const back = ws.run(['run', file]);
  assert.equal(back.code, 0, back.stderr);
  assert.deepEqual(ws.takeLog(), []);
  for (const node of ['sentences', 'pairs', 'clean', 'train', 'eval']) assert.match(back.stderr, new RegExp(`cached\\s+${node} `));
});

test('use 3: kill a run, run the same command, only the unfinished items run', async () => {
  const ITEMS = 60;
  const CONCURRENCY = 4;
  const { ws, file } = toyWorkspace({ sentences: ITEMS, delayMs: 40, concurrency: CONCURRENCY });
  const child = ws.spawn(['run', file]);
  const exited = once(child, 'exit');
  for (let i = 0; i < 400 && countMatching(ws.takeLogPeek(), 'toy-pairs ') < 20; i++) await sleep(25);
  child.kill('SIGKILL');
  await exited;
  const before = countMatching(ws.takeLog(), 'toy-pairs ');
  assert.ok(before >= 20 && before < ITEMS, `killed part-way (${before} items done)`);

  const status = ws.run(['status', file]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /: not finished \(still running, or killed\), started/, 'the killed run never recorded its end');
  for (const node of ['sentences', 'pairs', 'clean', 'train', 'eval']) assert.match(status.stdout, new RegExp(`^ {2}${node} `, 'm'), 'every node is listed');

  const report = ws.run(['report', file, '--out', 'killed.html']);
  assert.equal(report.code, 0, report.stderr);
  assert.match(readFileSync(join(ws.dir, 'killed.html'), 'utf8'), /never recorded its end/);

  const resumed = ws.run(['run', file]);
  assert.equal(resumed.code, 0, resumed.stderr);
  const items = /ran\s+pairs \(toy-pairs\) .*\[items: (\d+) cached, (\d+) ran\]/.exec(resumed.stderr);
  assert.ok(items, resumed.stderr);
  const [cached, ran] = [Number(items[1]), Number(items[2])];
  assert.equal(cached + ran, ITEMS);
  assert.ok(cached >= before - CONCURRENCY, `finished items are kept (${cached} cached after ${before} done)`);
  assert.equal(countMatching(ws.takeLog(), 'toy-pairs '), ran, 'the rerun computes only what was not finished');
});
