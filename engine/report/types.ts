/** What a run report shows, gathered from the cache by collect.ts and turned into HTML by render.ts. */
import type { Json, Row } from '../json.js';
import type { ReportSection } from '../node-type.js';
import type { NodeState } from '../run-store.js';

/** A node of the pipeline that has no history row in the run: it waited on a failed upstream, or was not selected. */
export type ReportNodeState = NodeState | 'not-run';

export interface ReportRun {
  runId: string;
  pipelineFile: string;
  pipelineName: string;
  variant: string;
  /** ok, failed, interrupted, or running (a run killed without a chance to record its end). */
  status: string;
  started: number;
  finished: number | null;
  /** The command line after `synthcse`, secrets redacted. */
  argv: string[];
}

export interface ReportLlmSpend {
  provider: string;
  model: string;
  mode: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  costUsd: number;
  cacheSavingsUsd: number;
}

export interface ReportOutput {
  port: string;
  kind: string | null;
  form: 'rows' | 'file';
  /** Row count of a rows output. */
  rows: number | null;
  /** Metadata of a file output (model format, dimensions...). */
  meta: Record<string, Json> | null;
}

export interface ReportNode {
  id: string;
  type: string;
  state: ReportNodeState;
  ms: number;
  /** For a cached node: how long the run that computed it took. */
  originalMs: number | null;
  items: { cached: number; ran: number; failed: number };
  failureReasons: Record<string, number>;
  /** Sum of the row counts of the rows inputs; null when the node has none or they are unknown. */
  rowsIn: number | null;
  /** Sum of the row counts of the rows outputs; null when the node has none or produced nothing. */
  rowsOut: number | null;
  outputs: ReportOutput[];
  /** Rows removed by reason (filters). */
  removed: Record<string, number>;
  llm: ReportLlmSpend | null;
  /** Other scalar values the node reported (counts, backend), for the details column. */
  values: Record<string, string>;
  /** True when the spend and time were spent in an earlier run (this run reused the result). */
  reused: boolean;
}

export interface ReportEdge {
  from: string;
  fromPort: string;
  to: string;
  toPort: string;
  kind: string | null;
  rows: number | null;
}

export interface ReportCurve {
  nodeId: string;
  name: string;
  /** What the node type calls the curve (its curveTitles), when it names it. */
  title?: string;
  points: [number, number][];
}

export interface ReportTable {
  header: string[];
  rows: string[][];
}

/** A section a node type contributed about one node (see NodeTypeDefinition.report). */
export interface ReportNodeSection extends ReportSection {
  nodeId: string;
}

/** LLM spend of the run over time, from the answers it paid for. */
export interface ReportSpendPoint {
  /** Seconds since the run started. */
  t: number;
  /** Cumulative USD and requests at t. */
  costUsd: number;
  requests: number;
}

export interface ReportSample {
  nodeId: string;
  port: string;
  kind: string | null;
  total: number;
  columns: string[];
  rows: Row[];
}

export interface ReportTotals {
  /** Wall time of the run; for a run that never finished, up to the last node it recorded. */
  ms: number;
  /** LLM spend of nodes that ran in this run (reused results cost nothing now). */
  costUsd: number;
  cacheSavingsUsd: number;
  inputTokens: number;
  outputTokens: number;
  /** LLM spend behind every result shown, including reused ones. */
  costUsdAllResults: number;
}

export interface ReportData {
  generatedAt: number;
  run: ReportRun;
  totals: ReportTotals;
  nodes: ReportNode[];
  edges: ReportEdge[];
  /** Node ids by generation (every node's upstreams are in earlier levels). */
  levels: string[][];
  curves: ReportCurve[];
  /** Sections the nodes' types contributed, in pipeline order. */
  sections: ReportNodeSection[];
  spendOverTime: ReportSpendPoint[];
  samples: ReportSample[];
  /** Things the reader should know about the report itself (pipeline file changed since, graph inferred...). */
  notes: string[];
}
