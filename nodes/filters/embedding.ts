/**
 * embedding: drop triplets for which an encoder (the filter node's `model` input) finds the hard negative closer
 * to the anchor than the positive: kept when cos(anchor, positive) − cos(anchor, negative) > margin (margin 0: the
 * positive must be strictly closer). The encoder is loaded with nodes/encoders `loadEncoder(path)` (a synthcse
 * glove-avg export, or any ONNX sentence encoder with its tokenizer).
 */
import { z } from 'zod';
import type { Row } from '../../engine/json.js';
import { NodeUserError } from '../../engine/node-type.js';
import { cosineSimilarity, loadEncoder } from '../encoders/index.js';
import type { RuleEnv, RuleOutcome } from './types.js';

export const EmbeddingRule = z.strictObject({
  rule: z.literal('embedding'),
  /** Required advantage of the positive over the negative in cosine similarity. */
  margin: z.number().min(-2).max(2).default(0),
});
export type EmbeddingRule = z.output<typeof EmbeddingRule>;

/** The part of nodes/encoders' SentenceEncoder this rule uses. */
export interface RuleEncoder {
  encode(sentences: string[]): Promise<ArrayLike<number>[]> | ArrayLike<number>[];
  close?(): Promise<void>;
}
export type EncoderLoader = (path: string) => Promise<RuleEncoder> | RuleEncoder;

async function defaultLoader(path: string): Promise<RuleEncoder> {
  try {
    return await loadEncoder(path);
  } catch (error) {
    throw new NodeUserError(`cannot load the encoder for the embedding rule: ${(error as Error).message}`, ['rules']);
  }
}


export async function applyEmbedding(
  rows: readonly Row[],
  r: EmbeddingRule,
  env: RuleEnv,
  loader?: EncoderLoader,
): Promise<RuleOutcome> {
  if (env.kind !== 'triplets') throw new NodeUserError(`rule embedding applies to triplets, not ${env.kind}`, ['rules']);
  if (env.model === undefined) throw new NodeUserError('rule embedding needs the filter node\'s `model` input (a trained encoder)', ['rules']);
  const encoder = await (loader ?? defaultLoader)(env.model.path);
  const out: Row[] = [];
  try {
    const batchSize = env.batchSize ?? 256;
    for (let start = 0; start < rows.length; start += batchSize) {
      if (env.signal.aborted) throw new Error('aborted');
      const batch = rows.slice(start, start + batchSize);
      const texts = batch.flatMap((row) => [row['anchor'], row['positive'], row['negative']].map((v) => (typeof v === 'string' ? v : '')));
      const vectors = await encoder.encode(texts);
      if (vectors.length !== texts.length) throw new Error(`Internal error: encoder returned ${vectors.length} vectors for ${texts.length} sentences`);
      batch.forEach((row, i) => {
        const [a, p, n] = [vectors[3 * i]!, vectors[3 * i + 1]!, vectors[3 * i + 2]!];
        if (cosineSimilarity(a, p) - cosineSimilarity(a, n) > r.margin) out.push(row);
      });
    }
  } finally {
    await encoder.close?.();
  }
  return { rows: out, removed: { embedding: rows.length - out.length } };
}
