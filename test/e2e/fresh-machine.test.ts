/**
 * The README's quick start on a fresh clone: no data folder, no SYNTHCSE_DATA, an empty cache, only an endpoint and
 * a key. The method pipeline fetches its public inputs itself (served here from loopback like the real hosts:
 * SimCSE's nli_for_simcse.csv from the hub, the STS benchmark's tar.gz), once, with the download resumed after it
 * breaks off, and `plan` lists the downloads and their sizes first.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cliPath, repoRoot } from '../engine/support.js';
import { startDataServer, tarGz } from '../support/data-server.js';
import { startMockLlmServer } from '../support/mock-llm-server.js';

const KEY = 'sk-ant-fresh-machine-not-a-real-key-0123';
const NLI_PATH = '/datasets/princeton-nlp/datasets-for-simcse/resolve/main/nli_for_simcse.csv';
const STSB_PATH = '/stswiki/images/4/48/Stsbenchmark.tar.gz';
const SICK_PATH = '/alvations/stasis/master/SICK-data/SICK_trial.txt';

const SUBJECTS = ['A man', 'A woman', 'A child', 'Two dogs', 'An old man', 'A young girl', 'The chef', 'A musician'];
const ACTIONS = ['is walking along the beach', 'is playing a guitar', 'is cooking dinner', 'is reading a book', 'is riding a bicycle'];

function nliCsv(): string {
  const lines = ['sent0,sent1,hard_neg'];
  for (let i = 0; i < 40; i++) {
    const premise = `${SUBJECTS[i % SUBJECTS.length]} ${ACTIONS[Math.floor(i / SUBJECTS.length) % ACTIONS.length]}`;
    lines.push(`${premise} in the morning.,Someone is outside.,Nobody is there.`);
    // SNLI repeats each premise once per hypothesis: sent0 repeats.
    if (i % 4 === 0) lines.push(`${premise} in the morning.,A person is busy.,The place is empty.`);
  }
  lines.push('"A man, smiling, is waving.",A man waves.,A man sleeps.');
  return lines.join('\n') + '\n';
}

/** The STS benchmark's own layout: genre, file, year, id, score, sentence 1, sentence 2 (TAB-separated). */
function stsDevCsv(): string {
  const rows: string[] = [];
  let id = 0;
  for (const subject of SUBJECTS) {
    for (const [j, action] of ACTIONS.entries()) {
      const other = ACTIONS[(j + 1) % ACTIONS.length]!;
      rows.push(['main-captions', 'MSRvid', '2012test', String(++id).padStart(4, '0'), '5.000', `${subject} ${action}.`, `${subject} ${action}.`].join('\t'));
      rows.push(['main-captions', 'MSRvid', '2012test', String(++id).padStart(4, '0'), '2.000', `${subject} ${action}.`, `${subject} ${other}.`].join('\t'));
      rows.push(['main-captions', 'MSRvid', '2012test', String(++id).padStart(4, '0'), '0.400', `${subject} ${action}.`, `The stock market fell sharply today.`].join('\t'));
    }
  }
  return rows.join('\n') + '\n';
}

/** SICK's own layout: pair_ID, sentence_A, sentence_B, relatedness_score, entailment_judgment (TAB-separated). */
function sickTrialTxt(): string {
  const rows = ['pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment'];
  let id = 0;
  for (const subject of SUBJECTS) {
    for (const [j, action] of ACTIONS.entries()) {
      rows.push([String(++id), `${subject} ${action}.`, `${subject} ${action}.`, '5.0', 'ENTAILMENT'].join('\t'));
      rows.push([String(++id), `${subject} ${action}.`, `${subject} ${ACTIONS[(j + 2) % ACTIONS.length]}.`, '2.5', 'NEUTRAL'].join('\t'));
    }
  }
  return rows.join('\n') + '\n';
}

function runCli(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('the quick start on a fresh clone: only an endpoint and a key; public data downloaded once, resumed, checked', { timeout: 10 * 60_000 }, async () => {
  const archive = tarGz({ 'stsbenchmark/sts-dev.csv': Buffer.from(stsDevCsv()), 'stsbenchmark/readme.txt': Buffer.from('STS benchmark\n') });
  const data = await startDataServer({ [NLI_PATH]: Buffer.from(nliCsv()), [STSB_PATH]: archive, [SICK_PATH]: Buffer.from(sickTrialTxt()) });
  const llm = await startMockLlmServer({ apiKey: KEY, reportedRequestsPerMinute: 4000, reportedTokensPerMinute: 2_000_000 });
  try {
    const clone = mkdtempSync(join(tmpdir(), 'synthcse-clone-'));
    cpSync(join(repoRoot, 'pipelines'), join(clone, 'pipelines'), { recursive: true, filter: (src) => !src.includes('.synthcse') });
    const env: NodeJS.ProcessEnv = { ...process.env, ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: llm.url };
    delete env.SYNTHCSE_DATA;
    delete env.SYNTHCSE_CACHE;
    const args = [
      'pipelines/syncse-partial.yaml',
      '--set', 'params.premises=30',
      '--set', 'nodes.train.with.epochs=1',
      '--set', `params.premises_url=${data.url}${NLI_PATH}`,
      '--set', `params.stsb_url=${data.url}${STSB_PATH}`,
      '--set', `params.sick_trial_url=${data.url}${SICK_PATH}`,
      // The SentEval test sets come from the real hosts, which tests cannot reach.
      '--set', 'params.senteval=false',
    ];

    const plan = await runCli(['plan', ...args], clone, env);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /premises +will run.*\n\s+reads nli_for_simcse\.csv, downloaded into the cache first/);
    assert.match(plan.stdout, /Downloads into the cache \(once; a local file in the data folder is used instead when present\): [\d.]+ MB/);
    assert.ok(plan.stdout.includes(`${data.url}${NLI_PATH}  0.0 MB  (premises)`), plan.stdout);
    assert.ok(plan.stdout.includes(`${data.url}${STSB_PATH}  0.0 MB  (train, eval)`), plan.stdout);
    assert.ok(plan.stdout.includes(`${data.url}${SICK_PATH}  0.0 MB  (train, eval)`), plan.stdout);
    assert.equal(data.gets.size, 0, 'plan downloads nothing');

    // The archive's download breaks off half-way: the run stops and says a rerun resumes.
    data.breakNext(STSB_PATH);
    const broken = await runCli(['run', ...args], clone, env);
    assert.equal(broken.code, 1, broken.stderr);
    assert.match(broken.stderr, /the download of .*Stsbenchmark\.tar\.gz broke off/);
    assert.match(broken.stderr, /run the same command again: it resumes where it stopped/);

    const resumed = await runCli(['run', ...args], clone, env);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(data.ranges.length, 1, 'the second run asked for the rest of the archive only');
    assert.match(resumed.stderr, /resuming at/);
    assert.match(resumed.stdout, /stsb-dev/i, 'the STS table is printed');
    assert.match(resumed.stderr, /sha256 [0-9a-f]{64} \(checked against the server's checksum\)/);

    const premises = await runCli(['show', 'premises', '--json', '--head', '100', '--pipeline', 'pipelines/syncse-partial.yaml'], clone, env);
    const texts = premises.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { text: string }).text);
    assert.equal(texts.length, 30);
    assert.equal(new Set(texts).size, 30, 'sent0 is deduplicated');

    const gets = [...data.gets.values()].reduce((a, b) => a + b, 0);
    const again = await runCli(['run', ...args], clone, env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /cached\s+eval/);
    assert.equal([...data.gets.values()].reduce((a, b) => a + b, 0), gets, 'nothing is downloaded twice');
  } finally {
    await data.close();
    await llm.close();
  }
});

test('a checksum that does not match stops the run and keeps nothing', { timeout: 5 * 60_000 }, async () => {
  const data = await startDataServer({ [NLI_PATH]: Buffer.from(nliCsv()) });
  const llm = await startMockLlmServer({ apiKey: KEY });
  try {
    const clone = mkdtempSync(join(tmpdir(), 'synthcse-clone-'));
    cpSync(join(repoRoot, 'pipelines'), join(clone, 'pipelines'), { recursive: true, filter: (src) => !src.includes('.synthcse') });
    const env: NodeJS.ProcessEnv = { ...process.env, ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: llm.url };
    delete env.SYNTHCSE_DATA;
    delete env.SYNTHCSE_CACHE;
    const pinned = ['pipelines/syncse-partial.yaml', '--only', 'premises', '--set', `params.premises_url=${data.url}${NLI_PATH}`, '--set', `nodes.premises.with.sha256=${'ab'.repeat(32)}`];
    const r = await runCli(['run', ...pinned], clone, env);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /nli_for_simcse\.csv has sha256 [0-9a-f]{64}, expected (ab){32}/);
    assert.match(r.stderr, /fix: the file changed upstream: check it and update sha256/);
  } finally {
    await data.close();
    await llm.close();
  }
});
