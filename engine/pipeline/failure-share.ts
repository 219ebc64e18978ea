import type { Json } from '../json.js';

/** A share of items written as 0.05 or "5%" (node `max_failed`, `run --max-failed`); undefined when it is neither. */
export function parseFailureShare(value: Json | undefined): number | undefined {
  let share = Number.NaN;
  if (typeof value === 'number') share = value;
  else if (typeof value === 'string' && /^\s*\d+(\.\d+)?\s*%\s*$/.test(value)) share = Number.parseFloat(value) / 100;
  else if (typeof value === 'string' && value.trim() !== '') share = Number(value);
  return Number.isFinite(share) && share >= 0 && share <= 1 ? share : undefined;
}
