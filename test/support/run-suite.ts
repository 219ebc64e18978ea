/**
 * `npm test`: the whole suite under node's test runner, with TMPDIR pointed at one fresh folder that is removed
 * afterwards, so the temporary projects, caches and models the tests write (a few GB per run) are not left behind.
 * Arguments are passed to the runner; without file arguments it runs every dist/test/**\/*.test.js.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

function testFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? testFiles(path) : name.endsWith('.test.js') ? [path] : [];
    })
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

const args = process.argv.slice(2);
const files = args.some((a) => a.endsWith('.js')) ? [] : testFiles('dist/test').map((f) => relative('.', f));
const scratch = mkdtempSync(join(tmpdir(), 'synthcse-suite-'));
// As open as /tmp itself: the read-only cache test runs the CLI as another user (nobody) inside it.
chmodSync(scratch, 0o1777);
let status = 1;
try {
  const run = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...args, ...files], { stdio: 'inherit', env: { ...process.env, TMPDIR: scratch } });
  status = run.status ?? 1;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(status);
