/**
 * Gathers everything a run report shows from the cache: the last run (of a pipeline, or of any), its node history,
 * the stored node runs (outputs, stats) and the pipeline's DAG.
 */
import type { Store } from '../../cache/store.js';
import type { Digest, NodeKey, Row } from '../json.js';
import type { NodeRegistry } from '../registry.js';
import { RunStore, type HistoryRow, type NodeRunRecord, type OutputRecord } from '../run-store.js';
import { parseRows } from '../values.js';
import { redactDeep, secretRedactor } from './redact.js';
import { runGraph, type RunGraph } from './run-graph.js';
import type { NodeReportView } from '../node-type.js';
import type { ReportData, ReportEdge, ReportNode, ReportNodeSection, ReportNodeState, ReportOutput, ReportRun, ReportSample, ReportSpendPoint, ReportTotals } from './types.js';
import { cleanCurve, llmSpend, scalarValues } from './values.js';

export interface CollectOptions {
  store: Store;
  registry: NodeRegistry;
  /** Absolute path of a pipeline file: report its last run rather than the last run of any pipeline. */
  pipelineFile?: string;
  /** Report this run (an id or the start of one, as `synthcse runs` shows it). */
  runId?: string;
  /** Rows shown per dataset output. */
  sampleRows?: number;
  env?: NodeJS.ProcessEnv;
}

export class NoRunError extends Error {}

const SAMPLE_ROWS = 5;
/** Longer strings in sample rows are cut: the report is for looking, `synthcse export` is for the data. */
const SAMPLE_CELL_CHARS = 400;

export async function collectReport(options: CollectOptions): Promise<ReportData> {
  const runs = new RunStore(options.store);
  const found = options.runId === undefined ? undefined : runs.findRun(options.runId);
  if (found === 'ambiguous') throw new NoRunError(`Several runs start with "${options.runId}"; give more of the id (synthcse runs lists them).`);
  if (options.runId !== undefined && found === undefined) throw new NoRunError(`No run ${options.runId} is recorded in this cache (synthcse runs lists them).`);
  const latest = found ?? runs.latestRun(options.pipelineFile);
  if (!latest) throw new NoRunError(options.pipelineFile ? `No run of ${options.pipelineFile} is recorded in this cache.` : 'No runs are recorded in this cache yet.');
  const argvRow = runs.db.prepare('SELECT argv FROM runs WHERE run_id = ?').get(latest.runId) as { argv: string } | undefined;
  const argv = argvRow ? (JSON.parse(argvRow.argv) as string[]) : [];

  const history = new Map<string, HistoryRow>(runs.history(latest.runId).map((h) => [h.nodeId, h]));
  const recorded = new Map<string, { type: string; history: HistoryRow; record?: NodeRunRecord }>();
  for (const [id, h] of history) {
    const usable = h.state === 'cached' || h.state === 'ran' || h.state === 'partial';
    recorded.set(id, { type: h.type, history: h, record: usable ? runs.getRun(h.key as NodeKey) : undefined });
  }
  const graph = await runGraph(options.registry, { pipelineFile: latest.pipeline, variant: latest.variant, argv }, recorded);
  const notes: string[] = [];
  if (graph.inferredBecause) notes.push(`The DAG was inferred from the recorded inputs because ${graph.inferredBecause}.`);
  const missing = [...history.keys()].filter((id) => !graph.nodes.has(id));
  if (missing.length > 0) notes.push(`The pipeline file changed since this run: ${missing.join(', ')} ran but are no longer in it.`);
  if (latest.status === 'running') notes.push('This run never recorded its end: it was killed, or is still running.');

  const outputOf = (id: string, port: string): OutputRecord | undefined => recorded.get(id)?.record?.outputs[port];
  const edges: ReportEdge[] = [];
  // Level order, not the order nodes were recorded in (which follows finish times), so the list is stable.
  for (const node of graph.levels.flat().map((id) => graph.nodes.get(id)!)) {
    for (const input of node.inputs) {
      const output = outputOf(input.from, input.fromPort);
      edges.push({
        from: input.from,
        fromPort: input.fromPort,
        to: node.id,
        toPort: input.port,
        kind: graph.nodes.get(input.from)?.outputKinds[input.fromPort] ?? null,
        rows: output?.form === 'rows' ? output.count : null,
      });
    }
  }

  const nodes = [...new Set([...graph.levels.flat(), ...history.keys()])].map((id) => reportNode(id, graph, recorded.get(id), edges));
  markUnrecorded(nodes, graph, latest.status === 'running');
  const samples = datasets(options.store, nodes, recorded, options.sampleRows ?? SAMPLE_ROWS, notes);
  const sections = nodeSections(options.store, options.registry, nodes, recorded, notes);
  const curves = nodes.flatMap((node) =>
    Object.entries(recorded.get(node.id)?.record?.stats.curves ?? {}).map(([name, points]) => {
      const title = options.registry.type(node.type)?.curveTitles?.[name];
      return { nodeId: node.id, name, ...(title === undefined ? {} : { title }), points: cleanCurve(points) };
    }),
  );

  const run: ReportRun = {
    runId: latest.runId,
    pipelineFile: latest.pipeline,
    pipelineName: graph.name,
    variant: latest.variant,
    status: latest.status,
    started: latest.started,
    finished: latest.finished,
    argv,
  };
  const lastActivity = Math.max(latest.started, ...[...history.values()].map((h) => h.at));
  const spendOverTime = llmSpendOverTime(options.store, latest.started, run.finished ?? lastActivity, new Set(nodes.filter((n) => n.state === 'ran' || n.state === 'partial' || n.state === 'failed' || n.state === 'interrupted').map((n) => n.id)));
  const data: ReportData = { generatedAt: Date.now(), run, totals: totals(run, nodes, lastActivity), nodes, edges, levels: graph.levels, curves, sections, spendOverTime, samples, notes };
  return redactDeep(data, secretRedactor(options.env));
}

/**
 * The engine records no history row for a node that never got a key: one skipped because an upstream did not
 * deliver, or, in a killed run, one that was still running (its inputs were all there) or waiting.
 */
function markUnrecorded(nodes: ReportNode[], graph: RunGraph, killed: boolean): void {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const blocked = new Set<ReportNodeState>(['failed', 'interrupted', 'skipped']);
  const delivered = new Set<ReportNodeState>(['ran', 'cached', 'partial']);
  for (const id of graph.levels.flat()) {
    const node = byId.get(id);
    if (!node || node.state !== 'not-run') continue;
    const upstream = (graph.nodes.get(id)?.inputs ?? []).map((i) => byId.get(i.from)?.state ?? 'not-run');
    if (killed && upstream.every((state) => delivered.has(state))) node.state = 'interrupted';
    else if (upstream.some((state) => blocked.has(state))) node.state = 'skipped';
  }
}

function reportNode(id: string, graph: RunGraph, recorded: { type: string; history: HistoryRow; record?: NodeRunRecord } | undefined, edges: readonly ReportEdge[]): ReportNode {
  const graphNode = graph.nodes.get(id);
  const history = recorded?.history;
  const record = recorded?.record;
  const outputs: ReportOutput[] = Object.entries(record?.outputs ?? {}).map(([port, output]) => ({
    port,
    kind: graphNode?.outputKinds[port] ?? null,
    form: output.form,
    rows: output.form === 'rows' ? output.count : null,
    meta: output.form === 'file' ? output.meta : null,
  }));
  const rowInputs = edges.filter((e) => e.to === id && e.rows !== null);
  const rowOutputs = outputs.filter((o) => o.rows !== null);
  const stats = record?.stats;
  return {
    id,
    type: history?.type ?? graphNode?.type ?? '',
    state: history?.state ?? 'not-run',
    ms: history?.ms ?? 0,
    originalMs: history?.state === 'cached' && record ? record.ms : null,
    items: { cached: history?.itemsCached ?? 0, ran: history?.itemsRan ?? 0, failed: history?.itemsFailed ?? 0 },
    failureReasons: history?.failureReasons ?? {},
    rowsIn: rowInputs.length > 0 ? rowInputs.reduce((s, e) => s + e.rows!, 0) : null,
    rowsOut: rowOutputs.length > 0 ? rowOutputs.reduce((s, o) => s + o.rows!, 0) : null,
    outputs,
    removed: stats?.removed ?? {},
    llm: llmSpend(stats?.values?.llm),
    values: scalarValues(stats?.values),
    reused: history?.state === 'cached',
  };
}

function totals(run: ReportRun, nodes: readonly ReportNode[], lastActivity: number): ReportTotals {
  const spentNow = nodes.filter((n) => n.llm && !n.reused);
  const sum = (list: readonly ReportNode[], pick: (n: ReportNode) => number) => list.reduce((s, n) => s + pick(n), 0);
  const end = run.finished ?? lastActivity;
  return {
    ms: Math.max(0, end - run.started),
    costUsd: sum(spentNow, (n) => n.llm!.costUsd),
    cacheSavingsUsd: sum(spentNow, (n) => n.llm!.cacheSavingsUsd),
    inputTokens: sum(spentNow, (n) => n.llm!.inputTokens),
    outputTokens: sum(spentNow, (n) => n.llm!.outputTokens),
    costUsdAllResults: sum(nodes, (n) => n.llm?.costUsd ?? 0),
  };
}

/** Sample rows of every rows output. */
function datasets(store: Store, nodes: readonly ReportNode[], recorded: ReadonlyMap<string, { record?: NodeRunRecord }>, sampleRows: number, notes: string[]): ReportSample[] {
  const samples: ReportSample[] = [];
  for (const node of nodes) {
    const record = recorded.get(node.id)?.record;
    if (!record) continue;
    for (const output of node.outputs) {
      const stored = record.outputs[output.port];
      if (stored?.form !== 'rows') continue;
      const rows = headRows(store, stored.digest, sampleRows);
      if (rows === undefined) {
        notes.push(`The rows of ${node.id}.${output.port} are no longer in the cache (removed by gc?).`);
        continue;
      }
      samples.push(sample(node.id, output, rows, stored.count));
    }
  }
  return samples;
}

/** The sections each node's type contributes about it (results tables, removals, yields...). */
function nodeSections(store: Store, registry: NodeRegistry, nodes: readonly ReportNode[], recorded: ReadonlyMap<string, { record?: NodeRunRecord }>, notes: string[]): ReportNodeSection[] {
  const sections: ReportNodeSection[] = [];
  for (const node of nodes) {
    const record = recorded.get(node.id)?.record;
    const type = registry.type(node.type);
    if (!record || !type?.report) continue;
    const view: NodeReportView = {
      params: record.record.params,
      stats: record.stats,
      rows: (port, n) => {
        const stored = record.outputs[port];
        return stored?.form === 'rows' ? headRows(store, stored.digest, n) : undefined;
      },
    };
    try {
      for (const section of type.report(view)) sections.push({ nodeId: node.id, ...section });
    } catch (error) {
      notes.push(`The ${node.type} node type could not describe ${node.id}: ${(error as Error).message}`);
    }
  }
  return sections;
}

/** Cumulative LLM cost and requests of the run's own nodes, from the answers stored while it ran. */
function llmSpendOverTime(store: Store, started: number, ended: number, nodeIds: ReadonlySet<string>): ReportSpendPoint[] {
  if (nodeIds.size === 0) return [];
  if (store.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'llm_responses'`).get() === undefined) return [];
  const ids = [...nodeIds];
  const rows = store.db
    .prepare(`SELECT created, cost_usd FROM llm_responses WHERE created >= ? AND created <= ? AND node_id IN (${ids.map(() => '?').join(',')}) ORDER BY created`)
    .all(started, ended + 1000, ...ids) as { created: number; cost_usd: number }[];
  const points: ReportSpendPoint[] = [{ t: 0, costUsd: 0, requests: 0 }];
  let cost = 0;
  rows.forEach((row, i) => {
    cost += row.cost_usd;
    points.push({ t: Math.max(0, (row.created - started) / 1000), costUsd: cost, requests: i + 1 });
  });
  return rows.length > 0 ? points : [];
}

/** The first `n` rows of a stored rows value (the JSONL is cut before parsing: datasets can be large). */
function headRows(store: Store, digest: Digest, n: number): Row[] | undefined {
  let bytes: Buffer;
  try {
    bytes = store.getBytes(digest);
  } catch {
    return undefined;
  }
  let end = 0;
  for (let i = 0; i < n && end < bytes.length; i++) {
    const next = bytes.indexOf(0x0a, end);
    end = next < 0 ? bytes.length : next + 1;
  }
  return parseRows(bytes.subarray(0, end));
}

function sample(nodeId: string, output: ReportOutput, rows: Row[], total: number): ReportSample {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cut = (value: unknown): unknown => (typeof value === 'string' && value.length > SAMPLE_CELL_CHARS ? value.slice(0, SAMPLE_CELL_CHARS) + '…' : value);
  const shown = rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, cut(v)])) as Row);
  return { nodeId, port: output.port, kind: output.kind, total, columns, rows: shown };
}
