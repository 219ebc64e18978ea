/**
 * The results table in the papers' layout, one row per model, then the development columns (stsb-dev, sickr-dev)
 * present in the metrics. A development column that picked the model's checkpoint is headed "(dev, used for
 * selection)"; every other column is held out from selection.
 */
import type { MetricRow } from './evaluate.js';
import { AVERAGE_TASK, DEV_TASKS, TABLE_TASKS } from './tasks.js';

export const SELECTION_MARK = '(dev, used for selection)';
export const HELD_OUT_DEV_MARK = '(dev, held out)';

/** The results as cells: a header row and one row per model ("–" where a task is absent). `selection` as below. */
export function tableCells(metrics: readonly MetricRow[], selection?: readonly string[]): { header: string[]; rows: string[][]; models: string[] } {
  const models = [...new Set(metrics.map((m) => m.model))];
  const devColumns = DEV_TASKS.filter((t) => metrics.some((m) => m.task === t));
  const columns = [...TABLE_TASKS, AVERAGE_TASK, ...devColumns];
  const title = (task: string): string => {
    if (selection === undefined || !(DEV_TASKS as readonly string[]).includes(task)) return task;
    return `${task} ${selection.includes(task) ? SELECTION_MARK : HELD_OUT_DEV_MARK}`;
  };
  const rows = models.map((model) => [
    model,
    ...columns.map((task) => {
      const m = metrics.find((r) => r.model === model && r.task === task);
      return m === undefined ? '–' : m.spearman.toFixed(2);
    }),
  ]);
  return { header: ['Model', ...columns.map(title)], rows, models };
}

/** `selection`: the tasks that picked the model (see selectionTasks); undefined when unknown (no mark). */
export function markdownTable(metrics: readonly MetricRow[], selection?: readonly string[]): string {
  const { header, rows } = tableCells(metrics, selection);
  return [`| ${header.join(' | ')} |`, `|---|${header.slice(1).map(() => '---:').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}
