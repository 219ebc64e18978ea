/**
 * train: fits a glove-avg sentence encoder on triplets, pairs or sentences with one of four objectives, picks the
 * best step on STS-B dev (SimCSE protocol), and exports the model to ONNX (the node's `model` output).
 * Checkpoints go to ctx.checkpoints; a run stopped mid-training resumes and ends with the same model.
 */
import { join } from 'node:path';
import { z } from 'zod';
import type { JsonObject } from '../engine/json.js';
import { defineNode, NodeUserError, type PortValue } from '../engine/node-type.js';
import { loadEncoder, type SentenceEncoder } from './encoders/index.js';
import { gloveVectorsFor } from './encoders/glove-node.js';
import { exportGloveAvgOnnx } from './onnx/export-glove.js';
import { dataFolder, keyedDataFiles, stsbDevFile } from './sts/data-folder.js';
import { loadStsFile } from './sts/loaders.js';
import { trainingSetFromRows } from './train/data.js';
import { OBJECTIVES } from './train/objectives.js';
import { prepareTraining, type GloveEncoderSpec } from './train/train-glove.js';
import type { TrainOptions } from './train/trainer.js';
import { writeFileDurably } from '../cache/store.js';

export const TrainParams = z.strictObject({
  encoder: z.literal('glove-avg').default('glove-avg'),
  /** Token weights of the mean: none (plain average) or sif (a/(a+p(w)), Zipf p(w)). */
  weighting: z.enum(['none', 'sif']).default('sif'),
  /** Remove the first principal component of the training sentences' vectors (fixed during training). */
  common_component: z.boolean().default(true),
  /** Width of a trainable linear projection after the mean (identity-initialised when 100); null: none. */
  projection: z.number().int().min(1).nullable().default(100),
  /** Keep only the N most frequent GloVe words (smaller model files); null: all 341k. */
  max_vocab: z.number().int().min(1).nullable().default(null),
  objective: z.enum(OBJECTIVES).default('simcse-sup'),
  epochs: z.number().int().min(1).default(4),
  batch_size: z.number().int().min(2).default(64),
  /** Learning rate of the projection (Adam). */
  lr: z.number().positive().default(0.001),
  /** Learning rate of the word vectors (lazy Adam over the rows in each batch). */
  word_lr: z.number().positive().default(0.01),
  seed: z.number().int().default(42),
  temperature: z.number().positive().default(0.05),
  hard_negative_weight: z.number().default(0),
  /** simcse-unsup (and sentence-only multicsr-masked): probability of dropping each token in a view. */
  word_dropout: z.number().min(0).max(0.9).default(0.1),
  /** multicsr-masked: in-batch negatives whose frozen-encoder cosine with the anchor exceeds φ are masked. */
  mask_threshold: z.number().min(-1).max(1).default(0.95),
  /** Evaluate on STS-B dev every N steps (and at each epoch end); 0: epoch ends only. */
  eval_every: z.number().int().min(0).default(25),
  /** Data folder holding stsb/dev.tsv; default $SYNTHCSE_DATA, else ../shared/data beside the repository. */
  data: z.string().optional(),
});
export type TrainParams = z.output<typeof TrainParams>;

export const TrainNodeOptions = z.strictObject({
  /** Save a checkpoint every N steps (and at each epoch end). Does not change the result. */
  checkpoint_every: z.number().int().min(0).default(50),
});

const CHECKPOINT = 'trainer';

function trainOptions(p: TrainParams, checkpointEvery: number): TrainOptions {
  return {
    objective: p.objective,
    batchSize: p.batch_size,
    lr: p.lr,
    wordLr: p.word_lr,
    epochs: p.epochs,
    seed: p.seed,
    temperature: p.temperature,
    hardNegativeWeight: p.hard_negative_weight,
    wordDropout: p.word_dropout,
    maskThreshold: p.mask_threshold,
    evalEvery: p.eval_every,
    checkpointEvery,
  };
}

function rowsOf(value: PortValue, port: string): JsonObject[] {
  if (value.form !== 'rows') throw new NodeUserError(`input ${port} must be rows, got a file`);
  return value.rows;
}

export const train = defineNode({
  type: 'train',
  version: 1,
  description: 'Train a glove-avg sentence encoder (simcse-sup, simcse-unsup, cosine-regression, multicsr-masked) and export it to ONNX.',
  params: TrainParams,
  options: TrainNodeOptions,
  inputs: {
    data: { kind: ['triplets', 'pairs', 'sentences'], description: 'training rows: triplets (simcse-sup, multicsr-masked), pairs (cosine-regression), sentences (simcse-unsup)' },
    frozen: { kind: 'model', optional: true, description: 'multicsr-masked: the frozen encoder (default: the untrained encoder)' },
  },
  outputs: {
    model: { kind: 'model', description: 'the best-on-dev encoder as ONNX, vocabulary and tokenizer inside' },
  },
  files(p, _options, resolvePath) {
    return keyedDataFiles(p.data, false, resolvePath);
  },
  async run(inputs, p, ctx) {
    const rows = rowsOf(inputs.data, 'data');
    const set = trainingSetFromRows(rows, p.objective);
    const folder = dataFolder(p.data === undefined ? undefined : ctx.resolvePath(p.data));
    const devFile = stsbDevFile(folder);
    if (!devFile) ctx.log.warn(`No stsb/dev.tsv under ${folder}: training without dev selection (the last step is kept).`);
    const dev = devFile ? loadStsFile(devFile) : undefined;
    const wv = await gloveVectorsFor(ctx);
    const spec: GloveEncoderSpec = { weighting: p.weighting, commonComponent: p.common_component, projection: p.projection, maxVocab: p.max_vocab };
    let frozen: SentenceEncoder | undefined;
    if (inputs.frozen) {
      if (inputs.frozen.form !== 'file') throw new NodeUserError('input frozen must be a model file');
      frozen = await loadEncoder(inputs.frozen.path);
    }
    const options = trainOptions(p, ctx.options.checkpoint_every);
    const prepared = await prepareTraining(wv, set, dev, spec, options, frozen).finally(() => frozen?.close());
    const { trainer, model, backend } = prepared;
    ctx.stats.values = { ...ctx.stats.values, backend, examples: trainer.examples, steps_per_epoch: trainer.stepsPerEpoch };

    const saved = ctx.checkpoints.load(CHECKPOINT);
    if (saved) {
      if (trainer.restore(saved)) ctx.log.info(`Resuming training from its checkpoint.`);
      else ctx.log.warn('A checkpoint from a different training configuration was ignored.');
    }
    const progress = ctx.progress('training steps', trainer.totalSteps);
    let reported = 0;
    let summary;
    try {
      summary = await trainer.run({
        signal: ctx.signal,
        onStep: (step) => {
          progress.tick(step - reported);
          reported = step;
        },
        onCheckpoint: (bytes) => ctx.checkpoints.save(CHECKPOINT, bytes),
        onEval: (step, epoch, score) => {
          if (Number.isInteger(epoch)) ctx.log.info(`epoch ${epoch} (step ${step}): STS-B dev ${score.toFixed(2)}`);
        },
      });
    } finally {
      progress.done();
    }
    ctx.stats.curves = { ...ctx.stats.curves, loss: summary.curves.loss, 'stsb-dev': summary.curves.dev };
    ctx.stats.values = {
      ...ctx.stats.values,
      best_dev: Number.isNaN(summary.bestDev) ? null : Math.round(summary.bestDev * 100) / 100,
      best_step: summary.bestStep,
      steps: summary.steps,
      examples_per_s: Math.round(summary.examplesPerSecond),
    };
    const label = `glove-avg ${p.objective}`;
    const meta: JsonObject = {
      label,
      encoder: 'glove-avg',
      objective: p.objective,
      weighting: p.weighting,
      common_component: p.common_component,
      projection: p.projection,
      dim: model.outDim,
      vocab: model.words.length,
      best_dev: Number.isNaN(summary.bestDev) ? null : summary.bestDev,
      best_step: summary.bestStep,
      backend,
    };
    const out = join(ctx.tempDir(), 'model.onnx');
    writeFileDurably(out, exportGloveAvgOnnx(model, meta));
    return { model: { file: out, meta } };
  },
});
