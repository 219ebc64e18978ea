/** SentEval-compatible STS evaluation: cosine similarity, no regressor, Spearman × 100 ("all" aggregation). */
import { cosineSimilarity, loadEncoder, type LoadEncoderOptions, type SentenceEncoder } from '../encoders/index.js';
import { spearman } from './spearman.js';
import { AVERAGE_TASK, discoverTasks, TABLE_TASKS, type StsTask } from './tasks.js';

/** One row of a `metrics` artifact. */
export interface MetricRow {
  [key: string]: string | number;
  task: string;
  /** Spearman × 100, rounded to 4 decimals. */
  spearman: number;
  pairs: number;
  model: string;
}

export interface EvaluateOptions {
  /** Label for the `model` column (default: the model path). */
  modelName?: string;
  /** Only these tasks (default: all present). */
  tasks?: readonly string[];
  /** Called for each task skipped because its files are absent. */
  onSkip?(task: string): void;
  encoderOptions?: LoadEncoderOptions;
}

export interface EvaluationResult {
  metrics: MetricRow[];
  skipped: string[];
}

async function scoreTask(encoder: SentenceEncoder, task: StsTask): Promise<{ spearman: number; pairs: number }> {
  const pairs = task.subsets.flatMap((s) => s.pairs);
  const unique = [...new Set(pairs.flatMap((p) => [p.sentence1, p.sentence2]))];
  const vectors = await encoder.encode(unique);
  const byText = new Map(unique.map((s, i) => [s, vectors[i]!]));
  const predicted = pairs.map((p) => cosineSimilarity(byText.get(p.sentence1)!, byText.get(p.sentence2)!));
  return { spearman: spearman(predicted, pairs.map((p) => p.score)) * 100, pairs: pairs.length };
}

const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;

export async function evaluateEncoder(encoder: SentenceEncoder, dataFolder: string, opts: EvaluateOptions & { modelName: string }): Promise<EvaluationResult> {
  const { tasks, missing } = discoverTasks(dataFolder);
  const wanted = (name: string): boolean => opts.tasks === undefined || opts.tasks.includes(name);
  const skipped = missing.filter(wanted);
  for (const s of skipped) opts.onSkip?.(s);
  const metrics: MetricRow[] = [];
  for (const task of tasks.filter((t) => wanted(t.name))) {
    const r = await scoreTask(encoder, task);
    metrics.push({ task: task.name, spearman: round4(r.spearman), pairs: r.pairs, model: opts.modelName });
  }
  const tableRows = TABLE_TASKS.map((t) => metrics.find((m) => m.task === t));
  if (tableRows.every((m) => m !== undefined)) {
    const rows = tableRows as MetricRow[];
    metrics.push({
      task: AVERAGE_TASK,
      spearman: round4(rows.reduce((s, m) => s + m.spearman, 0) / rows.length),
      pairs: rows.reduce((s, m) => s + m.pairs, 0),
      model: opts.modelName,
    });
  }
  return { metrics, skipped };
}

/** Evaluates an ONNX model file (see loadEncoder) on every task present in the data folder. */
export async function evaluateModel(modelPath: string, dataFolder: string, opts: EvaluateOptions = {}): Promise<EvaluationResult> {
  const encoder = await loadEncoder(modelPath, opts.encoderOptions);
  try {
    return await evaluateEncoder(encoder, dataFolder, { ...opts, modelName: opts.modelName ?? modelPath });
  } finally {
    await encoder.close();
  }
}
