/**
 * Transformer training and encoding benchmark (`npm run bench:transformer`). A randomly initialised BERT-mini-sized
 * encoder (4 layers, hidden 256, 4 heads, intermediate 1024, vocabulary 30,522) on sentences of exactly 32 tokens:
 *   - matmul_gflops: a plain float32 matMul of the model's own feed-forward shape (2048 × 256 · 256 × 1024: batch 64 ×
 *     32 tokens, hidden 256, intermediate 1024) on the same backend, in the same process; matmul_1024_gflops the
 *     same for 1024 × 256 · 256 × 1024 (a product whose output fits the cache better: faster, so a harder ratio);
 *   - train_*: optimisation steps of 64 sequences (simcse-unsup, batch 32: two dropout views of 32 sentences), with
 *     AdamW over every weight; the FLOP/s they imply count 3 × the forward pass's matmul FLOPs (forward + backward);
 *   - onnx_max_abs_diff: the ONNX export (onnxruntime-node) against the tfjs encoder on a padded batch;
 *   - encode_sentences_per_s: encoding through the exported ONNX model with onnxruntime-node.
 *   - minilm_simcse_sup_batch32: an all-MiniLM-L6-v2-sized random encoder (6 layers, hidden 384, 12 heads,
 *     intermediate 1536) trained with simcse-sup at batch 32 triplets (BENCH_MINILM_BATCH), in a child process:
 *     seconds of training per 1,000 triplets (one timed step after a warm-up step; BENCH_MINILM=0 skips it). Batch
 *     64 (192 sequences) fails on the wasm backend ("memory access out of bounds" or "Aborted()": its tensors pass
 *     about 2 GB).
 * The matmul rate is sampled again right after every timed step. train_flops_ratio is the median over the timed
 * steps of (that step's FLOP/s ÷ the matmul FLOP/s sampled right after it), so each ratio compares figures taken
 * under nearly the same load (this machine's load swings 3× within a minute); train_flops_ratio_best divides the
 * fastest step's FLOP/s by the fastest matmul sample (what an idle machine would approach). Progress goes to stderr; the last stdout line is one JSON object.
 * BENCH_STEPS (default 10) sets the timed steps.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEncoder } from '../nodes/encoders/index.js';
import { trainingSetFromRows } from '../nodes/train/data.js';
import { loadTf } from '../nodes/train/tf-backend.js';
import { DEFAULT_TRAIN_OPTIONS } from '../nodes/train/train-glove.js';
import { loadCheckpoint } from '../nodes/transformer/checkpoint.js';
import { exportTransformerOnnx } from '../nodes/transformer/export-onnx.js';
import { embedTexts } from '../nodes/transformer/model.js';
import { prepareTransformerTraining } from '../nodes/transformer/prepare.js';
import { writeRandomCheckpoint } from '../nodes/transformer/random-checkpoint.js';
import { Rng } from '../nodes/train/rng.js';
import type { Tensor2D } from '@tensorflow/tfjs';

const LAYERS = 4;
const HIDDEN = 256;
const HEADS = 4;
const INTERMEDIATE = 1024;
const VOCAB = 30522;
const SEQ = 32;
const SEQUENCES_PER_STEP = 64;
const MINILM_BATCH = Number(process.env.BENCH_MINILM_BATCH ?? 32);

const log = (message: string) => process.stderr.write(`${message}\n`);
const r3 = (x: number) => Math.round(x * 1000) / 1000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Matmul FLOPs of one forward pass per sequence: the dense layers plus attention's two batched products. */
function forwardFlopsPerSequence(): number {
  const dense = 2 * SEQ * (4 * HIDDEN * HIDDEN + 2 * HIDDEN * INTERMEDIATE);
  const attention = 2 * 2 * SEQ * SEQ * HIDDEN;
  return LAYERS * (dense + attention);
}

/** simcse-sup at batch 32 triplets (96 sequences a step) on an all-MiniLM-L6-v2-sized random encoder. */
async function minilmRun(): Promise<void> {
  const rng = new Rng(2);
  const sentence = () => Array.from({ length: SEQ - 2 }, () => `w${rng.nextInt(VOCAB - 200)}`).join(' ');
  const miniFolder = writeRandomCheckpoint(join(mkdtempSync(join(tmpdir(), 'synthcse-bench-')), 'minilm'), {
    architecture: 'bert',
    hidden: 384,
    layers: 6,
    heads: 12,
    intermediate: 1536,
    vocabSize: VOCAB,
    maxPositions: 512,
  });
  const triplets = Array.from({ length: 2 * MINILM_BATCH }, () => ({ anchor: sentence(), positive: sentence(), negative: sentence() }));
  const options = { ...DEFAULT_TRAIN_OPTIONS, objective: 'simcse-sup' as const, batchSize: MINILM_BATCH, epochs: 1, evalEvery: 0 };
  const mini = await prepareTransformerTraining(loadCheckpoint(miniFolder), trainingSetFromRows(triplets, 'simcse-sup'), undefined, { pooling: 'cls', maxSeqLength: SEQ }, options, {
    lr: 5e-5,
    warmupRatio: 0,
    weightDecay: 0,
    maxGradNorm: 1,
  });
  let last = performance.now();
  let stepSeconds = 0;
  await mini.trainer.run({
    onStep: (step) => {
      const now = performance.now();
      log(`MiniLM-sized step ${step}: ${((now - last) / 1000).toFixed(2)} s`);
      if (step === 2) stepSeconds = (now - last) / 1000; // step 1 warms up
      last = now;
    },
  });
  const out = { step_s: r3(stepSeconds), s_per_1000_triplets: Math.round((stepSeconds * 1000) / MINILM_BATCH), peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) };
  process.stdout.write(JSON.stringify(out) + '\n');
}

async function main(): Promise<void> {
  const tfx = await loadTf();
  const { tf } = tfx;
  log(`backend: ${tfx.backend} (${tfx.package})`);

  // Plain matmuls on the same backend: the model's feed-forward shape, and 1024 × 256 · 256 × 1024.
  const shapes = { ffn: [2048, 256, 1024], square: [1024, 256, 1024] } as const;
  const operands = Object.fromEntries(Object.entries(shapes).map(([name, [m, k, n]]) => [name, [tf.randomNormal([m, k]), tf.randomNormal([k, n])]])) as Record<keyof typeof shapes, [Tensor2D, Tensor2D]>;
  const matmulSamples: number[] = [];
  const squareSamples: number[] = [];
  const rate = (name: keyof typeof shapes): number => {
    const [x, y] = operands[name];
    const [m, k, n] = shapes[name];
    tf.matMul(x, y).dispose();
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const c = tf.matMul(x, y);
      c.dataSync();
      times.push((performance.now() - t0) / 1000);
      c.dispose();
    }
    return (2 * m * k * n) / median(times) / 1e9;
  };
  const sampleMatmul = (): void => {
    matmulSamples.push(rate('ffn'));
    squareSamples.push(rate('square'));
  };
  sampleMatmul();
  log(`matmul: ${matmulSamples[0]!.toFixed(1)} GFLOP/s`);

  const folder = writeRandomCheckpoint(join(mkdtempSync(join(tmpdir(), 'synthcse-bench-')), 'bert-mini'), {
    architecture: 'bert',
    hidden: HIDDEN,
    layers: LAYERS,
    heads: HEADS,
    intermediate: INTERMEDIATE,
    vocabSize: VOCAB,
    maxPositions: 512,
  });
  const checkpoint = loadCheckpoint(folder);
  const rng = new Rng(1);
  // Words "w0" … are whole WordPiece tokens of this vocabulary: 30 words + [CLS] + [SEP] = 32 tokens.
  const sentence = () => Array.from({ length: SEQ - 2 }, () => `w${rng.nextInt(VOCAB - 200)}`).join(' ');
  const steps = Number(process.env.BENCH_STEPS ?? 10);
  const rows = Array.from({ length: (steps + 1) * (SEQUENCES_PER_STEP / 2) }, () => ({ text: sentence() }));
  const set = trainingSetFromRows(rows, 'simcse-unsup');
  const options = { ...DEFAULT_TRAIN_OPTIONS, objective: 'simcse-unsup' as const, batchSize: SEQUENCES_PER_STEP / 2, epochs: 1, evalEvery: 0 };
  const { trainer, model } = await prepareTransformerTraining(checkpoint, set, undefined, { pooling: 'cls', maxSeqLength: SEQ }, options, {
    lr: 5e-5,
    warmupRatio: 0,
    weightDecay: 0,
    maxGradNorm: 1,
  });
  if (model.tokenizer.encode(rows[0]!.text).length !== SEQ) throw new Error('bench sentences are not 32 tokens');
  const stepTimes: number[] = [];
  let last = performance.now();
  await trainer.run({
    onStep: (step) => {
      const now = performance.now();
      if (step > 1) {
        stepTimes.push((now - last) / 1000); // the first step warms the kernels up
        sampleMatmul();
      }
      log(`step ${step}: ${((now - last) / 1000).toFixed(2)} s, matmul ${matmulSamples.at(-1)!.toFixed(1)} GFLOP/s`);
      last = performance.now();
    },
  });
  const stepSeconds = median(stepTimes);
  const matmulGflops = median(matmulSamples.slice(1));
  const squareGflops = median(squareSamples.slice(1));
  const stepGflops = stepTimes.map((t) => (3 * forwardFlopsPerSequence() * SEQUENCES_PER_STEP) / t / 1e9);
  const pairedRatio = median(stepGflops.map((g, i) => g / matmulSamples[i + 1]!));
  const pairedRatio1024 = median(stepGflops.map((g, i) => g / squareSamples[i + 1]!));
  const bestRatio = Math.max(...stepGflops) / Math.max(...matmulSamples);
  const sequencesPerS = SEQUENCES_PER_STEP / stepSeconds;
  const trainFlops = 3 * forwardFlopsPerSequence() * sequencesPerS;
  const trainGflops = trainFlops / 1e9;

  // ONNX export: parity on a padded batch, then encoding throughput.
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-bench-onnx-'));
  const onnxFile = join(dir, 'model.onnx');
  writeFileSync(onnxFile, exportTransformerOnnx(model));
  const parityTexts = Array.from({ length: 16 }, (_, i) => sentence().split(' ').slice(0, 5 + i).join(' '));
  const expected = embedTexts(tfx, model, parityTexts);
  const encoder = await loadEncoder(onnxFile, { batchSize: 64 });
  const actual = await encoder.encode(parityTexts);
  let maxDiff = 0;
  expected.forEach((v, i) => v.forEach((x, k) => (maxDiff = Math.max(maxDiff, Math.abs(x - actual[i]![k]!)))));
  const encodeTexts = Array.from({ length: 1024 }, () => sentence());
  await encoder.encode(encodeTexts.slice(0, 64));
  const t0 = performance.now();
  await encoder.encode(encodeTexts);
  const encodePerS = encodeTexts.length / ((performance.now() - t0) / 1000);
  await encoder.close();

  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);

  // An all-MiniLM-L6-v2-sized encoder in a child process: a fresh wasm heap (the backend's heap only grows, and
  // what the BERT-mini run left fragmented made the MiniLM run abort in the same process).
  let minilm: { step_s: number; s_per_1000_triplets: number; peak_rss_mb: number } | null = null;
  if (process.env.BENCH_MINILM !== '0') {
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--minilm'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (child.status !== 0) throw new Error(`the MiniLM-sized run failed (exit ${child.status})`);
    minilm = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as typeof minilm;
  }

  const result = {
    backend: tfx.backend,
    backend_package: tfx.package,
    model: { layers: LAYERS, hidden: HIDDEN, heads: HEADS, intermediate: INTERMEDIATE, vocab: VOCAB, tokens: SEQ },
    sequences_per_step: SEQUENCES_PER_STEP,
    timed_steps: stepTimes.length,
    matmul_gflops: r3(matmulGflops),
    train_step_s: r3(stepSeconds),
    train_sequences_per_s: r3(sequencesPerS),
    train_tokens_per_s: Math.round(sequencesPerS * SEQ),
    train_gflops: r3(trainGflops),
    train_flops_ratio: r3(pairedRatio),
    train_flops_ratio_best: r3(bestRatio),
    matmul_1024_gflops: r3(squareGflops),
    train_flops_ratio_vs_1024: r3(pairedRatio1024),
    step_s_all: stepTimes.map(r3),
    matmul_gflops_all: matmulSamples.slice(1).map(r3),
    onnx_max_abs_diff: maxDiff,
    encode_sentences_per_s: Math.round(encodePerS),
    peak_rss_mb: peakRssMb,
    minilm_simcse_sup_batch32: minilm,
    load_average: loadavg().map((x) => Math.round(x * 100) / 100),
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

(process.argv.includes('--minilm') ? minilmRun() : main()).catch((error: unknown) => {
  process.stderr.write(`bench:transformer failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
