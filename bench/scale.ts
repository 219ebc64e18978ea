/**
 * Scale benchmark (`npm run bench:scale [-- --sizes 10000,50000 --plan-sizes 100000 --plan-cached 2000 --workers 1,2,4]`): the syncse-partial annotate
 * stage (load → annotate, two calls per premise) against a loopback Anthropic-compatible endpoint that answers at
 * once. For each size: `plan` on an empty cache, then a first run as a CLI process (wall time and peak RSS from
 * /usr/bin/time), cache bytes per call. With --workers: the same run through `synthcse worker` processes on a
 * loopback redis-server, each worker bound to its own endpoint (a process of its own) that serves at most 20 requests at
 * a time with 500 ms latency (a GPU server's slots: the endpoint, not the coordinator, is what limits one worker). Prints one JSON object on its last line.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMockLlmServer, type MockLlmServer } from '../test/support/mock-llm-server.js';
import { startRedis } from '../test/support/redis-server.js';
import type { EndpointStats } from './endpoint-process.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');
const cli = join(repoRoot, 'bin', 'synthcse.js');
/** The node flags of the CLI's `#!/usr/bin/env -S node ...` line: the bench starts it as a user's shell does. */
const cliNodeFlags = (/^#!.*\bnode\b(.*)$/m.exec(readFileSync(cli, 'utf8').split('\n')[0] ?? '')?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
const prompts = join(repoRoot, 'pipelines', 'prompts', 'syncse', 'v1');

const SUBJECTS = ['A man', 'Two women', 'A child', 'An old dog', 'Three musicians', 'A cyclist', 'The chef', 'A girl in red'];
const VERBS = ['is walking along', 'is sitting near', 'looks at', 'is painting', 'runs past', 'is cleaning', 'waits beside'];
const OBJECTS = ['the river', 'a busy market', 'an empty stage', 'the blue car', 'a wooden fence', 'the city fountain'];

/** Distinct, sentence-like premises (deterministic). */
function premisesText(n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    lines.push(`${SUBJECTS[i % SUBJECTS.length]} ${VERBS[(i >> 3) % VERBS.length]} ${OBJECTS[(i >> 5) % OBJECTS.length]} at hour ${i}.`);
  }
  return lines.join('\n') + '\n';
}

function pipelineYaml(premisesFile: string, concurrency: number): string {
  return [
    'name: scale',
    'llm:',
    '  provider: anthropic',
    '  model: claude-haiku-4-5',
    "  anthropic_version: '2023-06-01'",
    'nodes:',
    '  premises:',
    '    type: load',
    '    with:',
    `      path: ${premisesFile}`,
    '  annotate:',
    '    type: annotate',
    '    inputs:',
    '      sentences: premises.sentences',
    '    with:',
    '      recipe: syncse',
    `      positive: ${join(prompts, 'positive.yaml')}`,
    `      negative: ${join(prompts, 'negative.yaml')}`,
    '      shots: 5',
    '      temperature: null',
    '      top_p_positive: 0.9',
    '      top_p_negative: 0.95',
    `      concurrency: ${concurrency}`,
    '',
  ].join('\n');
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? dirBytes(path) : statSync(path).size;
  }
  return total;
}

function cliEnv(baseUrl: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ANTHROPIC_API_KEY: 'bench-key', ANTHROPIC_BASE_URL: baseUrl };
  delete env.NODE_EXTRA_CA_CERTS; // adds ~85 ms to every node start here
  return env;
}

/** Runs the CLI under /usr/bin/time: wall seconds, CPU seconds (user + system) and peak RSS (MB) of the process. */
async function timedCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ seconds: number; cpuSeconds: number; peakRssMb: number; stdout: string }> {
  const started = performance.now();
  // SYNTHCSE_BENCH_CPU_PROF=DIR: a CPU profile of each CLI process (node --cpu-prof) in DIR.
  const profile = process.env.SYNTHCSE_BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.SYNTHCSE_BENCH_CPU_PROF] : [];
  const child = spawn('/usr/bin/time', ['-f', 'maxrss_kb=%M cpu_s=%U+%S', process.execPath, ...cliNodeFlags, ...profile, cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`synthcse ${args.join(' ')} exited ${code}:\n${stderr.slice(-2000)}`);
  const rss = /maxrss_kb=(\d+)/.exec(stderr);
  const cpu = /cpu_s=([\d.]+)\+([\d.]+)/.exec(stderr);
  return { seconds, peakRssMb: rss ? Number(rss[1]) / 1024 : NaN, cpuSeconds: cpu ? Number(cpu[1]) + Number(cpu[2]) : NaN, stdout };
}

/** CPU seconds (user + system) a running process has used so far, from /proc (Linux). */
function cpuSecondsOf(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (CLK_TCK 100)
  } catch {
    return NaN;
  }
}

interface SizeFigures {
  premises: number;
  calls: number;
  plan_s: number;
  first_run_s: number;
  peak_rss_mb: number;
  calls_per_s: number;
  /** CPU time (user + system) of the run's CLI process per call: the engine's cost, whatever else the machine runs. */
  cpu_ms_per_call: number;
  /** CPU time of the loopback endpoint (this bench process) per call, to show it is not what limits the run. */
  endpoint_cpu_ms_per_call: number;
  cache_bytes_per_call: number;
}

async function measureSize(n: number, server: MockLlmServer, concurrency: number): Promise<SizeFigures> {
  const dir = mkdtempSync(join(tmpdir(), `synthcse-scale-${n}-`));
  try {
    const premises = join(dir, 'premises.txt');
    writeFileSync(premises, premisesText(n));
    const file = join(dir, 'scale.yaml');
    writeFileSync(file, pipelineYaml(premises, concurrency));
    const cache = join(dir, 'cache');
    const env = cliEnv(server.url);
    const plan = await timedCli(['plan', file, '--cache', cache], env);
    const before = server.stats.byRoute['POST /v1/messages'] ?? 0;
    const endpointCpu = process.cpuUsage();
    const run = await timedCli(['run', file, '--cache', cache, '--only', 'annotate'], env);
    const endpointCpuMs = cpuMs(process.cpuUsage(endpointCpu));
    const calls = (server.stats.byRoute['POST /v1/messages'] ?? 0) - before;
    if (calls !== 2 * n) throw new Error(`expected ${2 * n} calls, the endpoint received ${calls}`);
    return {
      premises: n,
      calls,
      plan_s: round(plan.seconds, 2),
      first_run_s: round(run.seconds, 2),
      peak_rss_mb: Math.round(run.peakRssMb),
      calls_per_s: Math.round(calls / run.seconds),
      cpu_ms_per_call: round((run.cpuSeconds * 1000) / calls, 3),
      endpoint_cpu_ms_per_call: round(endpointCpuMs / calls, 3),
      cache_bytes_per_call: Math.round(dirBytes(cache) / calls),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `plan` alone on an empty cache (no run): how long before it answers at a size too large to run here. */
async function measurePlan(n: number, server: MockLlmServer): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), `synthcse-plan-${n}-`));
  try {
    const premises = join(dir, 'premises.txt');
    writeFileSync(premises, premisesText(n));
    const file = join(dir, 'scale.yaml');
    writeFileSync(file, pipelineYaml(premises, 256));
    const plan = await timedCli(['plan', file, '--cache', join(dir, 'cache')], cliEnv(server.url));
    return round(plan.seconds, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `plan` at n premises after a run of the first k (same requests for those): every request is keyed and looked up,
 * the way a plan after an interrupted run or beside other answers works (an empty cache needs no keys).
 */
async function measurePartlyCachedPlan(n: number, k: number, server: MockLlmServer): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), `synthcse-plan-${n}-`));
  try {
    const premises = join(dir, 'premises.txt');
    const file = join(dir, 'scale.yaml');
    writeFileSync(file, pipelineYaml(premises, 256));
    const cache = join(dir, 'cache');
    const env = cliEnv(server.url);
    writeFileSync(premises, premisesText(k));
    await timedCli(['run', file, '--cache', cache, '--only', 'annotate'], env);
    writeFileSync(premises, premisesText(n));
    const plan = await timedCli(['plan', file, '--cache', cache], env);
    if (!plan.stdout.includes(`partial: ${k} of ${n} cached`)) throw new Error(`plan did not count ${k} of ${n} cached:\n${plan.stdout}`);
    return round(plan.seconds, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface WorkerFigures {
  calls_per_s: number;
  /** Run start to the first call at any endpoint (CLI start, load, keys). */
  start_s: number;
  /** First call to the last answer at the endpoints: the workers' aggregate rate over this window is calls_window_per_s. */
  calls_window_per_s: number;
  /** Last answer to the run's exit (commits, outputs, close). */
  tail_s: number;
  run_s: number;
  resent_after_answer: number;
  /** CPU time of the endpoint processes during the run, and the largest 99th-percentile delay of their event loops. */
  endpoints_cpu_s: number;
  endpoints_loop_delay_p99_ms: number;
  /** CPU time per call of each part: the coordinator process (start included), all workers, redis-server, the endpoints. */
  cpu_ms_per_call: { coordinator: number; workers: number; redis: number; endpoints: number };
}

/** Spawns a worker and resolves once it says it is ready (its start is not part of the measured run). */
async function startWorker(redisUrl: string, endpoint: string, concurrency: number): Promise<ChildProcess> {
  const profile = process.env.SYNTHCSE_BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.SYNTHCSE_BENCH_CPU_PROF] : [];
  const child = spawn(process.execPath, [...cliNodeFlags, ...profile, cli, 'worker', '--redis', redisUrl, '--concurrency', String(concurrency), '--base-url', endpoint], { env: cliEnv(endpoint), stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  await new Promise<void>((ready, fail) => {
    child.stderr!.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('ready')) ready();
    });
    child.once('exit', (code) => fail(new Error(`synthcse worker exited ${code} before it was ready:\n${text}`)));
  });
  child.stderr!.resume();
  return child;
}

interface Endpoint {
  url: string;
  stats(): Promise<EndpointStats>;
  close(): Promise<void>;
}

/** An endpoint in its own process (bench/endpoint-process.ts). */
async function startEndpoint(latencyMs: number, serveConcurrency: number): Promise<Endpoint> {
  const child = fork(join(here, 'endpoint-process.js'), [String(latencyMs), String(serveConcurrency)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const next = <T>() => new Promise<T>((resolve, reject) => {
    child.once('message', (message) => resolve(message as T));
    child.once('exit', (code) => reject(new Error(`an endpoint process exited ${code}`)));
  });
  const { url } = await next<{ url: string }>();
  return {
    url,
    stats() {
      const answer = next<EndpointStats>();
      child.send('stats');
      return answer;
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((done) => child.once('exit', done));
      child.send('close');
      await exited;
    },
  };
}

async function measureWorkers(n: number, workerCounts: number[], workerConcurrency: number): Promise<Record<number, WorkerFigures>> {
  const redis = await startRedis();
  const perWorker: Record<number, WorkerFigures> = {};
  try {
    for (const count of workerCounts) {
      const endpoints = await Promise.all(Array.from({ length: count }, () => startEndpoint(500, 20)));
      const dir = mkdtempSync(join(tmpdir(), `synthcse-workers-${count}-`));
      const workers: ChildProcess[] = [];
      try {
        const premises = join(dir, 'premises.txt');
        writeFileSync(premises, premisesText(n));
        const file = join(dir, 'scale.yaml');
        writeFileSync(file, pipelineYaml(premises, 256));
        for (const e of endpoints) workers.push(await startWorker(redis.url, e.url, workerConcurrency));
        const redisPid = Number(/process_id:(\d+)/.exec(spawnSync(redis.cli, ['-p', String(redis.port), 'INFO', 'server']).stdout.toString())?.[1]);
        const before = { workers: workers.reduce((sum, w) => sum + cpuSecondsOf(w.pid), 0), redis: cpuSecondsOf(redisPid), endpoints: (await Promise.all(endpoints.map((e) => e.stats()))).reduce((sum, s) => sum + s.cpuSeconds, 0) };
        const started = Date.now();
        const run = await timedCli(['run', file, '--cache', join(dir, 'cache'), '--only', 'annotate', '--redis', redis.url], cliEnv(endpoints[0]!.url));
        const workersCpu = workers.reduce((sum, w) => sum + cpuSecondsOf(w.pid), 0) - before.workers;
        const redisCpu = cpuSecondsOf(redisPid) - before.redis;
        const stats = await Promise.all(endpoints.map((e) => e.stats()));
        const endpointsCpu = stats.reduce((sum, s) => sum + s.cpuSeconds, 0) - before.endpoints;
        const perCall = (seconds: number) => round((seconds * 1000) / (2 * n), 2);
        const answered = stats.reduce((sum, s) => sum + s.answered, 0);
        // A call sent twice (by two workers at once, or again after its answer) counts once here.
        const distinct = new Set(stats.flatMap((s) => s.succeeded)).size;
        if (distinct !== 2 * n) throw new Error(`expected ${2 * n} distinct answers, the endpoints gave ${distinct}`);
        const firstCallAt = Math.min(...stats.filter((s) => s.firstCallAt > 0).map((s) => s.firstCallAt));
        const lastAnswerAt = Math.max(...stats.map((s) => s.lastAnswerAt));
        perWorker[count] = {
          calls_per_s: Math.round((2 * n) / run.seconds),
          start_s: round((firstCallAt - started) / 1000, 2),
          calls_window_per_s: Math.round((2 * n) / ((lastAnswerAt - firstCallAt) / 1000)),
          tail_s: round(run.seconds - (lastAnswerAt - started) / 1000, 2),
          run_s: round(run.seconds, 2),
          // Calls the endpoints answered more than once (0 unless a worker died).
          resent_after_answer: answered - distinct,
          endpoints_cpu_s: round(endpointsCpu, 2),
          endpoints_loop_delay_p99_ms: round(Math.max(...stats.map((s) => s.loopDelayP99Ms)), 1),
          cpu_ms_per_call: { coordinator: perCall(run.cpuSeconds), workers: perCall(workersCpu), redis: perCall(redisCpu), endpoints: perCall(endpointsCpu) },
        };
        process.stdout.write(JSON.stringify({ workers: count, ...perWorker[count] }) + '\n');
      } finally {
        for (const w of workers) w.kill('SIGTERM');
        await Promise.all(workers.map((w) => (w.exitCode === null ? new Promise((d) => w.on('exit', d)) : undefined)));
        await Promise.all(endpoints.map((e) => e.close()));
        rmSync(dir, { recursive: true, force: true });
      }
      // SYNTHCSE_BENCH_REDIS_STATS=1: Redis's per-command counts and times of this run, on stderr.
      if (process.env.SYNTHCSE_BENCH_REDIS_STATS) process.stderr.write(`${count} worker(s): ${spawnSync(redis.cli, ['-p', String(redis.port), 'INFO', 'commandstats']).stdout.toString()}`);
      spawnSync(redis.cli, ['-p', String(redis.port), 'CONFIG', 'RESETSTAT']);
      spawnSync(redis.cli, ['-p', String(redis.port), 'FLUSHALL']);
    }
  } finally {
    await redis.stop();
  }
  return perWorker;
}

function cpuMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1000;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function listArg(name: string, fallback: number[]): number[] {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  return process.argv[i + 1]!.split(',').filter(Boolean).map(Number);
}

async function main(): Promise<void> {
  const sizes = listArg('--sizes', [10_000]);
  const workerCounts = listArg('--workers', []);
  const concurrency = listArg('--concurrency', [256])[0]!;
  // Rate-limit headers far above what one machine can send: the client paces by them, not by its entry-tier default.
  const server = await startMockLlmServer({ latencyMs: 0, reportedRequestsPerMinute: 10_000_000, reportedTokensPerMinute: 10_000_000_000 });
  const results: SizeFigures[] = [];
  const planOnly: Record<number, number> = {};
  try {
    for (const n of sizes) {
      const figures = await measureSize(n, server, concurrency);
      process.stdout.write(JSON.stringify(figures) + '\n');
      results.push(figures);
    }
    const cachedFirst = listArg('--plan-cached', [])[0];
    for (const n of listArg('--plan-sizes', [])) {
      planOnly[n] = await measurePlan(n, server);
      process.stdout.write(JSON.stringify({ premises: n, plan_only_s: planOnly[n] }) + '\n');
      if (cachedFirst !== undefined) {
        const seconds = await measurePartlyCachedPlan(n, cachedFirst, server);
        process.stdout.write(JSON.stringify({ premises: n, cached_premises: cachedFirst, plan_partly_cached_s: seconds }) + '\n');
      }
    }
  } finally {
    await server.close();
  }
  const workerRates = workerCounts.length > 0 ? await measureWorkers(listArg('--worker-premises', [1600])[0]!, workerCounts, listArg('--worker-concurrency', [20])[0]!) : {};
  const workerRate = (count: number) => workerRates[count]?.calls_per_s;
  if (workerCounts.length > 0) process.stdout.write(JSON.stringify({ worker_calls_per_s: Object.fromEntries(workerCounts.map((c) => [c, workerRate(c)])) }) + '\n');
  const at = (n: number) => results.find((r) => r.premises === n);
  const largest = results[results.length - 1];
  const summary = {
    sizes: results.map((r) => r.premises),
    first_run_s_10k: at(10_000)?.first_run_s ?? null,
    peak_rss_mb_10k: at(10_000)?.peak_rss_mb ?? null,
    first_run_s_50k: at(50_000)?.first_run_s ?? null,
    peak_rss_mb_50k: at(50_000)?.peak_rss_mb ?? null,
    first_run_s_100k: at(100_000)?.first_run_s ?? null,
    peak_rss_mb_100k: at(100_000)?.peak_rss_mb ?? null,
    plan_s_100k: at(100_000)?.plan_s ?? planOnly[100_000] ?? null,
    plan_s_largest: largest?.plan_s ?? null,
    cache_bytes_per_call: largest?.cache_bytes_per_call ?? null,
    engine_calls_per_s: largest?.calls_per_s ?? null,
    engine_cpu_ms_per_call: largest?.cpu_ms_per_call ?? null,
    worker_calls_per_s_1: workerRate(1) ?? null,
    worker_speedup_4: workerRate(1) !== undefined && workerRate(4) !== undefined ? round(workerRate(4)! / workerRate(1)!, 2) : null,
    // The same ratio over the window from the first call to the last answer (the coordinator's start left out).
    worker_window_speedup_4: workerRates[1] !== undefined && workerRates[4] !== undefined ? round(workerRates[4].calls_window_per_s / workerRates[1].calls_window_per_s, 2) : null,
  };
  process.stdout.write(JSON.stringify(summary) + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
