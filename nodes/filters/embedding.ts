/**
 * embedding: drop triplets for which an encoder (the filter node's `model` input) finds the hard negative closer
 * to the anchor than the positive: cos(anchor, positive) − cos(anchor, negative) ≤ margin. With margin 0 the
 * positive must be strictly closer. The encoder is loaded through nodes/encoders/index.ts `loadEncoder(path)`,
 * which the encoder work provides; it is imported at run time so this module does not depend on its types.
 */
import { z } from 'zod';
import type { Row } from '../../engine/json.js';
import { NodeUserError } from '../../engine/node-type.js';
import type { RuleEnv, RuleOutcome } from './types.js';

export const EmbeddingRule = z.strictObject({
  rule: z.literal('embedding'),
  /** Required advantage of the positive over the negative in cosine similarity. */
  margin: z.number().min(-2).max(2).default(0),
  batch_size: z.number().int().min(1).max(100000).default(256),
});
export type EmbeddingRule = z.output<typeof EmbeddingRule>;

export interface SentenceEncoder {
  encode(sentences: string[]): Promise<ArrayLike<number>[]> | ArrayLike<number>[];
}
export type EncoderLoader = (path: string) => Promise<SentenceEncoder> | SentenceEncoder;

function isLoader(value: unknown): value is EncoderLoader {
  return typeof value === 'function';
}

/** Loads nodes/encoders/index.js lazily; reports a clear error until that module exists. */
export async function defaultEncoderLoader(): Promise<EncoderLoader> {
  const specifier = '../encoders/index.js';
  let mod: unknown;
  try {
    mod = await import(specifier);
  } catch (error) {
    throw new NodeUserError(`the embedding rule needs the encoder library (nodes/encoders/index.ts): ${(error as Error).message}`, ['rules']);
  }
  const loader = typeof mod === 'object' && mod !== null ? (mod as Record<string, unknown>)['loadEncoder'] : undefined;
  if (!isLoader(loader)) throw new NodeUserError('nodes/encoders/index.js does not export loadEncoder(path)', ['rules']);
  return loader;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

export async function applyEmbedding(
  rows: readonly Row[],
  r: EmbeddingRule,
  env: RuleEnv,
  loader?: EncoderLoader,
): Promise<RuleOutcome> {
  if (env.kind !== 'triplets') throw new NodeUserError(`rule embedding applies to triplets, not ${env.kind}`, ['rules']);
  if (env.model === undefined) throw new NodeUserError('rule embedding needs the filter node\'s `model` input (a trained encoder)', ['rules']);
  const encoder = await (loader ?? (await defaultEncoderLoader()))(env.model.path);
  const out: Row[] = [];
  for (let start = 0; start < rows.length; start += r.batch_size) {
    if (env.signal.aborted) throw new Error('aborted');
    const batch = rows.slice(start, start + r.batch_size);
    const texts = batch.flatMap((row) => [row['anchor'], row['positive'], row['negative']].map((v) => (typeof v === 'string' ? v : '')));
    const vectors = await encoder.encode(texts);
    if (vectors.length !== texts.length) throw new Error(`Internal error: encoder returned ${vectors.length} vectors for ${texts.length} sentences`);
    batch.forEach((row, i) => {
      const [a, p, n] = [vectors[3 * i]!, vectors[3 * i + 1]!, vectors[3 * i + 2]!];
      if (cosine(a, p) - cosine(a, n) > r.margin) out.push(row);
    });
  }
  return { rows: out, removed: { embedding: rows.length - out.length } };
}
