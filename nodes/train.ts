/**
 * train: fits a glove-avg sentence encoder on triplets, pairs or sentences with one of four objectives, keeps the
 * step its `select` method scores best (STS-B dev, STS-B + SICK-R dev, a held-out 10% of the training rows, or the
 * last step), and exports the model to ONNX (the node's `model` output).
 * Checkpoints go to ctx.checkpoints; a run stopped mid-training resumes and ends with the same model.
 */
import { join } from 'node:path';
import { z } from 'zod';
import type { JsonObject } from '../engine/json.js';
import { defineNode, NodeUserError, type PortValue } from '../engine/node-type.js';
import { loadEncoder, type SentenceEncoder } from './encoders/index.js';
import { gloveVectorsFor } from './encoders/glove-node.js';
import { exportGloveAvgOnnx } from './onnx/export-glove.js';
import { dataFolder, selectionFiles, sickrDevFile, stsbDevFile } from './sts/data-folder.js';
import { loadStsFile } from './sts/loaders.js';
import { trainingSetFromRows } from './train/data.js';
import { OBJECTIVES } from './train/objectives.js';
import { holdoutSplit, SELECT_METHODS, selectionSet, type SelectionSet, type SelectMethod } from './train/selection.js';
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
  /**
   * Which step is kept: stsb-dev (STS-B dev Spearman, SimCSE's default), stsb-sickr-dev (mean of STS-B dev and
   * SICK-R dev, SimCSE's avg_sts), holdout (a seeded, label-stratified 10% of the training rows, held out and scored
   * with the objective's own labels: no human STS label), or last.
   */
  select: z.enum(SELECT_METHODS).default('stsb-dev'),
  /** Score the selection every N steps (and at each epoch end); 0: epoch ends only. */
  eval_every: z.number().int().min(0).default(25),
  /** Data folder holding stsb/dev.tsv (and sick/trial.tsv); default $SYNTHCSE_DATA, else ../shared/data beside the repository. */
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
  // 2: the select parameter; multicsr-masked as MultiCSR's released loss (weights ×0, BCE over softmax outputs).
  version: 2,
  description: 'Train a glove-avg sentence encoder (simcse-sup, simcse-unsup, cosine-regression, multicsr-masked) and export it to ONNX.',
  params: TrainParams,
  options: TrainNodeOptions,
  inputs: {
    data: { kind: ['triplets', 'pairs', 'sentences'], description: 'training rows: triplets (simcse-sup, multicsr-masked), pairs (cosine-regression), sentences (simcse-unsup)' },
    frozen: { kind: 'model', optional: true, description: 'multicsr-masked: the frozen encoder that decides the masking (MultiCSR: an unsupervised SimCSE model; default: the untrained encoder)' },
  },
  outputs: {
    model: { kind: 'model', description: 'the best-on-dev encoder as ONNX, vocabulary and tokenizer inside' },
  },
  files(p, _options, resolvePath) {
    return selectionFiles(p.data, p.select, resolvePath);
  },
  async run(inputs, p, ctx) {
    let rows = rowsOf(inputs.data, 'data');
    let selection: SelectionSet[] = [];
    let select: SelectMethod = p.select;
    if (select === 'holdout') {
      const split = holdoutSplit(rows, p.objective, p.seed);
      rows = split.train;
      selection = [split.heldOut];
      ctx.log.info(`select: holdout: ${rows.length} rows train, ${split.heldOut.gold.length} held-out pairs pick the step.`);
    } else if (select !== 'last') {
      const folder = dataFolder(p.data === undefined ? undefined : ctx.resolvePath(p.data));
      const wanted: [string, string, string | undefined][] = [['stsb-dev', 'stsb/dev.tsv', stsbDevFile(folder)]];
      if (select === 'stsb-sickr-dev') wanted.push(['sickr-dev', 'sick/trial.tsv', sickrDevFile(folder)]);
      const missing = wanted.filter(([, , file]) => file === undefined).map(([, name]) => name);
      if (missing.length > 0) {
        ctx.log.warn(`No ${missing.join(' or ')} under ${folder}: select: ${select} cannot run, the last step is kept.`);
        select = 'last';
      } else {
        selection = wanted.map(([name, , file]) => selectionSet(name, loadStsFile(file!)));
      }
    }
    const set = trainingSetFromRows(rows, p.objective);
    const wv = await gloveVectorsFor(ctx);
    const spec: GloveEncoderSpec = { weighting: p.weighting, commonComponent: p.common_component, projection: p.projection, maxVocab: p.max_vocab };
    let frozen: SentenceEncoder | undefined;
    if (inputs.frozen) {
      if (inputs.frozen.form !== 'file') throw new NodeUserError('input frozen must be a model file');
      frozen = await loadEncoder(inputs.frozen.path);
    }
    const options = trainOptions(p, ctx.options.checkpoint_every);
    const prepared = await prepareTraining(wv, set, selection, spec, options, frozen).finally(() => frozen?.close());
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
          if (Number.isInteger(epoch)) ctx.log.info(`epoch ${epoch} (step ${step}): ${select} ${score.toFixed(2)}`);
        },
      });
    } finally {
      progress.done();
    }
    ctx.stats.curves = { ...ctx.stats.curves, loss: summary.curves.loss, ...(select === 'last' ? {} : { [select]: summary.curves.dev }) };
    ctx.stats.values = {
      ...ctx.stats.values,
      select,
      best_selection: Number.isNaN(summary.bestDev) ? null : Math.round(summary.bestDev * 100) / 100,
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
      select,
      best_selection: Number.isNaN(summary.bestDev) ? null : summary.bestDev,
      best_step: summary.bestStep,
      backend,
    };
    const out = join(ctx.tempDir(), 'model.onnx');
    writeFileDurably(out, exportGloveAvgOnnx(model, meta));
    return { model: { file: out, meta } };
  },
});
