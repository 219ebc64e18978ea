/**
 * The command line behaves like the tools researchers know: help for every command both ways, --version, -q,
 * shell completion, no crash when the reader closes the pipe, `show` picks the output that has rows, and the
 * progress display names a node once, without its internal key, in colour only on a terminal.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { plainReporter, ttyReporter, useColour } from '../../engine/events.js';
import { COMMAND_HELP } from '../../engine/cli/help.js';
import { cliPath, repoRoot, Workspace } from './support.js';

const PIPELINE = `
name: many
plugins: [$PLUGIN]
params:
  n: 30000
nodes:
  src:
    type: emit
    with:
      count: \${params.n}
  parts:
    type: split
    inputs:
      words: src
`;

test('help CMD and CMD --help for every command; --version; unknown help topics are usage errors', () => {
  const ws = new Workspace();
  for (const name of Object.keys(COMMAND_HELP)) {
    const viaHelp = ws.run(['help', name]);
    assert.equal(viaHelp.code, 0, `${name}: ${viaHelp.stderr}`);
    assert.match(viaHelp.stdout, new RegExp(`^Usage: synthcse ${name}`));
    if (name === 'help') continue;
    const viaFlag = ws.run([name, '--help']);
    assert.equal(viaFlag.code, 0, `${name} --help: ${viaFlag.stderr}`);
    assert.equal(viaFlag.stdout, viaHelp.stdout);
  }
  assert.match(ws.run(['help', 'run']).stdout, /--max-failed SHARE/);
  const version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  assert.equal(ws.run(['--version']).stdout, `synthcse ${version.version}\n`);
  const unknown = ws.run(['help', 'frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown command "frobnicate"/);
  assert.match(ws.run(['rnu']).stderr, /Did you mean "run"\?/);
});

test('shell completion is valid bash and knows the commands and their flags', () => {
  const ws = new Workspace();
  const r = ws.run(['completion', 'bash']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /complete -F _synthcse synthcse/);
  assert.match(r.stdout, /run\) opts="[^"]*--max-failed/);
  const check = spawnSync('bash', ['-n'], { input: r.stdout, encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);
  const completed = spawnSync('bash', ['-c', `${r.stdout}\nCOMP_WORDS=(synthcse pl); COMP_CWORD=1; _synthcse; echo "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
  assert.equal(completed.stdout.trim(), 'plan');
  assert.equal(ws.run(['completion', 'tcsh']).code, 2);
});

test('piping into head ends quietly; show picks the non-empty output; -q keeps only the final line', () => {
  const ws = new Workspace();
  const file = ws.write('p.yaml', PIPELINE);
  const quiet = ws.run(['run', file, '-q']);
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.doesNotMatch(quiet.stderr, /✓ ran/);
  assert.match(quiet.stderr.trim(), /^synthcse: done in [^\n]*$/, 'only the final line');
  const verbose = ws.run(['run', file]);
  assert.match(verbose.stderr, /✓ cached +src/);

  for (const command of [`show src --head 30000 --pipeline ${file}`, `show src --head 30000 --json --pipeline ${file}`, `plan ${file} --json`, `schema`]) {
    const piped = spawnSync('bash', ['-c', `"${process.execPath}" "${cliPath}" ${command} | head -c 20 >/dev/null; echo "status \${PIPESTATUS[0]}" >&2`], { cwd: ws.dir, env: ws.env(), encoding: 'utf8' });
    assert.match(piped.stderr, /status 0\s*$/, `${command}: ${piped.stderr}`);
    assert.doesNotMatch(piped.stderr, /EPIPE|Error|at /, command);
  }

  const shown = ws.run(['show', 'parts', '--pipeline', file, '--head', '2']);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /^parts\.kept: 30000 rows/);
  const both = ws.run(['show', 'parts', '--pipeline', file, '--head', '2', '--port', 'dropped']);
  assert.match(both.stdout, /^parts\.dropped: 0 rows/);
  const ambiguous = ws.run(['run', file, '--set', 'nodes.parts.with.drop=w1', '-q']);
  assert.equal(ambiguous.code, 0, ambiguous.stderr);
  const pick = ws.run(['show', 'parts', '--pipeline', file]);
  assert.equal(pick.code, 2);
  assert.match(pick.stderr, /has outputs dropped \(11111 rows\), kept \(18889 rows\); pick one with --port/);
});

test('the progress line names the node once, never its internal key; colour only on a terminal without NO_COLOR', () => {
  const tty = Object.assign(new PassThrough(), { isTTY: true, columns: 120 }) as unknown as NodeJS.WriteStream;
  let text = '';
  (tty as unknown as PassThrough).on('data', (chunk: Buffer) => (text += chunk.toString()));
  const report = ttyReporter(tty, false);
  const llm = { sent: 12, reused: 3, inputTokens: 5400, outputTokens: 800, costUsd: 0.0123, retries: 2, errors: 1, pace: '50 req/min: the provider sent no rate-limit headers; set llm.requests_per_minute to go faster' };
  report({ type: 'progress', node: 'annotate', label: 'annotate (SynCSE)', done: 15, total: 100, llm });
  assert.doesNotMatch(text, /\u0000/);
  assert.match(text, /^ {2}annotate \(SynCSE\) \[#+\.+\] 15\/100 /m);
  assert.doesNotMatch(text, /annotate annotate/);
  assert.match(text, /12 sent, 3 reused · 5\.4k in\/800 out tokens · \$0\.0123 · 2 retries, 1 errors · 50 req\/min: the provider sent no rate-limit headers/);
  report({ type: 'node-end', node: 'annotate', nodeType: 'annotate', key: 'k', state: 'ran', ms: 5, items: { cached: 0, ran: 100, failed: 0, skipped: 0, failureReasons: {}, budgetSpent: false } });
  report({ type: 'run-end', runId: 'r', status: 'ok', ms: 1200, items: { cached: 0, ran: 100, failed: 0 }, llm });
  assert.match(text, /synthcse: done in 1\.2 s; LLM: 12 requests sent \(\$0\.0123, 5\.4k in\/800 out tokens\), 3 answers reused, 2 retries; items: 0 cached, 100 ran, 0 failed/);
  assert.doesNotMatch(text, /\x1b\[3\dm/, 'no colour when told so');

  let coloured = '';
  const colourTty = Object.assign(new PassThrough(), { isTTY: true }) as unknown as NodeJS.WriteStream;
  (colourTty as unknown as PassThrough).on('data', (chunk: Buffer) => (coloured += chunk.toString()));
  ttyReporter(colourTty, true)({ type: 'node-end', node: 'x', nodeType: 't', key: 'k', state: 'failed', ms: 1, items: { cached: 0, ran: 0, failed: 0, skipped: 0, failureReasons: {}, budgetSpent: false } });
  assert.match(coloured, /\x1b\[31m✗ failed/);
  assert.equal(useColour({ isTTY: true }, {}), true);
  assert.equal(useColour({ isTTY: true }, { NO_COLOR: '1' }), false);
  assert.equal(useColour({ isTTY: false }, {}), false);

  let plain = '';
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => (plain += chunk.toString()));
  const log = plainReporter(sink, 0);
  log({ type: 'progress', node: 'clean', label: 'dedupe', done: 0, total: 10 });
  log({ type: 'progress', node: 'clean', label: 'dedupe', done: 5, total: 10 });
  assert.match(plain, /^ {2}clean: dedupe 5\/10 /m);
  assert.doesNotMatch(plain, /\x1b\[/);
});

/** Runs the CLI as a user who cannot write the cache: itself when not root, else nobody (through setpriv). */
function runAsReader(ws: Workspace, args: string[]) {
  const asRoot = process.getuid?.() === 0;
  const command = asRoot ? 'setpriv' : process.execPath;
  const argv = asRoot ? ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, cliPath, ...args] : [cliPath, ...args];
  const r = spawnSync(command, argv, { cwd: ws.dir, env: ws.env(), encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, error: r.error };
}

function chmodTree(path: string, mode: (isDir: boolean) => number): void {
  const isDir = statSync(path).isDirectory();
  if (isDir) for (const entry of readdirSync(path)) chmodTree(join(path, entry), mode);
  chmodSync(path, mode(isDir));
}

test('a read-only cache: status, show and report read it; run and doctor say it is read-only, not damaged', (t) => {
  if (process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status !== 0) return t.skip('running as root without setpriv');
  const ws = new Workspace();
  const file = ws.write('p.yaml', PIPELINE.replace('n: 30000', 'n: 5'));
  assert.equal(ws.run(['run', file, '-q']).code, 0);
  chmodSync(ws.dir, 0o777); // the reader writes its report here
  chmodTree(join(ws.dir, '.synthcse'), (isDir) => (isDir ? 0o555 : 0o444));
  try {
    const probe = runAsReader(ws, ['--version']);
    if (probe.code !== 0) return t.skip(`the reader cannot start synthcse here: ${probe.stderr || String(probe.error)}`);
    const status = runAsReader(ws, ['status', 'p.yaml']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stderr, /is read-only for this user; reading it without writing anything/);
    assert.match(status.stdout, /parts +ran/);
    const shown = runAsReader(ws, ['show', 'src', '--pipeline', 'p.yaml', '--head', '1']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /src\.words: 5 rows/);
    const report = runAsReader(ws, ['report', 'p.yaml', '--out', 'report.html']);
    assert.equal(report.code, 0, report.stderr);
    const run = runAsReader(ws, ['run', 'p.yaml', '--force', 'src']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /is read-only for this user: nothing can be run with it/);
    assert.doesNotMatch(run.stderr + run.stdout, /damaged|cannot be opened|doctor/);
    const doctor = runAsReader(ws, ['doctor', '--cache', '.synthcse']);
    assert.equal(doctor.code, 1);
    assert.match(doctor.stdout, /is read-only for this user/);
    assert.match(doctor.stdout, /✓ its contents: database ok/);
    assert.doesNotMatch(doctor.stdout, /--repair|move it aside|free/);
  } finally {
    chmodTree(join(ws.dir, '.synthcse'), (isDir) => (isDir ? 0o755 : 0o644));
  }
});
