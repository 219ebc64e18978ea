import { runPipeline } from '../api.js';
import { formatDiagnostics } from '../diagnostics.js';
import { jsonReporter, plainReporter, quietReporter, ttyReporter, type Reporter } from '../events.js';
import { verbosity } from './verbosity.js';
import type { NodeOutcome } from '../executor.js';
import { asStrings, commonPipelineOptions, parseCommandArgs, usageError } from './args.js';
import { builtinRegistry } from './registry.js';
import { parseFailureShare } from '../pipeline/failure-share.js';

const USAGE = 'synthcse run FILE [--variant V] [--set k=v]... [--only NODE]... [--force NODE]... [--budget USD] [--max-failed SHARE] [--jobs N] [--json] [--cache DIR] [--redis URL]';

/** Exit codes: 0 done, 1 a node failed, 2 usage or pipeline error, 3 budget spent, 4 too many failed items, 130 interrupted. */
export const EXIT_ITEMS_FAILED = 4;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('run', argv, {
    ...commonPipelineOptions,
    only: { type: 'string', multiple: true },
    force: { type: 'string', multiple: true },
    budget: { type: 'string' },
    'max-failed': { type: 'string' },
    jobs: { type: 'string' },
    json: { type: 'boolean' },
    redis: { type: 'string' },
  }, USAGE);
  const file = positionals[0];
  if (file === undefined || positionals.length > 1) throw usageError('run takes one pipeline file.', USAGE);
  const budgetUsd = values.budget === undefined ? undefined : Number(values.budget);
  if (budgetUsd !== undefined && !(budgetUsd >= 0)) throw usageError(`--budget must be a number of USD, not "${values.budget}".`, USAGE);
  const maxFailed = values['max-failed'] === undefined ? undefined : parseFailureShare(values['max-failed']);
  if (values['max-failed'] !== undefined && maxFailed === undefined) throw usageError(`--max-failed must be a share of items from 0 to 1 or a percentage ("5%"), not "${values['max-failed']}".`, USAGE);
  const jobs = values.jobs === undefined ? undefined : Number(values.jobs);
  if (jobs !== undefined && !(Number.isInteger(jobs) && jobs > 0)) throw usageError(`--jobs must be a positive integer, not "${values.jobs}".`, USAGE);

  // -v: progress lines every 2 s in logs instead of every 10 s.
  const display: Reporter = values.json ? jsonReporter() : process.stderr.isTTY ? ttyReporter() : plainReporter(process.stderr, verbosity() === 'verbose' ? 2_000 : 10_000);
  const reporter = verbosity() === 'quiet' && !values.json ? quietReporter(display) : display;
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
      maxFailed,
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
    printFailedItems(outcomes, result.tooManyFailed);
    if (result.budgetSpent) {
      process.stderr.write(`Stopped at the budget of $${budgetUsd}: no request was started that could exceed it. Finished work is saved; run the same command with a higher --budget to continue.\n`);
      return 3;
    }
    if (result.status === 'interrupted') {
      process.stderr.write('Interrupted. Finished work is saved; run the same command to resume.\n');
      return 130;
    }
    if (result.status === 'ok') return 0;
    return failed.length === 0 && result.tooManyFailed.length > 0 ? EXIT_ITEMS_FAILED : 1;
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

/**
 * Failures a rerun sends again (the request never got an answer) versus answers that are cached: rerunning parses
 * the same answer again, so only a new sample changes them.
 */
const RETRIED_BY_A_RERUN = new Set(['rate-limited', 'server-error', 'network-error', 'timeout', 'auth', 'batch-errored', 'batch-expired', 'malformed-response', 'invalid-request']);

function printFailedItems(outcomes: NodeOutcome[], tooManyFailed: readonly string[]): void {
  for (const outcome of outcomes) {
    if (outcome.items.failed === 0) continue;
    const reasons = Object.entries(outcome.items.failureReasons).sort((a, b) => b[1] - a[1]);
    const list = reasons.map(([reason, n]) => `${n} × ${reason}`).join('; ');
    const retried = reasons.filter(([reason]) => RETRIED_BY_A_RERUN.has(reason)).reduce((n, [, k]) => n + k, 0);
    const answered = outcome.items.failed - retried;
    const next: string[] = [];
    if (retried > 0) next.push(`${retried} got no answer: running the same command again sends only those`);
    if (answered > 0 && outcome.record?.llm) {
      next.push(
        `${answered} got an answer that was refused or unusable; it is cached, so a rerun gives the same answer. ` +
          `To draw new samples for them, set \`resample: 1\` in ${outcome.id}'s \`with:\` (or --set nodes.${outcome.id}.with.resample=1); \`synthcse plan\` prices it`,
      );
    } else if (answered > 0) next.push(`${answered} failed in the node itself; a rerun tries them again`);
    const held = tooManyFailed.includes(outcome.id) ? ' Nodes that read it did not run; allow a share with --max-failed or the node\'s max_failed.' : '';
    process.stderr.write(`⚠️  ${outcome.id}: ${outcome.items.failed} item(s) failed (${list}).${held}\n    ${next.join('.\n    ')}.\n`);
  }
}
