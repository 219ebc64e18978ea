/** What the executor reports for each node, and how node failures become diagnostics with a pipeline location. */
import { StoreError } from '../cache/store.js';
import { DiagnosticError, type Diagnostic } from './diagnostics.js';
import type { ItemTotals } from './items.js';
import type { NodeKey } from './json.js';
import type { NodeKeyRecord } from './keys.js';
import { LlmEndpointError } from './llm/types.js';
import { NodeUserError, type NodeEstimate, type NodeStats } from './node-type.js';
import type { PipelineGraph, PlannedNode } from './pipeline/graph.js';
import type { NodeState, OutputRecord } from './run-store.js';
import { isWriteFailure, WRITE_FAILURE_HINT } from './write-failure.js';

export type OutcomeState = NodeState | 'will-run' | 'blocked';

export interface NodeOutcome {
  id: string;
  type: string;
  state: OutcomeState;
  key?: NodeKey;
  record?: NodeKeyRecord;
  /** What changed since this node's last run in this pipeline and variant. */
  explain: string[];
  ms: number;
  items: ItemTotals;
  outputs?: Record<string, OutputRecord>;
  stats?: NodeStats;
  estimate?: NodeEstimate;
  diagnostic?: Diagnostic;
}

/** A node whose key is known: everything a run or a cache hit needs besides its state. */
export type KeyedOutcome = Omit<NodeOutcome, 'state'> & { key: NodeKey; record: NodeKeyRecord };

export function nodeDiagnostic(graph: PipelineGraph, node: PlannedNode, message: string, param?: readonly (string | number)[], hint?: string): Diagnostic {
  return {
    severity: 'error',
    reason: 'node-failed',
    message: `Node "${node.id}" (${node.type.type}@${node.type.version}): ${message}`,
    location: graph.pipeline.locations.find(['nodes', node.id, ...(param ? ['with', ...param] : [])]),
    hint,
  };
}

export function errorDiagnostic(graph: PipelineGraph, node: PlannedNode, error: unknown): Diagnostic {
  if (error instanceof NodeUserError) return nodeDiagnostic(graph, node, error.message, error.param, error.hint);
  if (error instanceof LlmEndpointError) return { ...nodeDiagnostic(graph, node, error.message, undefined, error.hint), reason: 'llm-unreachable' };
  if (error instanceof StoreError) return { ...nodeDiagnostic(graph, node, error.message, undefined, error.hint), reason: 'cache-problem' };
  if (error instanceof DiagnosticError) return error.diagnostics[0]!;
  const err = error as NodeJS.ErrnoException;
  if (isWriteFailure(err)) {
    return { ...nodeDiagnostic(graph, node, `the cache could not be written (${err.code}): ${err.message}`, undefined, WRITE_FAILURE_HINT), reason: 'cache-problem' };
  }
  if (err && (err.code === 'EACCES' || err.code === 'EROFS')) {
    return {
      ...nodeDiagnostic(graph, node, `cannot write: ${err.message}`, undefined, 'Check the permissions of the cache directory, then run again.'),
      reason: 'cache-problem',
    };
  }
  const message = err instanceof Error ? err.message : String(error);
  const detail = process.env.SYNTHCSE_DEBUG ? `\n${(err as Error)?.stack ?? ''}` : '';
  return nodeDiagnostic(graph, node, `${message}${detail}`, undefined, process.env.SYNTHCSE_DEBUG ? undefined : 'This looks like a bug in the node type; set SYNTHCSE_DEBUG=1 for the stack trace and report it.');
}

/** Failed items as a share of the items the node had (0 when it had none). */
export function failureShare(items: ItemTotals): number {
  const total = items.cached + items.ran + items.failed;
  return total === 0 ? 0 : items.failed / total;
}

export function percent(share: number): string {
  return `${Number((share * 100).toFixed(1))}%`;
}

export function failedItemsMessage(outcome: NodeOutcome, allowed: number): string {
  const share = failureShare(outcome.items);
  const verdict = share <= allowed ? `within its max_failed of ${percent(allowed)}` : `more than its max_failed of ${percent(allowed)}: nodes that read it do not run`;
  return `${outcome.items.failed} item(s) failed (${percent(share)}, ${verdict}).`;
}

export function writeFailure(error: unknown): StoreError {
  const err = error as NodeJS.ErrnoException;
  return new StoreError('write-failed', `The cache could not be written (${err.code ?? 'error'}): ${err.message}`, WRITE_FAILURE_HINT);
}
