/** The results table in the papers' layout, one row per model, plus the development column stsb-dev. */
import type { MetricRow } from './evaluate.js';
import { AVERAGE_TASK, DEV_TASK, TABLE_TASKS } from './tasks.js';

const COLUMNS = [...TABLE_TASKS, AVERAGE_TASK, DEV_TASK] as const;

export function markdownTable(metrics: readonly MetricRow[]): string {
  const models = [...new Set(metrics.map((m) => m.model))];
  const header = `| Model | ${COLUMNS.join(' | ')} |`;
  const rule = `|---|${COLUMNS.map(() => '---:').join('|')}|`;
  const rows = models.map((model) => {
    const cells = COLUMNS.map((task) => {
      const m = metrics.find((r) => r.model === model && r.task === task);
      return m === undefined ? '–' : m.spearman.toFixed(2);
    });
    return `| ${model} | ${cells.join(' | ')} |`;
  });
  return [header, rule, ...rows].join('\n');
}
