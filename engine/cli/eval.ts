import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FetchContext } from '../../nodes/sts/remote.js';
import { parseCommandArgs, usageError } from './args.js';

const USAGE = 'synthcse eval --model MODEL.onnx [--baseline MODEL.onnx] [--data FOLDER] [--tasks t1,t2] [--senteval [--mirror URL] [--cache DIR]] [--json]';

/** The cache SentEval downloads go to: --cache, else SYNTHCSE_CACHE, else ./.synthcse (created when absent). */
async function sentEvalCache(cache: string | undefined): Promise<{ fetch: FetchContext; close(): void }> {
  const { Store } = await import('../../cache/store.js');
  const { RunStore } = await import('../run-store.js');
  const { memoFile } = await import('../executor.js');
  const dir = resolve(cache ?? process.env.SYNTHCSE_CACHE ?? '.synthcse');
  const store = new Store(dir);
  const runs = new RunStore(store);
  const tmp = join(dir, 'tmp');
  const made: string[] = [];
  return {
    fetch: {
      memoFile: (key, build) => memoFile(store, runs, key, build, tmp),
      tempDir: () => {
        mkdirSync(tmp, { recursive: true });
        const made1 = mkdtempSync(join(tmp, 'eval-'));
        made.push(made1);
        return made1;
      },
      signal: new AbortController().signal,
    },
    close: () => {
      for (const d of made) rmSync(d, { recursive: true, force: true });
      store.close();
    },
  };
}

/** Evaluates exported models outside any pipeline: the same protocol and table as the eval node. */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('eval', argv, { model: { type: 'string' }, baseline: { type: 'string' }, data: { type: 'string' }, tasks: { type: 'string' }, json: { type: 'boolean' }, senteval: { type: 'boolean' }, mirror: { type: 'string' }, cache: { type: 'string' } }, USAGE);
  if (values.model === undefined) throw usageError('eval needs --model.', USAGE);
  for (const path of [values.model, values.baseline]) {
    if (path !== undefined && !existsSync(path)) throw usageError(`Model file ${path} does not exist.`, USAGE);
  }
  if (values.data !== undefined && !existsSync(values.data)) throw usageError(`Data folder ${values.data} does not exist.`, USAGE);
  if (values.mirror !== undefined && !values.senteval) throw usageError('--mirror goes with --senteval.', USAGE);
  const { runEvalCommand } = await import('../../nodes/sts/command.js');
  const opened = values.senteval ? await sentEvalCache(values.cache) : undefined;
  let result;
  try {
    result = await runEvalCommand({
      model: values.model,
      baseline: values.baseline,
      data: values.data === undefined ? undefined : resolve(values.data),
      tasks: values.tasks?.split(',').map((t) => t.trim()).filter(Boolean),
      ...(opened ? { senteval: { fetch: opened.fetch, ...(values.mirror === undefined ? {} : { mirror: values.mirror }) } } : {}),
    });
  } finally {
    opened?.close();
  }
  if (result.unreachable !== undefined) {
    process.stderr.write(`⚠️  The SentEval STS files could not be fetched (${result.unreachable}); evaluating on the data folder's files only.\n    fix: run again with network access, or --mirror URL with a reachable copy, or put the files under the data folder.\n`);
  }
  for (const task of result.skipped) process.stderr.write(`⚠️  ${task}: its files are not in ${result.dataFolder}; skipped.\n`);
  if (result.metrics.length === 0) {
    process.stderr.write(`❌ No evaluation task found in ${result.dataFolder}.\n    fix: point --data (or SYNTHCSE_DATA) at a folder with stsb/dev.tsv, and sts12..16/, sick/ for the full table.\n`);
    return 1;
  }
  if (values.json) {
    for (const m of result.metrics) process.stdout.write(JSON.stringify(m) + '\n');
    return 0;
  }
  process.stdout.write(result.table + '\n');
  return 0;
}
