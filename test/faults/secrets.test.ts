/**
 * Guarantee 6 (secrets): after runs with a sentinel API key (a successful one with the batch API, one whose key the
 * provider rejects, one with SYNTHCSE_DEBUG stack traces), the key appears nowhere: not in the cache directory
 * (database, WAL, artifacts), stdout/stderr of run, plan, status, show, export, doctor and report, the exports, or the
 * HTML report.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { startMockLlmServer } from '../support/mock-llm-server.js';
import { oneLineResponder } from './crash-scenario.js';
import { FaultProject, filesUnder, pipelineYaml, premises, SENTINEL_KEY, type CliResult } from './support.js';

/** The distinctive part of the key: catches partial leaks (a prefix, a truncated header dump) too. */
const NEEDLES = [SENTINEL_KEY, SENTINEL_KEY.slice(8, 30), Buffer.from(SENTINEL_KEY).toString('base64').slice(0, 24)];

function assertNoKey(where: string, data: string | Buffer): void {
  const text = typeof data === 'string' ? data : data.toString('latin1');
  for (const needle of NEEDLES) assert.ok(!text.includes(needle), `the API key (or part of it) appears in ${where}`);
}

test('a sentinel API key never appears in the cache, the output of any command, the exports or the report', async () => {
  const server = await startMockLlmServer({ responder: oneLineResponder, apiKey: SENTINEL_KEY, batchProcessingMs: 100 });
  const outputs: [string, CliResult][] = [];
  try {
    const project = new FaultProject();
    project.write('premises.txt', premises(6).join('\n') + '\n');
    project.write('p.yaml', pipelineYaml({ train: false, batchBranch: true }));
    const run = async (args: string[], extra: NodeJS.ProcessEnv = {}) => {
      const r = await project.run(args, server.url, extra);
      outputs.push([args.join(' '), r]);
      return r;
    };
    assert.equal((await run(['plan', 'p.yaml'])).code, 0);
    const ok = await run(['run', 'p.yaml']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(server.stats.keyedRequests > 0, 'the key was sent to the provider (so it was in the process)');
    // A rejected key (also a sentinel) with stack traces on: error paths must redact too.
    const wrongKey = SENTINEL_KEY.replace('do-not-leak', 'rejected-one');
    project.write('premises.txt', premises(8).join('\n') + '\n');
    const rejected = await run(['run', 'p.yaml'], { ANTHROPIC_API_KEY: wrongKey, SYNTHCSE_DEBUG: '1' });
    assert.match(rejected.stderr, /rejected the key/, 'the error path was taken');
    await run(['run', 'p.yaml', '--json'], { ANTHROPIC_API_KEY: wrongKey });
    await run(['status', 'p.yaml']);
    await run(['show', 'annotate', '--port', 'triplets', '--pipeline', 'p.yaml']);
    await run(['export', 'annotate', '--port', 'triplets', '--out', 'triplets.jsonl', '--pipeline', 'p.yaml']);
    await run(['export', 'annotate_b', '--port', 'triplets', '--out', 'triplets_b.csv', '--pipeline', 'p.yaml']);
    await run(['doctor', '--cache', project.cache]);
    const report = await run(['report', 'p.yaml', '--out', 'report.html']);
    assert.equal(report.code, 0, report.stderr);

    for (const [command, r] of outputs) {
      assertNoKey(`the stdout of "synthcse ${command}"`, r.stdout);
      assertNoKey(`the stderr of "synthcse ${command}"`, r.stderr);
      assert.ok(!r.stderr.includes(wrongKey) && !r.stdout.includes(wrongKey), `the rejected key appears in the output of "synthcse ${command}"`);
    }
    const files = filesUnder(project.dir);
    assert.ok(files.some((f) => f.endsWith('cache.db')) && files.some((f) => f.endsWith('report.html')) && files.some((f) => f.endsWith('triplets.jsonl')));
    for (const file of files) {
      const bytes = readFileSync(file);
      assertNoKey(file, bytes);
      assert.ok(!bytes.toString('latin1').includes(wrongKey), `the rejected key appears in ${file}`);
    }
  } finally {
    await server.close();
  }
});
