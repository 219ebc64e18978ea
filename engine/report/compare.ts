/**
 * `synthcse report --compare A B …`: runs side by side in one self-contained page: what differed (pipeline, variant,
 * --set values), how each ended, what each paid, and every number their nodes reported, best value per row marked.
 */
import { basename } from 'node:path';
import type { RunSummary } from '../cli/runs.js';
import { esc, usd, utc } from './format.js';
import { REPORT_CSS } from './styles.js';

export function renderComparison(runs: readonly RunSummary[], generatedAt = Date.now()): string {
  const metricNames = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort();
  const row = (label: string, cells: string[], cls = '') => `<tr${cls ? ` class="${cls}"` : ''}><th>${esc(label)}</th>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
  const metricRow = (name: string) => {
    const values = runs.map((r) => r.metrics[name]);
    const present = values.filter((v): v is number => v !== undefined);
    const best = present.length > 1 ? Math.max(...present) : undefined;
    return row(
      name,
      values.map((v) => (v === undefined ? '–' : `<span${v === best ? ' class="best"' : ''}>${esc(Number.isInteger(v) ? String(v) : v.toFixed(4))}</span>`)),
      'metric-row',
    );
  };
  const table = [
    '<table class="compare"><thead><tr><th></th>',
    ...runs.map((r) => `<th class="mono">${esc(r.runId.slice(0, 8))}</th>`),
    '</tr></thead><tbody>',
    row('pipeline', runs.map((r) => esc(basename(r.pipeline)))),
    row('variant', runs.map((r) => esc(r.variant || '–'))),
    row('--set', runs.map((r) => (r.set.length ? r.set.map((s) => `<code>${esc(s)}</code>`).join('<br>') : '–'))),
    row('status', runs.map((r) => `<span class="pill status-${esc(r.status)}">${esc(r.status === 'running' ? 'not finished' : r.status)}</span>`)),
    row('started', runs.map((r) => esc(utc(r.started)))),
    row('LLM requests sent', runs.map((r) => esc(r.requests))),
    row('tokens in / out', runs.map((r) => esc(`${r.inputTokens} / ${r.outputTokens}`))),
    row('LLM cost', runs.map((r) => esc(usd(r.costUsd)))),
    ...metricNames.map(metricRow),
    '</tbody></table>',
  ].join('');
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    `<title>${esc(`Comparison of ${runs.length} runs`)}</title>`,
    `<style>${REPORT_CSS}\ntable.compare th { text-align: left; } table.compare .best { font-weight: 700; }</style>`,
    '</head><body><main>',
    `<header><h1>${esc(`${runs.length} runs side by side`)}</h1><p class="subtitle">Numbers are what each run's nodes reported (ran or reused from the cache); the best of a row is bold.</p></header>`,
    `<section class="card" id="compare"><div class="table-wrap">${table}</div></section>`,
    `<footer>Generated ${esc(utc(generatedAt))} by synthcse</footer>`,
    '</main></body></html>',
  ].join('\n');
}
