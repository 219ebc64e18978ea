/**
 * Guarantee 5 (bad input), through the real CLI: every user mistake in data files, pipeline files and command lines
 * ends with a clear message that names the file and line where there is one, never a stack trace; recoverable row
 * problems (empty lines, bad rows under on_bad_row: skip) and bad LLM replies (empty, refusal, cut off by
 * max_tokens, unparseable) are recorded, counted item failures while the run goes on.
 * Pipeline-file errors with positions (unknown keys, wrong types, cycles, YAML syntax) are specified in
 * test/engine/errors.test.ts; this file adds what a user's data and the built-in node types can get wrong.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startMockLlmServer } from '../support/mock-llm-server.js';
import type { MockChatRequest } from '../support/llm-responder.js';
import { oneLineResponder } from './crash-scenario.js';
import { FaultProject, hasStackTrace, pipelineYaml, premises, requestsReceived, type CliResult } from './support.js';

function loadPipeline(path: string, extra: string[] = []): string {
  return ['name: data', 'nodes:', '  src:', '    type: load', '    with:', `      path: ${path}`, ...extra.map((l) => `      ${l}`), ''].join('\n');
}

function assertClean(r: CliResult): void {
  const out = r.stdout + r.stderr;
  assert.ok(!hasStackTrace(out), `no stack trace:\n${out}`);
  assert.doesNotMatch(out, /Internal error|looks like a bug/, out);
}

interface DataCase {
  name: string;
  files: Record<string, string | Uint8Array>;
  pipeline: string;
  code: number;
  expect: RegExp[];
}

const TSV_HEADER = 'premise\thypothesis\tlabel\n';
const cases: DataCase[] = [
  {
    name: 'a missing data file names the pipeline line and the path',
    files: {},
    pipeline: loadPipeline('missing.txt'),
    code: 1,
    expect: [/p\.yaml:\d+:\d+/, /missing\.txt/, /fix: /],
  },
  {
    name: 'a TSV row with the wrong number of fields names its file and line',
    files: { 'pairs.tsv': TSV_HEADER + 'a b\tc d\t1\nonly two\tfields\n' },
    pipeline: loadPipeline('pairs.tsv', ['kind: pairs', 'columns: { text_a: premise, text_b: hypothesis, label: label }']),
    code: 1,
    expect: [/pairs\.tsv:3: /, /on_bad_row: skip/],
  },
  {
    name: 'invalid UTF-8 names its file and line',
    files: { 's.txt': Buffer.concat([Buffer.from('fine line\nsecond line\nbad \xff byte\n', 'latin1')]) },
    pipeline: loadPipeline('s.txt'),
    code: 1,
    expect: [/s\.txt:3: invalid UTF-8/, /fix: re-encode/],
  },
  {
    name: 'an empty dataset is an error naming the file',
    files: { 'empty.txt': '\n\n   \n' },
    pipeline: loadPipeline('empty.txt'),
    code: 1,
    expect: [/empty\.txt holds no sentences rows/],
  },
  {
    name: 'a built-in node parameter of the wrong type names its line',
    files: { 's.txt': 'one\n' },
    pipeline: loadPipeline('s.txt', ['limit: many']),
    code: 2,
    expect: [/p\.yaml:7:14 .*limit.*expected number/],
  },
  {
    name: 'an unknown key in the llm: section names its line',
    files: { 's.txt': 'one\n' },
    pipeline: 'name: x\nllm:\n  provider: anthropic\n  modle: claude-haiku-4-5\n' + loadPipeline('s.txt').replace('name: data\n', ''),
    code: 2,
    expect: [/p\.yaml:\d+:\d+ llm: .*modle/],
  },
  {
    name: 'a pipeline file that is not YAML at all',
    files: {},
    pipeline: '\u0000\u0001\u0002 {{{ not: yaml ]]]\n',
    code: 2,
    expect: [/p\.yaml:\d+:\d+ /],
  },
  {
    name: 'an empty pipeline file',
    files: {},
    pipeline: '',
    code: 2,
    expect: [/p\.yaml/],
  },
];

for (const c of cases) {
  test(`bad input: ${c.name}`, async () => {
    const project = new FaultProject();
    for (const [name, content] of Object.entries(c.files)) project.write(name, content);
    project.write('p.yaml', c.pipeline);
    const r = await project.run(['run', 'p.yaml']);
    assertClean(r);
    assert.equal(r.code, c.code, r.stderr);
    for (const pattern of c.expect) assert.match(r.stderr, pattern);
  });
}

test('bad input: command-line mistakes are usage errors, not crashes', async () => {
  const project = new FaultProject();
  project.write('p.yaml', loadPipeline('s.txt'));
  project.write('s.txt', 'one\n');
  for (const args of [['run', 'p.yaml', '--jobs', 'lots'], ['run', 'p.yaml', '--budget', '-3'], ['run'], ['run', 'p.yaml', '--frobnicate'], ['run', 'nope.yaml'], ['export', 'src']]) {
    const r = await project.run(args);
    assertClean(r);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /❌ /, args.join(' '));
  }
});

test('bad input: empty lines and skipped bad rows are counted, the run succeeds', async () => {
  const project = new FaultProject();
  project.write('s.txt', 'first\n\nsecond\n   \nthird\n');
  project.write('pairs.tsv', TSV_HEADER + 'a b\tc d\t1\nonly two\tfields\ne f\tg h\t0\n');
  project.write(
    'p.yaml',
    [
      'name: counted',
      'nodes:',
      '  s:',
      '    type: load',
      '    with:',
      '      path: s.txt',
      '  p:',
      '    type: load',
      '    with:',
      '      path: pairs.tsv',
      '      kind: pairs',
      '      columns: { text_a: premise, text_b: hypothesis, label: label }',
      '      on_bad_row: skip',
      '',
    ].join('\n'),
  );
  const r = await project.run(['run', 'p.yaml', '--json']);
  assertClean(r);
  assert.equal(r.code, 0, r.stderr);
  const show = await project.run(['show', 's', '--port', 'sentences', '--pipeline', 'p.yaml', '--json', '--head', '10']);
  assert.deepEqual(show.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { text: string }).text), ['first', 'second', 'third']);
  const pairs = await project.run(['show', 'p', '--port', 'pairs', '--pipeline', 'p.yaml', '--json', '--head', '10']);
  assert.equal(pairs.stdout.trim().split('\n').length, 2);
  const report = await project.run(['report', 'p.yaml', '--out', 'report.html']);
  assertClean(report);
  assert.equal(report.code, 0, report.stderr);
  const html = project.read('report.html');
  assert.match(html, /<span class="n">2<\/span> empty-line/, 'the two empty lines are counted in the report');
  assert.match(html, /<span class="n">1<\/span> wrong-field-count/, 'the skipped TSV row is counted in the report');
});

test('bad input: a 10 MB line is read without a crash and dropped (counted) by the words filter', async () => {
  const project = new FaultProject();
  const huge = Array.from({ length: 1_000_000 }, (_, i) => `w${i % 10}`).join(' ').slice(0, 10 * 1024 * 1024);
  project.write('s.txt', `A short sentence.\n${huge}\nAnother short one.\n`);
  project.write(
    'p.yaml',
    ['name: huge', 'nodes:', '  s:', '    type: load', '    with:', '      path: s.txt', '  f:', '    type: filter', '    inputs:', '      sentences: s.sentences', '    with:', '      rules:', '        - rule: words', '          max: 32', ''].join('\n'),
  );
  const started = Date.now();
  const r = await project.run(['run', 'p.yaml']);
  assertClean(r);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Date.now() - started < 60_000);
  const kept = await project.run(['show', 'f', '--port', 'sentences', '--pipeline', 'p.yaml', '--json']);
  assert.deepEqual(kept.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { text: string }).text), ['A short sentence.', 'Another short one.']);
  assert.match(r.stderr, /1 → |words: 3 → 2/);
});

const PREMISES_BAD = 10;

/** Replies that annotate must not turn into training data: each fails its item with a short, counted reason. */
function badReplies(request: MockChatRequest): string {
  const last = request.messages[request.messages.length - 1]!.content;
  const n = Number(/number (\d+)/.exec(last)?.[1] ?? '0');
  switch (n % 5) {
    case 1:
      return '';
    case 2:
      return "I'm sorry, but I can't help with that request.";
    case 3:
      return 'word '.repeat(400); // longer than max_tokens: cut off
    case 4:
      return 'First line.\nSecond line that should not be here.';
    default:
      return oneLineResponder(request);
  }
}

test('bad LLM replies (empty, refusal, cut off by max_tokens, unparseable) are counted item failures that fail the run; a rerun re-parses them for free', async () => {
  const server = await startMockLlmServer({ responder: badReplies });
  try {
    const project = new FaultProject();
    project.write('premises.txt', premises(PREMISES_BAD).join('\n') + '\n');
    // A generous timeout: a timeout under a loaded CI machine would be a different (uncached) failure.
    project.write('p.yaml', pipelineYaml({ train: false, llm: { timeout_ms: 60000 } }).replace('      shots: 2\n', '      shots: 2\n      max_tokens: 64\n'));
    const r = await project.run(['run', 'p.yaml'], server.url);
    assertClean(r);
    assert.equal(r.code, 4, r.stderr);
    const line = /annotate: (\d+) item\(s\) failed \(([^)]*)\)/.exec(r.stderr);
    assert.ok(line, r.stderr);
    assert.equal(Number(line[1]), 8, `premises 1-4 and 6-9 fail (2 of each 5 are fine)\n${r.stderr}`);
    for (const reason of [/empty/i, /refus/i, /max_tokens|cut off/i, /not one sentence|lines/i]) assert.match(line[2]!, reason);
    const rows = await project.run(['show', 'annotate', '--port', 'triplets', '--pipeline', 'p.yaml', '--json', '--head', '100']);
    assert.equal(rows.stdout.trim().split('\n').length, 2);
    const before = requestsReceived(server.stats);
    assert.ok(before >= PREMISES_BAD * 2, 'the first run sent its requests');
    const again = await project.run(['run', 'p.yaml'], server.url);
    assert.equal(again.code, 4, again.stderr);
    assert.match(again.stderr, /8 got an answer that was refused or unusable; it is cached, so a rerun gives the same answer/);
    // Replies are cached answers: the rerun re-parses them without paying again.
    assert.equal(requestsReceived(server.stats) - before, 0, `a failed item does not re-send requests whose answers are cached\n${again.stderr}`);
  } finally {
    await server.close();
  }
});
