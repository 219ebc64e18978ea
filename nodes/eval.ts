/**
 * eval: SentEval-compatible STS evaluation of a model (and optionally a baseline): cosine similarity, no regressor,
 * Spearman × 100; STS12–16 "all", STS-B test, SICK-R test, their average, and the dev sets stsb-dev and
 * sickr-dev: every task whose files it finds (absent ones are skipped with a notice). The table heads the dev
 * columns that picked the model's checkpoint (the train node's `select`, in the model's metadata) "(dev, used for
 * selection)", apart from the held-out columns.
 */
import { z } from 'zod';
import { defineNode, NodeUserError, type FileValue, type PortValue } from '../engine/node-type.js';
import { dataFolder, keyedDataFiles } from './sts/data-folder.js';
import { evaluateModel, type MetricRow } from './sts/evaluate.js';
import { RemoteFiles, remoteDownloads, withRemoteFiles } from './sts/remote.js';
import { withSentEvalFiles } from './sts/senteval.js';
import { markdownTable, tableCells } from './sts/table.js';
import { DEV_TASKS, selectionTasks, TABLE_TASKS } from './sts/tasks.js';

const TASK_NAMES = [...TABLE_TASKS, ...DEV_TASKS] as const;

export const EvalParams = z.strictObject({
  /** Data folder laid out like ../shared/data; default $SYNTHCSE_DATA, else ../shared/data beside the repository. */
  data: z.string().optional(),
  /**
   * Files to download when the data folder lacks them, by their place in the folder:
   * { "stsb/dev.tsv": { url: https://…, sha256: … } }. Downloaded once into the cache.
   */
  remote: RemoteFiles.optional(),
  /**
   * Fetch the standard SentEval STS test files (STS12-16, STS-B test, SICK-R test) the data folder lacks, once into
   * the cache: true (from their public locations) or {mirror: URL} (the same file names under another address).
   * Where they cannot be downloaded, the node warns and evaluates on the folder's files.
   */
  senteval: z.union([z.boolean(), z.strictObject({ mirror: z.string().regex(/^https?:\/\//i, 'must be an http(s) URL') })]).default(false),
  /** Only these tasks (default: every task present). */
  tasks: z.array(z.enum(TASK_NAMES)).min(1).optional(),
  /** Names in the table (default: the models' own labels). */
  name: z.string().min(1).optional(),
  baseline_name: z.string().min(1).optional(),
});

function modelFile(value: PortValue | undefined, port: string): FileValue | undefined {
  if (value === undefined) return undefined;
  if (value.form !== 'file') throw new NodeUserError(`input ${port} must be a model file`);
  return value;
}

function labelOf(value: FileValue, explicit: string | undefined, fallback: string): string {
  if (explicit) return explicit;
  return typeof value.meta.label === 'string' ? value.meta.label : fallback;
}

export const evaluate = defineNode({
  type: 'eval',
  // 2: sickr-dev; the table marks the selection column.
  version: 2,
  description: 'SentEval-compatible STS evaluation (STS12-16, STS-B, SICK-R, average, stsb-dev, sickr-dev) with a markdown results table that marks the selection column.',
  params: EvalParams,
  inputs: {
    model: { kind: 'model', description: 'the encoder to evaluate' },
    baseline: { kind: 'model', optional: true, description: 'a second encoder shown as its own row' },
  },
  outputs: {
    metrics: { kind: 'metrics', description: 'rows {task, spearman, pairs, model}' },
  },
  files(p, _options, probe) {
    return keyedDataFiles(p.data, true, probe);
  },
  downloads(p, probe) {
    return remoteDownloads(dataFolder(p.data === undefined ? undefined : probe.resolve(p.data)), p.remote);
  },
  report(view) {
    const metrics = (view.rows('metrics', 1000) ?? []) as unknown as MetricRow[];
    if (metrics.length === 0) return [];
    const main = view.stats.values?.model_label;
    const select = view.stats.values?.select;
    // Baselines above the model, as the papers list them, and shown muted.
    const ordered = [...metrics.filter((r) => r.model !== main), ...metrics.filter((r) => r.model === main)];
    const { header, rows, models } = tableCells(ordered, typeof select === 'string' ? selectionTasks(select) : undefined);
    const mutedRows = typeof main === 'string' ? models.flatMap((m, i) => (m === main ? [] : [i])) : [];
    return [{ title: 'STS results (Spearman × 100)', tables: [{ header, rows, bestPerColumn: true, mutedRows }] }];
  },
  async run(inputs, p, ctx) {
    let folder = await withRemoteFiles(dataFolder(p.data === undefined ? undefined : ctx.resolvePath(p.data)), p.remote, ctx);
    if (p.senteval !== false) {
      const sentEval = await withSentEvalFiles(folder, p.senteval === true ? {} : p.senteval, ctx);
      folder = sentEval.folder;
      if (sentEval.fetched.length > 0) ctx.log.info(`SentEval STS files from the cache or the network: ${sentEval.fetched.join(', ')}.`);
      if (sentEval.unreachable !== undefined) {
        ctx.log.warn(
          `The SentEval STS files could not be fetched (${sentEval.unreachable}); evaluating on the data folder's files only. ` +
            `Fix: with network access run again with --force ${ctx.nodeId}, or set senteval: {mirror: URL} to a reachable copy, or put the files under the data folder (sts12/ … sts16/, stsb/sts-test.csv, sick/SICK_test_annotated.txt).`,
        );
      }
      ctx.stats.values = { ...ctx.stats.values, senteval: sentEval.unreachable === undefined ? `fetched ${sentEval.fetched.length}` : 'unreachable' };
    }
    const models: { file: FileValue; label: string }[] = [];
    const main = modelFile(inputs.model, 'model')!;
    models.push({ file: main, label: labelOf(main, p.name, 'model') });
    const baseline = modelFile(inputs.baseline, 'baseline');
    if (baseline) models.push({ file: baseline, label: labelOf(baseline, p.baseline_name, 'baseline') });
    if (models.length === 2 && models[0]!.label === models[1]!.label) models[1]!.label += ' (baseline)';

    const metrics: MetricRow[] = [];
    for (const [i, m] of models.entries()) {
      const result = await evaluateModel(m.file.path, folder, { modelName: m.label, ...(p.tasks ? { tasks: p.tasks } : {}) });
      if (i === 0 && result.skipped.length > 0) ctx.log.warn(`Skipped (no files under ${folder}): ${result.skipped.join(', ')}.`);
      metrics.push(...result.metrics);
    }
    if (metrics.length === 0) throw new NodeUserError(`No evaluation task has its files under ${folder}.`, ['data'], 'Point data (or SYNTHCSE_DATA) at a folder with stsb/dev.tsv.');
    // Baseline rows above the model, as the papers list them.
    const select = typeof main.meta.select === 'string' ? main.meta.select : undefined;
    const selection = select === undefined ? undefined : selectionTasks(select);
    if (select !== undefined) {
      const held = metrics.filter((r) => r.model === models[0]!.label && !selection!.includes(r.task)).map((r) => r.task);
      ctx.log.info(`${models[0]!.label}: checkpoint selected by ${select}; held out from selection: ${held.join(', ') || 'nothing'}.`);
    }
    ctx.stats.values = {
      ...ctx.stats.values,
      ...(select === undefined ? {} : { select }),
      table: markdownTable([...metrics.filter((r) => r.model !== models[0]!.label), ...metrics.filter((r) => r.model === models[0]!.label)], selection),
    };
    for (const r of metrics) if (r.model === models[0]!.label) ctx.stats.values[r.task] = r.spearman;
    ctx.stats.values.model_label = models[0]!.label;
    return { metrics };
  },
});
