import { runPipeline } from '../api.js';
import { formatDiagnostics } from '../diagnostics.js';
import { jsonReporter, plainReporter, ttyReporter, type Reporter } from '../events.js';
import type { NodeOutcome } from '../executor.js';
import { asStrings, commonPipelineOptions, parseCommandArgs, usageError } from './args.js';
import { builtinRegistry } from './registry.js';

const USAGE = 'synthcse run FILE [--variant V] [--set k=v]... [--only NODE]... [--force NODE]... [--budget USD] [--jobs N] [--json] [--cache DIR] [--redis URL]';

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('run', argv, {
    ...commonPipelineOptions,
    only: { type: 'string', multiple: true },
    force: { type: 'string', multiple: true },
    budget: { type: 'string' },
    jobs: { type: 'string' },
    json: { type: 'boolean' },
    redis: { type: 'string' },
  }, USAGE);
  const file = positionals[0];
  if (file === undefined || positionals.length > 1) throw usageError('run takes one pipeline file.', USAGE);
  const budgetUsd = values.budget === undefined ? undefined : Number(values.budget);
  if (budgetUsd !== undefined && !(budgetUsd >= 0)) throw usageError(`--budget must be a number of USD, not "${values.budget}".`, USAGE);
  const jobs = values.jobs === undefined ? undefined : Number(values.jobs);
  if (jobs !== undefined && !(Number.isInteger(jobs) && jobs > 0)) throw usageError(`--jobs must be a positive integer, not "${values.jobs}".`, USAGE);

  const reporter: Reporter = values.json ? jsonReporter() : process.stderr.isTTY ? ttyReporter() : plainReporter();
  const drain = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write('\nStopping: no new work starts; in-flight work finishes and is saved. Press Ctrl-C again to abort now.\n');
      drain.abort();
    } else {
      process.stderr.write('\nAborted. Everything committed so far is kept; run the same command to resume.\n');
      process.exit(130);
    }
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    const result = await runPipeline({
      file,
      registry: builtinRegistry,
      variant: values.variant,
      set: asStrings(values.set),
      cacheDir: values.cache,
      only: asStrings(values.only),
      force: asStrings(values.force),
      budgetUsd,
      jobs,
      reporter,
      drain: drain.signal,
      argv: ['run', ...argv],
      ...(values.redis === undefined ? {} : { redisUrl: values.redis }),
    });
    const outcomes = [...result.outcomes.values()];
    const failed = outcomes.filter((o) => o.diagnostic);
    if (failed.length > 0) process.stderr.write(formatDiagnostics(failed.map((o) => o.diagnostic!)) + '\n');
    if (!values.json) printTables(outcomes);
    printFailedItems(outcomes);
    if (result.budgetSpent) {
      process.stderr.write(`Stopped at the budget of $${budgetUsd}: no request was started that could exceed it. Finished work is saved; run the same command with a higher --budget to continue.\n`);
      return 3;
    }
    if (result.status === 'interrupted') {
      process.stderr.write('Interrupted. Finished work is saved; run the same command to resume.\n');
      return 130;
    }
    return result.status === 'ok' ? 0 : 1;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

/** Nodes that produce a table (eval) print it after the run. */
function printTables(outcomes: NodeOutcome[]): void {
  for (const outcome of outcomes) {
    const table = outcome.stats?.values?.table;
    if (typeof table === 'string' && outcome.outputs) process.stdout.write(`\n${outcome.id}:\n${table}\n`);
  }
}

function printFailedItems(outcomes: NodeOutcome[]): void {
  for (const outcome of outcomes) {
    if (outcome.items.failed === 0) continue;
    const reasons = Object.entries(outcome.items.failureReasons)
      .sort((a, b) => b[1] - a[1])
      .map(([reason, n]) => `${n} × ${reason}`)
      .join('; ');
    process.stderr.write(`⚠️  ${outcome.id}: ${outcome.items.failed} item(s) failed (${reasons}). Run the same command again to retry only those.\n`);
  }
}
