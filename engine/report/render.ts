/** The run report as one self-contained HTML page: everything (styles, uPlot, data) is inline; nothing is fetched. */
import type { Json, Row } from '../json.js';
import { CHART_SCRIPT, uplotAssets, type ChartAssets } from './assets.js';
import { dagSvg } from './dag-svg.js';
import { count, duration, esc, scriptJson, usd, utc } from './format.js';
import { REPORT_CSS } from './styles.js';
import type { ReportSectionTable } from '../node-type.js';
import type { ReportCurve, ReportData, ReportNode, ReportNodeState, ReportSample } from './types.js';

const STATES: ReportNodeState[] = ['ran', 'cached', 'partial', 'failed', 'interrupted', 'skipped', 'not-run'];


export function renderReport(data: ReportData, assets: ChartAssets = uplotAssets()): string {
  const title = `${data.run.pipelineName || 'pipeline'}${data.run.variant ? ` (${data.run.variant})` : ''}: run report`;
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // Nothing in the page may reach the network.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">`,
    `<title>${esc(title)}</title>`,
    `<style>${assets.css}</style>`,
    `<style>${REPORT_CSS}</style>`,
    '</head><body><main>',
    header(data),
    notes(data),
    dagSection(data),
    nodeTable(data),
    spendSection(data),
    curvesSection(data),
    nodeSectionsHtml(data),
    samplesSection(data),
    `<footer>Generated ${esc(utc(data.generatedAt))} by synthcse · charts by uPlot (MIT)</footer>`,
    '</main>',
    `<script type="application/json" id="report-data">${scriptJson({ curves: [...data.curves, ...spendCurves(data)] })}</script>`,
    `<script>${assets.js.replace(/<\/script/gi, '<\\/script')}</script>`,
    `<script>${CHART_SCRIPT}</script>`,
    '</body></html>',
  ].join('\n');
}

function pill(state: string, prefix = 'state'): string {
  return `<span class="pill ${prefix}-${esc(state)}">${esc(state)}</span>`;
}

function header(data: ReportData): string {
  const { run, totals } = data;
  const cached = data.nodes.filter((n) => n.state === 'cached').length;
  const ran = data.nodes.filter((n) => n.state === 'ran' || n.state === 'partial').length;
  const metric = (label: string, value: string, note = '') =>
    `<div class="metric"><div class="label">${esc(label)}</div><div class="value">${esc(value)}</div>${note ? `<div class="note">${esc(note)}</div>` : ''}</div>`;
  const reusedSpend = totals.costUsdAllResults - totals.costUsd;
  return [
    '<header>',
    `<h1>${esc(run.pipelineName || run.pipelineFile)} ${run.variant ? `<span class="pill variant">variant ${esc(run.variant)}</span>` : ''} ${pill(run.status, 'status')}</h1>`,
    `<p class="subtitle">Run <span class="mono">${esc(run.runId.slice(0, 8))}</span> of <span class="mono">${esc(run.pipelineFile)}</span>, started ${esc(utc(run.started))}</p>`,
    '</header>',
    '<section class="summary">',
    run.finished === null ? metric('Total time', `≥ ${duration(totals.ms)}`, 'did not finish; up to the last recorded node') : metric('Total time', duration(totals.ms)),
    metric('LLM cost, this run', usd(totals.costUsd), reusedSpend > 0 ? `${usd(reusedSpend)} more in reused results` : ''),
    metric('Tokens in / out', `${count(totals.inputTokens)} / ${count(totals.outputTokens)}`),
    metric('Prompt-cache savings', usd(totals.cacheSavingsUsd)),
    metric('Nodes', `${data.nodes.length}`, `${ran} ran, ${cached} cached`),
    '</section>',
  ].join('\n');
}

function notes(data: ReportData): string {
  if (data.notes.length === 0) return '';
  return `<div class="notes">${data.notes.map((n) => `<p>${esc(n)}</p>`).join('')}</div>`;
}

function dagSection(data: ReportData): string {
  const present = new Set(data.nodes.map((n) => n.state));
  const legend = STATES.filter((s) => present.has(s)).map((s) => pill(s)).join(' ');
  const command = data.run.argv.length > 0 ? `<p class="command mono">$ synthcse ${esc(data.run.argv.join(' '))}</p>` : '';
  return `<section class="card" id="dag"><h2>Pipeline</h2><div class="legend">${legend}</div><div class="dag-wrap">${dagSvg(data)}</div>${command}</section>`;
}

function reasonsList(reasons: Record<string, number>): string {
  const entries = Object.entries(reasons).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return '';
  return `<ul class="reasons">${entries.map(([reason, n]) => `<li><span class="n">${esc(count(n))}</span> ${esc(reason)}</li>`).join('')}</ul>`;
}

function nodeTable(data: ReportData): string {
  const dash = '<span class="muted">–</span>';
  const row = (n: ReportNode) => {
    const time = n.state === 'cached' ? `<span class="muted">${n.originalMs !== null ? `took ${esc(duration(n.originalMs))}` : 'cached'}</span>` : n.state === 'not-run' || n.state === 'skipped' || (n.state === 'interrupted' && n.ms === 0) ? dash : esc(duration(n.ms));
    const itemParts = [[n.items.cached, 'cached'], [n.items.ran, 'ran'], [n.items.failed, 'failed']] as const;
    const items = itemParts.filter(([k]) => k > 0).map(([k, what]) => `<div>${esc(count(k))} ${what}</div>`).join('') || dash;
    const out = n.rowsOut !== null ? esc(count(n.rowsOut)) : n.outputs.some((o) => o.form === 'file') ? 'file' : null;
    const rows = n.rowsIn === null && out === null ? dash : `${n.rowsIn === null ? '' : esc(count(n.rowsIn)) + ' → '}${out ?? dash}`;
    const removed = reasonsList(n.removed);
    const failed = reasonsList(n.failureReasons);
    const files = n.outputs.filter((o) => o.form === 'file').map((o) => `<div class="kv">${esc(o.port)}: file${o.meta && typeof o.meta.format === 'string' ? ` (${esc(o.meta.format)})` : ''}</div>`);
    const values = Object.entries(n.values).map(([k, v]) => `<div class="kv">${esc(k)}: ${esc(v)}</div>`);
    const llm = n.llm;
    const spend = llm
      ? [
          `<td class="llm">${esc(llm.model)}<div class="kv">${esc(llm.mode)} · ${esc(count(llm.requests))} requests</div></td>`,
          `<td class="num">${esc(count(llm.inputTokens))} / ${esc(count(llm.outputTokens))}${llm.cacheReadTokens > 0 ? `<div class="kv">${esc(count(llm.cacheReadTokens))} cache read</div>` : ''}</td>`,
          `<td class="num">${esc(usd(llm.costUsd))}${n.reused ? '<div class="kv">in an earlier run</div>' : ''}${llm.cacheSavingsUsd > 0 ? `<div class="kv">prompt cache saved ${esc(usd(llm.cacheSavingsUsd))}</div>` : ''}</td>`,
        ].join('')
      : `<td>${dash}</td><td class="num">${dash}</td><td class="num">${dash}</td>`;
    return [
      `<tr id="node-${esc(n.id)}" data-node="${esc(n.id)}">`,
      `<td class="node-name"><strong>${esc(n.id)}</strong><div class="kv">${esc(n.type)}</div></td>`,
      `<td>${pill(n.state)}</td>`,
      `<td class="num">${time}</td>`,
      `<td class="num">${items}</td>`,
      `<td class="num">${rows}</td>`,
      `<td>${removed || (failed ? '' : dash)}${failed ? `<div class="kv">failed items:</div>${failed}` : ''}</td>`,
      spend,
      `<td class="details">${[...files, ...values].join('') || dash}</td>`,
      '</tr>',
    ].join('');
  };
  return [
    '<section class="card" id="nodes"><h2>Nodes</h2><div class="table-wrap"><table class="nodes">',
    '<thead><tr><th>Node</th><th>State</th><th class="num">Time</th><th class="num">Items</th><th class="num">Rows in → out</th><th>Removed</th><th>LLM</th><th class="num">Tokens in / out</th><th class="num">Cost</th><th>Details</th></tr></thead>',
    `<tbody>${data.nodes.map(row).join('')}</tbody>`,
    '</table></div></section>',
  ].join('');
}

function curvesSection(data: ReportData): string {
  if (data.curves.length === 0) return '';
  const boxes = data.curves.map((curve, i) => {
    const title = curve.title ?? curve.name;
    const last = curve.points.at(-1);
    const note = last ? ` <span class="muted">last ${esc(String(last[1]))}</span>` : '';
    return `<div class="chart-box"><div class="caption">${esc(title)} <span class="muted">· ${esc(curve.nodeId)}</span>${note}</div><div class="chart" data-curve="${i}" data-x-label="epoch"></div></div>`;
  });
  return `<section class="card" id="curves"><h2>Training</h2><div class="charts">${boxes.join('')}</div></section>`;
}

/** Cost and requests over the run, charted after the node curves (same drawing code, x in seconds). */
function spendCurves(data: ReportData): ReportCurve[] {
  if (data.spendOverTime.length === 0) return [];
  return [
    { nodeId: 'llm', name: 'cost (USD)', points: data.spendOverTime.map((p) => [round(p.t, 1), round(p.costUsd, 6)]) },
    { nodeId: 'llm', name: 'requests', points: data.spendOverTime.map((p) => [round(p.t, 1), p.requests]) },
  ];
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function spendSection(data: ReportData): string {
  if (data.spendOverTime.length === 0) return '';
  const last = data.spendOverTime.at(-1)!;
  const first = data.curves.length;
  const box = (i: number, title: string, note: string) =>
    `<div class="chart-box"><div class="caption">${esc(title)} <span class="muted">· ${esc(note)}</span></div><div class="chart" data-curve="${i}" data-x-label="seconds since the run started"></div></div>`;
  const rate = last.t > 0 ? `${(last.requests / (last.t / 60)).toFixed(0)} requests/min on average` : '';
  return `<section class="card" id="spend"><h2>LLM cost and requests over time</h2><div class="charts">${box(first, 'Cost so far (USD)', usd(last.costUsd))}${box(first + 1, 'Requests sent so far', `${count(last.requests)}${rate ? `, ${rate}` : ''}`)}</div></section>`;
}

/** The sections node types contributed (the eval node's results table, a filter's removals, an LLM node's yields). */
function nodeSectionsHtml(data: ReportData): string {
  return data.sections
    .map((section, i) => {
      const tables = (section.tables ?? []).map((t) => `${t.caption ? `<h3>${esc(t.caption)}</h3>` : ''}<div class="table-wrap">${resultsTable(t)}</div>`).join('');
      const text = section.text ? `<p>${esc(section.text)}</p>` : '';
      return `<section class="card node-section" id="section-${i}" data-node="${esc(section.nodeId)}"><h2>${esc(section.title)} <span class="muted">· ${esc(section.nodeId)}</span></h2>${text}${tables}</section>`;
    })
    .join('');
}

function resultsTable(table: ReportSectionTable): string {
  const numeric = (cell: string) => (/^-?\d+(\.\d+)?$/.test(cell) ? Number(cell) : undefined);
  const muted = new Set(table.mutedRows ?? []);
  const best = table.header.map((_, c) => {
    if (!table.bestPerColumn || c === 0) return undefined;
    const values = table.rows.filter((_, r) => !muted.has(r)).map((r) => numeric(r[c] ?? '')).filter((v): v is number => v !== undefined);
    return values.length > 1 ? Math.max(...values) : undefined;
  });
  const head = table.header.map((h, c) => `<th${c > 0 ? ' class="num"' : ''}>${esc(h)}</th>`).join('');
  const body = table.rows
    .map((r, i) => `<tr${muted.has(i) ? ' class="baseline"' : ''}>${r.map((cell, c) => `<td class="${c > 0 && numeric(cell) !== undefined ? 'num' : ''}${best[c] !== undefined && numeric(cell) === best[c] ? ' best' : ''}">${esc(cell)}</td>`).join('')}</tr>`)
    .join('');
  return `<table class="${table.bestPerColumn ? 'results' : 'plain'}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function samplesSection(data: ReportData): string {
  if (data.samples.length === 0) return '';
  const filled = data.samples.filter((s) => s.total > 0);
  const empty = data.samples.filter((s) => s.total === 0).map((s) => `<span class="mono">${esc(`${s.nodeId}.${s.port}`)}</span>`);
  const emptyNote = empty.length > 0 ? `<p class="muted">Empty outputs: ${empty.join(', ')}</p>` : '';
  return `<section class="card" id="samples"><h2>Sample rows</h2>${filled.map(sampleBlock).join('')}${emptyNote}</section>`;
}

function cellText(value: Json | undefined): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function sampleBlock(sample: ReportSample): string {
  const title = `${sample.nodeId}.${sample.port}`;
  const meta = `${count(sample.total)} rows${sample.kind ? ` of ${sample.kind}` : ''}`;
  const head = sample.columns.map((c) => `<th>${esc(c)}</th>`).join('');
  const body = sample.rows.map((row: Row) => `<tr>${sample.columns.map((c) => `<td>${esc(cellText(row[c]))}</td>`).join('')}</tr>`).join('');
  return `<div class="sample"><h3>${esc(title)} <span class="muted">· ${esc(meta)}, first ${sample.rows.length}</span></h3><div class="table-wrap"><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div></div>`;
}
