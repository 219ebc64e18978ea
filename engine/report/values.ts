/** Reading the loosely typed parts of node stats (stats.values is free-form JSON) into the report's types. */
import type { Json, Row } from '../json.js';
import type { ReportLlmSpend, ReportTable } from './types.js';

type JsonRecord = { [key: string]: Json };

function isRecord(value: Json | undefined): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function num(value: Json | undefined): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/** stats.values.llm as the LLM layer writes it (LlmSpend), or null when absent or not of that shape. */
export function llmSpend(value: Json | undefined): ReportLlmSpend | null {
  if (!isRecord(value)) return null;
  const usage = isRecord(value.usage) ? value.usage : {};
  return {
    provider: typeof value.provider === 'string' ? value.provider : '',
    model: typeof value.model === 'string' ? value.model : '',
    mode: typeof value.mode === 'string' ? value.mode : 'online',
    requests: num(value.requests),
    inputTokens: num(usage.input_tokens),
    outputTokens: num(usage.output_tokens),
    cacheReadTokens: num(usage.cache_read_input_tokens),
    cacheWriteTokens: num(usage.cache_creation_input_tokens),
    costUsd: num(value.costUsd),
    cacheSavingsUsd: num(value.cacheSavingsUsd),
  };
}

/** The scalar entries of stats.values (besides the spend and the table, which have their own sections), as text. */
export function scalarValues(values: Record<string, Json> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(values ?? {})) {
    if (name === 'llm' || name === 'table') continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[name] = String(value);
  }
  return out;
}

/** A markdown pipe table (header, rule, rows) as cells; null when the text is not one. */
export function parseMarkdownTable(text: string): ReportTable | null {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('|'));
  if (lines.length < 2 || !/^\|[\s:|-]+\|$/.test(lines[1]!)) return null;
  const cells = (line: string) =>
    line
      .slice(1, line.endsWith('|') ? -1 : undefined)
      .split('|')
      .map((c) => c.trim());
  return { header: cells(lines[0]!), rows: lines.slice(2).map(cells) };
}

export interface MetricRow {
  task: string;
  spearman: number;
  pairs: number | null;
  model: string;
}

/** Rows of the eval nodes' metrics output ({task, spearman, pairs, model}); null when the rows are something else. */
export function metricRows(rows: readonly Row[]): MetricRow[] | null {
  if (rows.length === 0) return null;
  const metrics: MetricRow[] = [];
  for (const row of rows) {
    if (typeof row.task !== 'string' || typeof row.spearman !== 'number') return null;
    metrics.push({
      task: row.task,
      spearman: row.spearman,
      pairs: typeof row.pairs === 'number' ? row.pairs : null,
      model: typeof row.model === 'string' ? row.model : '',
    });
  }
  return metrics;
}

/** Series of [x, y] pairs with finite numbers only (NaN cannot be stored as JSON, but be safe). */
export function cleanCurve(points: readonly (readonly [number, number])[]): [number, number][] {
  return points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).map(([x, y]) => [x, y]);
}
