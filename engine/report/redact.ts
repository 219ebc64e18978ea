/** Keeps secrets out of a report, which is meant to be shared: every string in it passes through the redactor. */
import { makeRedactor } from '../llm/redact.js';

const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD/i;

/** Values of environment variables whose names suggest a secret, plus the API key patterns the LLM layer knows. */
export function secretRedactor(env: NodeJS.ProcessEnv = process.env): (text: string) => string {
  const secrets = Object.entries(env)
    .filter(([name, value]) => SECRET_NAME.test(name) && value !== undefined && value.length >= 8)
    .map(([, value]) => value);
  return makeRedactor(secrets);
}

export function redactDeep<T>(value: T, redact: (text: string) => string): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => redactDeep(v, redact)) as T;
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[redact(k)] = redactDeep(v, redact);
    return out as T;
  }
  return value;
}
