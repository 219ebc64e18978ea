/**
 * Guarantee 1 (crash safety), short version: SIGKILL during the online LLM phase, the batch phase and training; the
 * same command resumes each time; the final datasets and model bytes equal an uninterrupted run's, and no request
 * whose answer was committed is sent again. `npm run torture` runs the 50-kill version.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCrashScenario } from './crash-scenario.js';

test('SIGKILL in the online, batch and training phases: same command resumes, identical datasets and model, nothing committed is paid twice', async () => {
  const report = await runCrashScenario({
    kills: 6,
    premises: 16,
    epochs: 4,
    seed: 7,
    latencyMs: 40,
    batchProcessingMs: 1200,
    maxDelayMs: { online: 250, batch: 900, training: 600 },
  });
  assert.deepEqual(report.failures, []);
  assert.ok(report.kills >= 6, `kills: ${report.kills}`);
  for (const phase of ['online', 'batch', 'training'] as const) assert.ok(report.kills_by_phase[phase] >= 1, `a kill in the ${phase} phase: ${JSON.stringify(report.kills_by_phase)}`);
  assert.equal(report.identical_results, true, report.differences.join('\n'));
  assert.equal(report.resent_after_commit, 0, 'a request whose answer was committed reached the server again');
  // Only calls in flight at a kill may be sent again: at most 4 items × 2 calls per kill.
  assert.ok(report.extra_requests <= report.kills * 4 * 2, `extra requests: ${report.extra_requests} after ${report.kills} kills`);
});
