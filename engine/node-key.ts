/**
 * Planning one node's key: the record of everything its output depends on (type, version, keyed parameters,
 * upstream output digests, file contents, the LLM service, the type's code), built from the planned node and its
 * upstream outcomes. Nothing here runs node code.
 */
import { relative } from 'node:path';
import { digestJson, type Digest, type Json, type NodeKey } from './json.js';
import { FileDigests, KEY_FORMAT, nodeKey, type ItemScope, type NodeKeyRecord } from './keys.js';
import type { LlmServiceKey } from './llm/types.js';
import type { PipelineGraph, PlannedNode } from './pipeline/graph.js';

export interface PlannedKey {
  key: NodeKey;
  record: NodeKeyRecord;
  /** The files' names relative to the pipeline folder, beside the record, so explanations can name them. */
  fileNames: string[];
}

/** The key of a node given its upstream output digests by input port; a user-facing problem when a file is unreadable. */
export async function planKey(
  graph: PipelineGraph,
  node: PlannedNode,
  inputDigests: Record<string, Digest>,
  fileDigests: FileDigests,
  llm: LlmServiceKey | undefined,
): Promise<PlannedKey | { problem: string }> {
  let files: Digest[];
  try {
    files = await Promise.all(node.files.map((f) => fileDigests.digest(f)));
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    const missing = node.files.find((f) => err.path === f) ?? err.path ?? node.files[0] ?? '';
    return { problem: err.code === 'ENOENT' ? `file ${missing} does not exist` : err.code === 'EISDIR' ? `${missing} is a folder, not a file` : `cannot read ${missing} (${err.code ?? err.message})` };
  }
  const record: NodeKeyRecord = {
    keyFormat: KEY_FORMAT,
    type: node.type.type,
    version: node.type.version,
    params: node.params,
    inputs: inputDigests,
    files,
    listings: node.probes.flatMap((p) => (p.kind === 'listing' ? [p.names] : [])),
    llm: node.type.uses?.llm ? (llm ?? null) : null,
    code: node.type.code ?? null,
  };
  return { key: nodeKey(record), record, fileNames: node.files.map((f) => relative(graph.pipeline.dir, f)) };
}

/** The scope the node's items are keyed in: one version knob per node type, and the LLM endpoint for LLM nodes. */
export function itemScope(record: NodeKeyRecord): ItemScope {
  return { type: record.type, version: record.version, llm: record.llm, code: record.code === null ? null : digestJson(record.code as unknown as Json) };
}
