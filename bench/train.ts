/**
 * Training and evaluation benchmark (`npm run bench:train`): untrained GloVe baselines, glove-avg trained with
 * simcse-sup on SNLI (all 5,712 triplets, and 2,500) and on 2,500 LLM-written SynCSE-partial triplets, training and
 * ONNX encoding throughput. Everything is measured on STS-B dev (the only tuning set). Progress goes to stderr;
 * the last stdout line is one JSON object. The trained SNLI model is left in <cache>/bench/sup-nli.onnx, and
 * pipelines/sup-nli.yaml is run through the engine (its cache) so that `synthcse export train` can write it out.
 *
 * Environment: SYNTHCSE_DATA (default ../shared/data beside the repository), SYNTHCSE_CACHE (default .synthcse/),
 * BENCH_EPOCHS (default 8), BENCH_PIPELINE=0 to skip the pipeline run. Other processes share the CPU here, so
 * throughput figures are noisy.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { runPipeline } from '../engine/api.js';
import { builtinRegistry } from '../engine/cli/registry.js';
import { encodeIds, encodeSentencesGlove, type GloveAvgModel } from '../nodes/encoders/glove-avg.js';
import { writeFileDurably } from '../cache/store.js';
import { ensureGloveBinary, loadWordVectors, type WordVectors } from '../nodes/encoders/glove-store.js';
import { loadEncoder } from '../nodes/encoders/index.js';
import { exportGloveAvgOnnx } from '../nodes/onnx/export-glove.js';
import { dataFolder, REPO_ROOT, stsbDevFile } from '../nodes/sts/data-folder.js';
import { evaluateModel } from '../nodes/sts/evaluate.js';
import { loadStsFile, type StsPair } from '../nodes/sts/loaders.js';
import type { TrainingSet } from '../nodes/train/data.js';
import { Rng } from '../nodes/train/rng.js';
import { buildGloveEncoder, DEFAULT_TRAIN_OPTIONS, prepareTraining, tokenizeDev, type GloveEncoderSpec } from '../nodes/train/train-glove.js';
import { selectionSet } from '../nodes/train/selection.js';
import { devSpearman, type TrainOptions, type TrainSummary } from '../nodes/train/trainer.js';

const log = (message: string): void => void process.stderr.write(`[bench:train] ${message}\n`);
const r2 = (x: number): number => Math.round(x * 100) / 100;

function readTriplets(path: string, columns: readonly [string, string, string]): TrainingSet {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
  const header = lines[0]!.split('\t');
  const at = columns.map((c) => {
    const i = header.indexOf(c);
    if (i < 0) throw new Error(`${path}: no column ${c}`);
    return i;
  });
  const rows = lines.slice(1).map((l) => l.split('\t'));
  return { texts: at.map((i) => rows.map((r) => r[i]!)), views: 'given' };
}

/** A seeded subset of n examples, kept in file order. */
function subset(set: TrainingSet, n: number, seed: number): TrainingSet {
  const keep = Array.from(new Rng(seed).permutation(set.texts[0]!.length).subarray(0, n)).sort((a, b) => a - b);
  return { texts: set.texts.map((side) => keep.map((i) => side[i]!)), views: set.views };
}

function baselineDev(wv: WordVectors, spec: GloveEncoderSpec, reference: readonly string[], dev: readonly StsPair[]): number {
  const model = buildGloveEncoder(wv, spec, reference, 0);
  return devSpearman((sentences) => sentences.map((ids) => encodeIds(model, ids)), tokenizeDev(model, dev));
}

interface TrainedRun {
  summary: TrainSummary;
  model: GloveAvgModel;
}

async function trainOn(wv: WordVectors, set: TrainingSet, dev: readonly StsPair[], spec: GloveEncoderSpec, options: TrainOptions, name: string): Promise<TrainedRun> {
  const { trainer, model } = await prepareTraining(wv, set, [selectionSet('stsb-dev', dev)], spec, options);
  log(`${name}: ${trainer.examples} triplets, ${trainer.totalSteps} steps`);
  const summary = await trainer.run({ onEval: (step, epoch, s) => log(`${name}: step ${step} epoch ${epoch.toFixed(2)} dev ${s.toFixed(2)}`) });
  log(`${name}: best ${summary.bestDev.toFixed(2)} at step ${summary.bestStep}`);
  return { summary, model };
}

/** The dev curve at epoch ends only: [epoch, Spearman]. */
function epochCurve(summary: TrainSummary): [number, number][] {
  return summary.curves.dev.filter(([epoch]) => Number.isInteger(epoch)).map(([e, s]) => [e, r2(s)]);
}

async function main(): Promise<void> {
  const folder = dataFolder(undefined);
  const cacheDir = process.env.SYNTHCSE_CACHE ? resolve(process.env.SYNTHCSE_CACHE) : join(REPO_ROOT, '.synthcse');
  const devFile = stsbDevFile(folder);
  if (!devFile) throw new Error(`no stsb/dev.tsv under ${folder}; set SYNTHCSE_DATA`);
  const dev = loadStsFile(devFile);

  let t = performance.now();
  const glovePath = await ensureGloveBinary(cacheDir);
  const buildSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  const wv = loadWordVectors(glovePath);
  const gloveLoadMs = performance.now() - t;
  log(`GloVe binary ${glovePath} (first build/check ${buildSeconds.toFixed(1)} s, load ${gloveLoadMs.toFixed(0)} ms)`);

  const snli = readTriplets(join(folder, 'nli', 'snli_triplets.tsv'), ['premise', 'entailment', 'contradiction']);
  const synthetic = readTriplets(join(folder, 'synthetic', 'syncse_partial.tsv'), ['premise', 'positive', 'hard_negative']);
  const snliSameSize = subset(snli, synthetic.texts[0]!.length, 0);
  const snliSentences = snli.texts.flat();
  const devSentences = dev.flatMap((p) => [p.sentence1, p.sentence2]);

  const plain: GloveEncoderSpec = { weighting: 'none', commonComponent: false, projection: null, maxVocab: null };
  const sif: GloveEncoderSpec = { ...plain, weighting: 'sif' };
  const sifPc: GloveEncoderSpec = { ...sif, commonComponent: true };
  const baselines = {
    untrained: baselineDev(wv, plain, [], dev),
    sif: baselineDev(wv, sif, [], dev),
    sifPcSnli: baselineDev(wv, sifPc, snliSentences, dev),
    sifPcEval: baselineDev(wv, sifPc, devSentences, dev),
  };
  log(`baselines: plain ${baselines.untrained.toFixed(2)}, SIF ${baselines.sif.toFixed(2)}, SIF+PC(SNLI ref) ${baselines.sifPcSnli.toFixed(2)}, SIF+PC(dev ref) ${baselines.sifPcEval.toFixed(2)}`);

  const epochs = Number(process.env.BENCH_EPOCHS ?? 8);
  const spec: GloveEncoderSpec = { weighting: 'sif', commonComponent: true, projection: 100, maxVocab: null };
  const options: TrainOptions = { ...DEFAULT_TRAIN_OPTIONS, objective: 'simcse-sup', batchSize: 64, lr: 1e-3, wordLr: 1e-2, temperature: 0.2, epochs, evalEvery: 25, seed: 42 };
  const full = await trainOn(wv, snli, dev, spec, options, 'snli');
  const syn = await trainOn(wv, synthetic, dev, spec, options, 'synthetic');
  const same = await trainOn(wv, snliSameSize, dev, spec, options, 'snli-2500');

  // Throughput: training alone (no dev set), SNLI, batch 64, one epoch per run; median of 3 runs because other
  // processes share the CPU. Also without the projection (word vectors only).
  const throughput = async (s: GloveEncoderSpec): Promise<{ median: number; best: number; backend: string }> => {
    const rates: number[] = [];
    let backend = '';
    for (let run = 0; run < 3; run++) {
      const timed = await prepareTraining(wv, snli, undefined, s, { ...options, epochs: 1, evalEvery: 0 });
      const summary = await timed.trainer.run();
      rates.push(summary.examplesPerSecond);
      backend = summary.backend;
    }
    rates.sort((a, b) => a - b);
    return { median: rates[1]!, best: rates[2]!, backend };
  };
  const trainRate = await throughput(spec);
  const trainRateNoProjection = await throughput({ ...spec, projection: null });
  log(`training throughput (median of 3): ${trainRate.median.toFixed(0)} triplets/s with projection, ${trainRateNoProjection.median.toFixed(0)} without, on ${trainRate.backend}`);

  // Export the SNLI model, evaluate it through onnxruntime exactly as `synthcse eval` does, and time encoding.
  const modelPath = join(cacheDir, 'bench', 'sup-nli.onnx');
  mkdirSync(join(cacheDir, 'bench'), { recursive: true });
  writeFileDurably(modelPath, exportGloveAvgOnnx(full.model, { label: 'glove-avg simcse-sup (SNLI)', best_dev: full.summary.bestDev }));
  const onnxEval = await evaluateModel(modelPath, folder, { tasks: ['stsb-dev'] });
  const onnxDev = onnxEval.metrics.find((m) => m.task === 'stsb-dev')!.spearman;
  const encoder = await loadEncoder(modelPath);
  const inProcess = encodeSentencesGlove(full.model, devSentences);
  const viaOnnx = await encoder.encode(devSentences);
  let maxDiff = 0;
  inProcess.forEach((v, i) => v.forEach((x, k) => (maxDiff = Math.max(maxDiff, Math.abs(x - viaOnnx[i]![k]!)))));
  const corpus = Array.from({ length: 10 }, () => devSentences).flat();
  await encoder.encode(corpus.slice(0, 2000));
  const encodeRates: number[] = [];
  for (let run = 0; run < 3; run++) {
    t = performance.now();
    await encoder.encode(corpus);
    encodeRates.push(corpus.length / ((performance.now() - t) / 1000));
  }
  encodeRates.sort((a, b) => a - b);
  const encodePerSecond = encodeRates[1]!;
  await encoder.close();
  log(`ONNX: dev ${onnxDev.toFixed(2)} (in-process ${full.summary.bestDev.toFixed(2)}), max |Δ| ${maxDiff.toExponential(2)}, ${encodePerSecond.toFixed(0)} sentences/s`);

  // The same training through the engine: pipelines/sup-nli.yaml into its default cache (pipelines/.synthcse, or
  // SYNTHCSE_CACHE), so that `synthcse export train --pipeline pipelines/sup-nli.yaml --out model.onnx` finds it.
  let pipeline: Record<string, unknown> = { skipped: 'BENCH_PIPELINE=0' };
  if (process.env.BENCH_PIPELINE !== '0') {
    log('running pipelines/sup-nli.yaml through the engine');
    const outcome = await runPipeline({
      file: join(REPO_ROOT, 'pipelines', 'sup-nli.yaml'),
      registry: await builtinRegistry(),
      env: { ...process.env, SYNTHCSE_DATA: folder },
      set: [`params.epochs=${epochs}`],
    });
    outcome.prepared.store.close();
    const evalValues = outcome.outcomes.get('eval')?.stats?.values ?? {};
    pipeline = { status: outcome.status, stsb_dev: evalValues['stsb-dev'] ?? null, table: evalValues.table ?? null, cache: outcome.prepared.store.dir };
    log(`pipeline: ${outcome.status}, stsb-dev ${String(evalValues['stsb-dev'])}`);
  }

  const result = {
    backend: trainRate.backend,
    data: folder,
    tokenizer: 'lower-case, /[\\p{L}\\p{M}\\p{N}]+/gu',
    glove_load_ms: Math.round(gloveLoadMs),
    stsb_dev_untrained: r2(baselines.untrained),
    stsb_dev_sif: r2(baselines.sif),
    stsb_dev_sif_pc: r2(baselines.sifPcSnli),
    stsb_dev_sif_pc_reference: 'SNLI training sentences',
    stsb_dev_sif_pc_dev_reference: r2(baselines.sifPcEval),
    stsb_dev_trained: r2(full.summary.bestDev),
    stsb_dev_synthetic_partial: r2(syn.summary.bestDev),
    stsb_dev_snli_same_size: r2(same.summary.bestDev),
    stsb_dev_trained_onnx: r2(onnxDev),
    onnx_max_abs_diff: maxDiff,
    train_triplets_per_s: Math.round(trainRate.median),
    train_triplets_per_s_best: Math.round(trainRate.best),
    train_triplets_per_s_no_projection: Math.round(trainRateNoProjection.median),
    encode_sentences_per_s: Math.round(encodePerSecond),
    encode_sentences_per_s_best: Math.round(encodeRates[2]!),
    load_average: loadavg().map((x) => r2(x)),
    train_config: { encoder: 'glove-avg', weighting: 'sif', common_component: true, projection: 100, objective: 'simcse-sup', batch_size: 64, lr: 1e-3, word_lr: 1e-2, temperature: 0.2, epochs, eval_every: 25, seed: 42 },
    best_steps: { snli: full.summary.bestStep, synthetic_partial: syn.summary.bestStep, snli_same_size: same.summary.bestStep },
    curves_dev_by_epoch: { snli: epochCurve(full.summary), synthetic_partial: epochCurve(syn.summary), snli_same_size: epochCurve(same.summary) },
    // [epoch, mean training loss since the previous evaluation (every 25 steps and at epoch ends)].
    curves_loss: { snli: full.summary.curves.loss, synthetic_partial: syn.summary.curves.loss, snli_same_size: same.summary.curves.loss },
    model: modelPath,
    pipeline_sup_nli: pipeline,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:train failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
