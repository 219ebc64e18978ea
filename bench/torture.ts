/**
 * `npm run torture`: the long version of the fault tests' crash scenario (test/faults/crash-scenario.ts). The
 * pipeline load → annotate (online) + annotate_b (batch) → filter → train runs through the real CLI against the
 * loopback LLM server and is killed with SIGKILL 50 times at random moments inside the online, batch and training
 * phases (in rotation); after each kill the same command runs again. When a pipeline finishes before all kills are
 * spent, a new round starts from an empty cache. Prints progress, then one JSON object on its last line.
 *
 *   npm run torture [-- --kills N --seed S --premises P --epochs E]
 */
import { parseArgs } from 'node:util';
import { runCrashScenario } from '../test/faults/crash-scenario.js';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '50' },
    seed: { type: 'string', default: '1' },
    premises: { type: 'string', default: '48' },
    epochs: { type: 'string', default: '6' },
  },
});

const report = await runCrashScenario({
  kills: Number(values.kills),
  premises: Number(values.premises),
  epochs: Number(values.epochs),
  seed: Number(values.seed),
  latencyMs: 40,
  batchProcessingMs: 2000,
  maxDelayMs: { online: 300, batch: 1200, training: 1500 },
  log: (line) => process.stderr.write(line + '\n'),
});
const ok = report.identical_results && report.resent_after_commit === 0 && report.failures.length === 0 && report.kills >= Number(values.kills);
process.stdout.write(JSON.stringify({ command: `npm run torture -- --kills ${values.kills} --seed ${values.seed} --premises ${values.premises} --epochs ${values.epochs}`, ok, ...report }) + '\n');
process.exitCode = ok ? 0 : 1;
