/** Test workspace: a temp folder with pipeline files, a run log, and the real CLI spawned as a user would. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root (tests run from dist/test/engine). */
export const repoRoot = resolve(here, '../../..');
export const cliPath = join(repoRoot, 'bin', 'synthcse.js');
export const testPlugin = join(here, 'fixtures', 'test-nodes.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class Workspace {
  readonly dir: string;
  readonly log: string;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'synthcse-test-'));
    this.log = join(this.dir, 'runs.log');
    writeFileSync(this.log, '');
  }

  write(name: string, text: string): string {
    const path = join(this.dir, name);
    writeFileSync(path, text.replaceAll('$PLUGIN', testPlugin));
    return path;
  }

  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, SYNTHCSE_TEST_LOG: this.log, ...extra };
    delete env.SYNTHCSE_CACHE;
    return env;
  }

  run(args: string[], extraEnv: NodeJS.ProcessEnv = {}): CliResult {
    const result = spawnSync(process.execPath, [cliPath, ...args], { cwd: this.dir, env: this.env(extraEnv), encoding: 'utf8' });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  spawn(args: string[], extraEnv: NodeJS.ProcessEnv = {}): ChildProcess {
    return spawn(process.execPath, [cliPath, ...args], { cwd: this.dir, env: this.env(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** Lines the test node types logged so far, without clearing. */
  takeLogPeek(): string[] {
    return existsSync(this.log) ? readFileSync(this.log, 'utf8').split('\n').filter(Boolean) : [];
  }

  /** Lines the test node types logged, then cleared. */
  takeLog(): string[] {
    const lines = existsSync(this.log) ? readFileSync(this.log, 'utf8').split('\n').filter(Boolean) : [];
    writeFileSync(this.log, '');
    return lines;
  }
}

export function countMatching(lines: readonly string[], prefix: string): number {
  return lines.filter((l) => l.startsWith(prefix)).length;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
