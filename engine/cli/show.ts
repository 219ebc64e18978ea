import { copyFileSync, writeFileSync } from 'node:fs';
import { extname, resolve, sep } from 'node:path';
import type { Store } from '../../cache/store.js';
import type { Row } from '../json.js';
import type { NodeKey } from '../json.js';
import { RunStore, type OutputRecord } from '../run-store.js';
import { loadValue } from '../values.js';
import { parseCommandArgs, usageError } from './args.js';
import { findCacheDir, openExistingStore } from './cache-dir.js';
import { builtinRegistry } from './registry.js';

const SHOW_USAGE = 'synthcse show NODE [--head N] [--port P] [--pipeline FILE] [--cache DIR]';
const EXPORT_USAGE = 'synthcse export NODE --out FILE|DIR/ [--port P] [--pipeline FILE] [--cache DIR]';

/** The latest successful output of a node id (from the most recent run that produced it). */
export function nodeOutput(store: Store, nodeId: string, port: string | undefined, pipeline: string | undefined, usage: string): { output: OutputRecord; port: string; type: string } {
  const runs = new RunStore(store);
  const latest = runs.latestNode(nodeId, pipeline ? resolve(pipeline) : undefined);
  if (!latest) throw usageError(`No finished output of node "${nodeId}" in this cache.`, usage);
  const run = runs.getRun(latest.key as NodeKey);
  if (!run) throw usageError(`The output of node "${nodeId}" is no longer in the cache (removed by gc?). Run its pipeline again.`, usage);
  const ports = Object.keys(run.outputs);
  // A node with several outputs usually fills one (annotate: triplets or pairs): that one is meant.
  const filled = ports.filter((p) => hasContent(run.outputs[p]!));
  const chosen = port ?? (ports.length === 1 ? ports[0]! : filled.length === 1 ? filled[0]! : undefined);
  if (chosen === undefined || !run.outputs[chosen]) {
    const described = ports.map((p) => `${p} (${describeOutput(run.outputs[p]!)})`);
    throw usageError(`Node "${nodeId}" has outputs ${described.join(', ')}; pick one with --port.`, usage);
  }
  return { output: run.outputs[chosen]!, port: chosen, type: run.type };
}

function hasContent(output: OutputRecord): boolean {
  return output.form === 'file' || output.count > 0;
}

function describeOutput(output: OutputRecord): string {
  return output.form === 'file' ? 'file' : `${output.count} rows`;
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('show', argv, { head: { type: 'string' }, port: { type: 'string' }, pipeline: { type: 'string' }, cache: { type: 'string' }, json: { type: 'boolean' } }, SHOW_USAGE);
  const nodeId = positionals[0];
  if (nodeId === undefined) throw usageError('show takes a node id.', SHOW_USAGE);
  const store = openExistingStore(findCacheDir({ cache: values.cache, pipeline: values.pipeline }, SHOW_USAGE), SHOW_USAGE);
  const { output, port } = nodeOutput(store, nodeId, values.port, values.pipeline, SHOW_USAGE);
  const value = loadValue(store, output);
  if (value.form === 'file') {
    process.stdout.write(`${nodeId}.${port}: file ${value.path}\n${JSON.stringify(value.meta, null, 2)}\n`);
    return 0;
  }
  const head = values.head === undefined ? 10 : Number(values.head);
  // Only the first rows are read: a dataset can be far larger than memory needs to be.
  const rows: Row[] = [];
  if (head > 0) {
    for await (const row of value.stream()) {
      rows.push(row);
      if (rows.length >= head) break;
    }
  }
  if (values.json) {
    for (const row of rows) process.stdout.write(JSON.stringify(row) + '\n');
    return 0;
  }
  process.stdout.write(`${nodeId}.${port}: ${value.count} rows (digest ${value.digest.slice(0, 12)})\n`);
  for (const row of rows) {
    process.stdout.write(
      Object.entries(row)
        .map(([k, v]) => `  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join('\n') + '\n  --\n',
    );
  }
  return 0;
}

export async function exportMain(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('export', argv, { out: { type: 'string' }, port: { type: 'string' }, pipeline: { type: 'string' }, cache: { type: 'string' } }, EXPORT_USAGE);
  const nodeId = positionals[0];
  if (nodeId === undefined || values.out === undefined) throw usageError('export takes a node id and --out FILE.', EXPORT_USAGE);
  const store = openExistingStore(findCacheDir({ cache: values.cache, pipeline: values.pipeline }, EXPORT_USAGE), EXPORT_USAGE);
  const { output, port, type } = nodeOutput(store, nodeId, values.port, values.pipeline, EXPORT_USAGE);
  const value = loadValue(store, output);
  if (value.form === 'file' && (values.out.endsWith('/') || values.out.endsWith(sep))) {
    // A folder: the output kind (declared with the node types, like a plugin's) knows how to lay its file out.
    const registry = await builtinRegistry();
    const kind = registry.type(type)?.outputs[port]?.kind;
    const spec = kind === undefined ? undefined : registry.kind(kind);
    if (!spec?.exportFolder) throw usageError(`${nodeId}'s ${port} (${kind ?? 'unknown kind'}) cannot be written as a folder; give a file name.`, EXPORT_USAGE);
    try {
      await spec.exportFolder(value.path, value.meta, values.out);
    } catch (error) {
      throw usageError((error as Error).message, EXPORT_USAGE);
    }
    process.stderr.write(`Wrote ${values.out} (${nodeId}'s ${port} as a folder).\n`);
    return 0;
  }
  if (value.form === 'file') {
    copyFileSync(value.path, values.out);
    process.stderr.write(`Wrote ${values.out} (${nodeId}'s ${String(value.meta.format ?? 'file')}).\n`);
    return 0;
  }
  const ext = extname(values.out).toLowerCase();
  if (!['.jsonl', '.csv', '.tsv'].includes(ext)) throw usageError(`Unknown export format "${ext}": use .jsonl, .csv or .tsv.`, EXPORT_USAGE);
  writeFileSync(values.out, formatRows(value.rows, ext));
  process.stderr.write(`Wrote ${value.rows.length} rows to ${values.out}.\n`);
  return 0;
}

export function formatRows(rows: readonly Row[], ext: string): string {
  if (ext === '.jsonl') return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v));
  if (ext === '.tsv') {
    const clean = (v: unknown) => cell(v).replace(/[\t\n\r]/g, ' ');
    return [columns.join('\t'), ...rows.map((r) => columns.map((c) => clean(r[c])).join('\t'))].join('\n') + '\n';
  }
  const quote = (v: unknown) => {
    const s = cell(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [columns.map(quote).join(','), ...rows.map((r) => columns.map((c) => quote(r[c])).join(','))].join('\n') + '\n';
}
