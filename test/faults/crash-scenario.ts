/**
 * The crash-safety scenario shared by test/faults/crash.test.ts (a few kills) and bench/torture.ts (50 kills):
 * load → annotate (online) + annotate_b (batch) → filter → train, run through the real CLI against the loopback LLM
 * server, killed with SIGKILL at random moments inside each phase; after each kill the same command runs again.
 * At the end, every exported dataset and the model file must equal those of an uninterrupted run, and no request
 * whose answer had been committed to the cache may reach the server again.
 */
import Database from 'better-sqlite3';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMockLlmServer, type MockLlmServer } from '../support/mock-llm-server.js';
import { defaultResponder, type MockChatRequest } from '../support/llm-responder.js';
import { batchCalls, cloneCache, FaultProject, pipelineYaml, premises, seededRandom, warmGloveCache, type CliResult } from './support.js';

export type Phase = 'online' | 'batch' | 'training';
export const PHASES: readonly Phase[] = ['online', 'batch', 'training'];
const PHASE_NODE: Record<Phase, string> = { online: 'annotate', batch: 'annotate_b', training: 'train' };
const NODE_PHASE = new Map<string, Phase>(PHASES.map((p) => [PHASE_NODE[p], p]));
/** The exports compared with the uninterrupted run. */
const EXPORTS = [
  { node: 'annotate', port: 'triplets', file: 'annotate.jsonl' },
  { node: 'annotate_b', port: 'triplets', file: 'annotate_b.jsonl' },
  { node: 'clean', port: 'triplets', file: 'clean.jsonl' },
  { node: 'train', port: 'model', file: 'model.onnx' },
] as const;
const COMMAND = ['run', 'p.yaml', '--json', '--jobs', '1'];

export interface CrashOptions {
  kills: number;
  premises: number;
  epochs: number;
  seed: number;
  /** Mock server latency per online request, and how long a batch stays in progress. */
  latencyMs: number;
  batchProcessingMs: number;
  /** A kill lands uniformly within this many ms after the phase's first real work (see armedWhen). */
  maxDelayMs: Record<Phase, number>;
  log?: (line: string) => void;
}

export interface CrashReport {
  kills: number;
  kills_by_phase: Record<Phase | 'other', number>;
  /** Fresh caches used (a round ends when its pipeline finished; the next round starts from an empty cache). */
  rounds: number;
  runs: number;
  identical_results: boolean;
  /** Requests (online) and batch items the server received beyond what the uninterrupted run needed. */
  extra_requests: number;
  extra_online_requests: number;
  extra_batch_items: number;
  /** Requests sent again although their answer was already committed to the cache: must be 0. */
  resent_after_commit: number;
  /** Requests sent again after the server had answered them (answers lost with a killed process in flight). */
  resent_after_server_success: number;
  reference_requests: number;
  differences: string[];
  failures: string[];
  ms: number;
}

/** Replies of one sentence (the default responder's two-line replies would make items fail, by design of annotate). */
export function oneLineResponder(request: MockChatRequest): string {
  return defaultResponder(request).split('\n')[0]!;
}

export interface Committed {
  onlineRequestIds: Set<string>;
  requestKeys: Set<string>;
}

/** The LLM answers committed to a cache: online request ids (the mock's body digests) and request keys. */
export function readCommitted(cacheDir: string): Committed {
  const committed: Committed = { onlineRequestIds: new Set(), requestKeys: new Set() };
  const file = join(cacheDir, 'cache.db');
  if (!existsSync(file)) return committed;
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare('SELECT request_key, request_id, mode FROM llm_responses').all() as { request_key: string; request_id: string | null; mode: string }[];
    for (const r of rows) {
      committed.requestKeys.add(r.request_key);
      if (r.mode === 'online' && r.request_id) committed.onlineRequestIds.add(r.request_id.replace(/^req_/, ''));
    }
  } catch {
    // No LLM table yet: nothing committed.
  } finally {
    db.close();
  }
  return committed;
}

function totalReceived(server: MockLlmServer): { online: number; batch: number } {
  let online = 0;
  let batch = 0;
  for (const n of server.stats.received.values()) online += n;
  for (const n of server.stats.batchItemsReceived.values()) batch += n;
  return { online, batch };
}

/** Receipts during one run of requests whose answers were committed before it started. */
export function resentAfterCommit(server: MockLlmServer, before: { received: Map<string, number>; batch: Map<string, number> }, committed: Committed): number {
  let resent = 0;
  for (const [digest, n] of server.stats.received) {
    const increase = n - (before.received.get(digest) ?? 0);
    if (increase > 0 && committed.onlineRequestIds.has(digest.slice(0, 24))) resent += increase;
  }
  for (const [customId, n] of server.stats.batchItemsReceived) {
    const increase = n - (before.batch.get(customId) ?? 0);
    if (increase > 0 && committed.requestKeys.has(customId)) resent += increase;
  }
  return resent;
}

/** When a phase has started its real work: the first online request, the first batch call, the first training step. */
function armedWhen(server: MockLlmServer, target: Phase | undefined): (seen: Seen) => boolean {
  const online = totalReceived(server).online;
  const batch = batchCalls(server.stats);
  if (target === 'online') return () => totalReceived(server).online > online;
  if (target === 'batch') return () => batchCalls(server.stats) > batch;
  return (seen) => seen.trainingSteps > 0;
}

async function startServer(options: CrashOptions): Promise<MockLlmServer> {
  return startMockLlmServer({ responder: oneLineResponder, latencyMs: options.latencyMs, batchProcessingMs: options.batchProcessingMs, seed: options.seed });
}

async function makeProject(options: CrashOptions, template: string): Promise<FaultProject> {
  const project = new FaultProject();
  cloneCache(template, project.cache);
  project.write('premises.txt', premises(options.premises).join('\n') + '\n');
  project.write('p.yaml', pipelineYaml({ mode: 'online', batchBranch: true, epochs: options.epochs, concurrency: 4, checkpointEvery: 1 }));
  return project;
}

async function exportAll(project: FaultProject): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const e of EXPORTS) {
    const result = await project.run(['export', e.node, '--port', e.port, '--out', e.file, '--pipeline', 'p.yaml']);
    if (result.code !== 0) throw new Error(`export ${e.node} failed: ${result.stderr}`);
    out.set(e.file, readFileSync(join(project.dir, e.file)));
  }
  return out;
}

interface Attempt {
  result: CliResult;
  killedIn: Phase | 'other' | undefined;
  finished: Set<string>;
}

/** What the run reported so far (from its --json events). */
interface Seen {
  trainingSteps: number;
}

/** One run of the command; when `target` is given, SIGKILL `delayMs` after that phase's real work began (`armed`). */

async function attempt(project: FaultProject, url: string, target: Phase | undefined, delayMs: number, armed: (seen: Seen) => boolean): Promise<Attempt> {
  const seen: Seen = { trainingSteps: 0 };
  const child = project.spawn(COMMAND, url);
  let stdout = '';
  let stderr = '';
  let buffered = '';
  let current: string | undefined;
  let killedIn: Phase | 'other' | undefined;
  const finished = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let watch: NodeJS.Timeout | undefined;
  const guard = setTimeout(() => child.kill('SIGKILL'), 180_000);
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.on('data', (d: Buffer) => {
    const text = d.toString();
    stdout += text;
    buffered += text;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let event: { type?: string; node?: string; state?: string; done?: number };
      try {
        event = JSON.parse(line) as typeof event;
      } catch {
        continue;
      }
      if (event.type === 'progress' && event.node === PHASE_NODE.training) seen.trainingSteps = Math.max(seen.trainingSteps, event.done ?? 0);
      if (event.type === 'node-start') {
        current = event.node;
        if (target !== undefined && event.node === PHASE_NODE[target] && watch === undefined) {
          // The delay counts from the phase's first real work (e.g. the first request the server receives).
          watch = setInterval(() => {
            if (!armed(seen)) return;
            clearInterval(watch);
            timer = setTimeout(() => {
              if (child.exitCode === null && child.signalCode === null) {
                killedIn = (current !== undefined && NODE_PHASE.get(current)) || 'other';
                child.kill('SIGKILL');
              }
            }, delayMs);
          }, 5);
        }
      } else if (event.type === 'node-end') {
        if (event.state === 'ran' || event.state === 'cached') finished.add(event.node!);
        if (event.node === current) current = undefined;
      }
    }
  });
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  clearTimeout(guard);
  clearInterval(watch);
  clearTimeout(timer);
  return { result: { code, signal, stdout, stderr }, killedIn, finished };
}

export async function runCrashScenario(options: CrashOptions): Promise<CrashReport> {
  const started = Date.now();
  const log = options.log ?? (() => {});
  const random = seededRandom(options.seed);
  const template = await warmGloveCache();
  const report: CrashReport = {
    kills: 0,
    kills_by_phase: { online: 0, batch: 0, training: 0, other: 0 },
    rounds: 0,
    runs: 0,
    identical_results: true,
    extra_requests: 0,
    extra_online_requests: 0,
    extra_batch_items: 0,
    resent_after_commit: 0,
    resent_after_server_success: 0,
    reference_requests: 0,
    differences: [],
    failures: [],
    ms: 0,
  };

  // The uninterrupted run.
  const refServer = await startServer(options);
  let expected: Map<string, Buffer>;
  let reference: { online: number; batch: number };
  try {
    const project = await makeProject(options, template);
    const result = await project.run(COMMAND, refServer.url);
    if (result.code !== 0) throw new Error(`the uninterrupted run failed (${result.code}):\n${result.stderr}`);
    expected = await exportAll(project);
    reference = totalReceived(refServer);
    report.reference_requests = reference.online + reference.batch;
    log(`reference: ${reference.online} online requests, ${reference.batch} batch items`);
  } finally {
    await refServer.close();
  }

  let idleRounds = 0;
  while (report.kills < options.kills) {
    report.rounds++;
    const killsBefore = report.kills;
    const server = await startServer(options);
    try {
      const project = await makeProject(options, template);
      const done = new Set<Phase>();
      const quota = Math.ceil(options.kills / PHASES.length);
      for (;;) {
        // The phases run in order (--jobs 1): kill in the first unfinished phase still short of its share of kills.
        const open = PHASES.filter((p) => !done.has(p));
        const target = report.kills < options.kills ? (open.find((p) => report.kills_by_phase[p] < quota) ?? open[0]) : undefined;
        const delay = target === undefined ? 0 : Math.floor(random() * options.maxDelayMs[target]);
        const committed = readCommitted(project.cache);
        const before = { received: new Map(server.stats.received), batch: new Map(server.stats.batchItemsReceived) };
        const run = await attempt(project, server.url, target, delay, armedWhen(server, target));
        report.runs++;
        report.resent_after_commit += resentAfterCommit(server, before, committed);
        for (const node of run.finished) {
          const phase = NODE_PHASE.get(node);
          if (phase) done.add(phase);
        }
        if (run.killedIn !== undefined) {
          report.kills++;
          report.kills_by_phase[run.killedIn]++;
          const after = totalReceived(server);
          log(`kill ${report.kills}: ${run.killedIn} (target ${target}, +${delay} ms); server received ${after.online} requests, ${after.batch} batch items so far`);
          continue;
        }
        log(`run ${report.runs}: not killed (target ${target ?? 'none'}, +${delay} ms), exit ${run.result.code}, finished ${[...run.finished].join(' ')}`);
        if (run.result.code !== 0) {
          report.failures.push(`round ${report.rounds}: a run not killed exited ${run.result.code}: ${run.result.stderr.slice(-2000)}`);
          report.identical_results = false;
          break;
        }
        // Finished: compare with the uninterrupted run.
        const got = await exportAll(project);
        for (const [file, bytes] of expected) {
          if (!got.get(file)?.equals(bytes)) {
            report.identical_results = false;
            report.differences.push(`round ${report.rounds}: ${file} differs from the uninterrupted run's`);
          }
        }
        break;
      }
      const received = totalReceived(server);
      report.extra_online_requests += received.online - reference.online;
      report.extra_batch_items += received.batch - reference.batch;
      report.resent_after_server_success += server.stats.resentAfterSuccess + server.stats.batchItemsResentAfterSuccess;
      // A kill can land after its phase ended (the run then simply finishes); five such rounds in a row mean the
      // delays do not fit the phases.
      idleRounds = report.kills === killsBefore ? idleRounds + 1 : 0;
      if (idleRounds >= 5) report.failures.push(`rounds ${report.rounds - 4}-${report.rounds}: the pipeline finished before any kill landed`);
      if (report.failures.length > 0) break;
    } finally {
      await server.close();
    }
  }
  report.extra_requests = report.extra_online_requests + report.extra_batch_items;
  report.ms = Date.now() - started;
  return report;
}
