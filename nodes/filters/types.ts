/** The contract of one filter rule module: a zod config schema and a deterministic `apply`. */
import type { FileValue, Logger } from '../../engine/node-type.js';
import type { Row } from '../../engine/json.js';
import type { RowKind } from '../prompts/rows.js';

export interface RuleEnv {
  /** The kind of the rows being filtered (decides which fields are text). */
  kind: RowKind;
  /** The optional `model` input (embedding rule). */
  model?: FileValue;
  log: Logger;
  signal: AbortSignal;
  /** Sentences encoded at once by the embedding rule: speed and memory only (the filter node's option). */
  batchSize?: number;
}

export interface RuleOutcome {
  rows: Row[];
  /** Rows removed, by reason (the rule name, or rule:detail). */
  removed: Record<string, number>;
  /** Rows the rule added (DINO's random zero-similarity pairs). */
  added?: number;
}

/** Case and punctuation folded form used for "near-identical" comparisons: lowercase, letters and digits only. */
export function fold(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

export function wordCount(text: string): number {
  const t = text.trim();
  return t === '' ? 0 : t.split(/\s+/).length;
}

/** Round labels and scores so that 1 * 0.8 + 0.1 is 0.9 and not 0.9000000000000001. */
export function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
