/**
 * Fault tests: a temp project (premises file, pipeline with annotate → filter → train) run through the real CLI
 * against the loopback LLM server started in this process. The CLI is always spawned asynchronously: a blocking
 * spawnSync would freeze this process's event loop and, with it, the mock server the child talks to.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root (this file runs from dist/test/faults). */
export const repoRoot = resolve(here, '../../..');
export const cliPath = join(repoRoot, 'bin', 'synthcse.js');
export const promptsDir = join(repoRoot, 'pipelines', 'prompts');
/** The shared data folder (STS-B dev for training's model selection); training works without it, too. */
export const sharedData = process.env.SYNTHCSE_DATA ? resolve(process.env.SYNTHCSE_DATA) : resolve(repoRoot, '../shared/data');

/** A sentinel API key: it must never show up anywhere synthcse writes. */
export const SENTINEL_KEY = 'sk-ant-SENTINEL-5f0c1d2e3a4b-do-not-leak';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Sentences that the default mock responder can paraphrase and contradict (it swaps known words). */
export function premises(count: number): string[] {
  const subjects = ['A man', 'A woman', 'The boy', 'The girl', 'A small dog', 'Two children', 'An old man', 'A young woman'];
  const verbs = ['is walking down', 'is running along', 'is sitting near', 'is standing outside', 'is looking at', 'is talking on'];
  const places = ['the street', 'the big house', 'a quiet road', 'the open market', 'the river at night', 'a happy crowd'];
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) {
    out.push(`${subjects[i % subjects.length]} ${verbs[Math.floor(i / subjects.length) % verbs.length]} ${places[(i * 7 + 3) % places.length]} number ${i}.`);
  }
  return out;
}

export interface PipelineOptions {
  /** annotate's mode. */
  mode?: 'online' | 'batch';
  concurrency?: number;
  epochs?: number;
  /** Leave the train node out (LLM-only scenarios are much faster). */
  train?: boolean;
  /** Extra llm: fields (operational settings). */
  llm?: Record<string, string | number>;
  checkpointEvery?: number;
  /** Adds `annotate_b`: the same recipe with another seed, in batch mode (a batch phase beside the online one). */
  batchBranch?: boolean;
}

/** The pipeline under test: load (txt) → annotate (SynCSE, mock LLM) → filter → train (tiny glove-avg). */
export function pipelineYaml(o: PipelineOptions = {}): string {
  const llm = {
    requests_per_minute: 600000,
    tokens_per_minute: 1000000000,
    backoff_base_ms: 20,
    backoff_max_ms: 200,
    timeout_ms: 5000,
    batch_poll_ms: 200,
    batch_quiet_ms: 100,
    ...(o.llm ?? {}),
  };
  const annotateNode = (id: string, settings: string[]) => [
    `  ${id}:`,
    '    type: annotate',
    '    inputs:',
    '      sentences: premises.sentences',
    '    with:',
    '      recipe: syncse',
    `      positive: ${join(promptsDir, 'syncse/v1/positive.yaml')}`,
    `      negative: ${join(promptsDir, 'syncse/v1/negative.yaml')}`,
    '      shots: 2',
    '      temperature: null',
    ...settings.map((setting) => `      ${setting}`),
  ];
  const lines = [
    'name: faults',
    'llm:',
    '  provider: anthropic',
    '  model: claude-haiku-4-5',
    "  anthropic_version: '2023-06-01'",
    ...Object.entries(llm).map(([k, v]) => `  ${k}: ${v}`),
    'nodes:',
    '  premises:',
    '    type: load',
    '    with:',
    '      path: premises.txt',
    ...annotateNode('annotate', [`concurrency: ${o.concurrency ?? 4}`, `mode: ${o.mode ?? 'online'}`]),
    ...(o.batchBranch ? annotateNode('annotate_b', ['seed: 1', 'mode: batch']) : []),
    '  clean:',
    '    type: filter',
    '    inputs:',
    '      triplets: annotate.triplets',
    '    with:',
    '      rules:',
    '        - rule: trim',
    '        - rule: refusals',
    '        - rule: identical',
  ];
  if (o.train !== false) {
    lines.push(
      '  train:',
      '    type: train',
      '    inputs:',
      '      data: clean.triplets',
      '    with:',
      '      objective: simcse-sup',
      `      epochs: ${o.epochs ?? 1}`,
      '      batch_size: 4',
      '      max_vocab: 2000',
      '      projection: 16',
      '      eval_every: 0',
      `      checkpoint_every: ${o.checkpointEvery ?? 2}`,
    );
  }
  return lines.join('\n') + '\n';
}

/** Project folders this process created; removed when it exits (set SYNTHCSE_KEEP_TEMP=1 to keep them). */
const created: string[] = [];
process.on('exit', () => {
  if (process.env.SYNTHCSE_KEEP_TEMP) return;
  for (const dir of created) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // A folder still mounted or in use stays behind in the temp directory.
    }
  }
});

export class FaultProject {
  readonly dir: string;
  readonly cache: string;
  /** A temp project folder; the cache defaults to .synthcse/ inside it (passed to the CLI as SYNTHCSE_CACHE). */
  constructor(options: { cache?: string } = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'synthcse-faults-'));
    created.push(this.dir);
    this.cache = options.cache ?? join(this.dir, '.synthcse');
  }

  write(name: string, content: string | Uint8Array): string {
    const path = join(this.dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    return path;
  }

  read(name: string): string {
    return readFileSync(join(this.dir, name), 'utf8');
  }

  env(baseUrl: string | undefined, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, ANTHROPIC_API_KEY: SENTINEL_KEY, SYNTHCSE_DATA: sharedData, SYNTHCSE_CACHE: this.cache };
    delete env.SYNTHCSE_DEBUG;
    delete env.ANTHROPIC_AUTH_TOKEN;
    Object.assign(env, extra);
    if (baseUrl !== undefined) env.ANTHROPIC_BASE_URL = baseUrl;
    return env;
  }

  /** Spawns the CLI (cwd: the project). */
  spawn(args: string[], baseUrl: string | undefined, extra: NodeJS.ProcessEnv = {}): ChildProcess {
    return spawn(process.execPath, [cliPath, ...args], { cwd: this.dir, env: this.env(baseUrl, extra), stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** Runs the CLI to completion without blocking the event loop. */
  async run(args: string[], baseUrl?: string, extra: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    return collect(this.spawn(args, baseUrl, extra));
  }

  /** Runs a shell command line (for ulimit wrappers) with the same environment. */
  async sh(script: string, baseUrl?: string, extra: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    return collect(spawn('bash', ['-c', script], { cwd: this.dir, env: this.env(baseUrl, extra), stdio: ['ignore', 'pipe', 'pipe'] }));
  }
}

export async function collect(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  return { code, signal, stdout, stderr };
}

/** A stack trace line ("    at foo (file.js:1:2)") anywhere in the output. */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .+(\(|:\d+:\d+)/m.test(text);
}

/** Every file under a directory (recursively). */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * A cache holding only the converted GloVe vectors (the slow first step of any training), shared by every fault test
 * on this machine and never written after it is built: it is built in a private directory through the CLI (an
 * `encoder` node) and renamed into place, so concurrent test files never clone a cache that is being written.
 */
export async function warmGloveCache(): Promise<string> {
  const dir = join(tmpdir(), 'synthcse-faults-glove-v2');
  if (existsSync(join(dir, 'warm'))) return dir;
  const project = new FaultProject();
  project.write('p.yaml', ['name: warm', 'nodes:', '  enc:', '    type: encoder', '    with:', '      variant: plain', '      max_vocab: 50', ''].join('\n'));
  const result = await project.run(['run', 'p.yaml']);
  if (result.code !== 0) throw new Error(`warming the GloVe cache failed:\n${result.stderr}`);
  writeFileSync(join(project.cache, 'warm'), '');
  try {
    renameSync(project.cache, dir);
  } catch (error) {
    // Another test file finished first: use its cache.
    if (!existsSync(join(dir, 'warm'))) throw error;
  }
  return dir;
}

/** A fresh cache directory with the warm GloVe conversion: the database copied, artifact files hard-linked. */
export function cloneCache(template: string, dest: string): string {
  mkdirSync(dest, { recursive: true });
  for (const name of ['cache.db', 'cache.db-wal']) if (existsSync(join(template, name))) copyFileSync(join(template, name), join(dest, name));
  for (const file of filesUnder(join(template, 'artifacts'))) {
    const target = join(dest, file.slice(template.length + 1));
    mkdirSync(dirname(target), { recursive: true });
    linkSync(file, target);
  }
  return dest;
}

/** The rows of a node's output through `synthcse export` (jsonl text), or the exit message when it fails. */
export async function exportText(project: FaultProject, node: string, port: string): Promise<string> {
  const file = `${node}.${port}.jsonl`;
  const result = await project.run(['export', node, '--port', port, '--out', file, '--pipeline', 'p.yaml']);
  if (result.code !== 0) throw new Error(`export ${node}.${port} failed: ${result.stderr}`);
  return project.read(file);
}

/** Failed-item lines the CLI prints after a run: node → count and reasons. */
export function failedItems(stderr: string): Map<string, { count: number; reasons: string }> {
  const out = new Map<string, { count: number; reasons: string }>();
  for (const m of stderr.matchAll(/^⚠️ +(\S+): (\d+) item\(s\) failed \((.*?)\)\./gm)) out.set(m[1]!, { count: Number(m[2]), reasons: m[3]! });
  return out;
}

/** Messages/chat requests the loopback server received (every attempt of every body). */
export function requestsReceived(stats: { received: Map<string, number> }): number {
  let n = 0;
  for (const count of stats.received.values()) n += count;
  return n;
}

/** HTTP calls to the batch API (create, retrieve, results), whatever the server names its routes. */
export function batchCalls(stats: { byRoute: Record<string, number> }): number {
  return Object.entries(stats.byRoute)
    .filter(([route]) => /batch/i.test(route))
    .reduce((n, [, count]) => n + count, 0);
}
