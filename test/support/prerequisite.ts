/**
 * Tests that need ../shared/data or Chromium skip where those are missing (a developer's clone), but under CI=true
 * a missing prerequisite is a failure: CI must run what it claims to run.
 */
import { test } from 'node:test';

const reported = new Set<string>();

/** The `skip` option for a test that needs something: false when present; the reason otherwise (and a failure in CI). */
export function unlessPresent(present: boolean, reason: string): false | string {
  if (present) return false;
  if (process.env.CI === 'true' && !reported.has(reason)) {
    reported.add(reason);
    test(`prerequisite: ${reason}`, () => {
      throw new Error(`CI=true and a prerequisite is missing (${reason}); CI must run these tests, not skip them.`);
    });
  }
  return reason;
}
