import { canonicalJson } from '../json.js';
import { buildGraph, type PipelineGraph, type PlannedNode } from '../pipeline/graph.js';
import { resolvePipeline } from '../pipeline/resolve.js';
import { asStrings, parseCommandArgs, usageError } from './args.js';
import { builtinRegistry } from './registry.js';

const USAGE = 'synthcse diff A.yaml [B.yaml] [--variant X] [--variant Y]';

/**
 * Compares two pipelines (or two variants of one) statically: a node is shared when its type, version, parameters
 * and files are the same and all its inputs come from shared nodes, so its cached result serves both.
 */
export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('diff', argv, { variant: { type: 'string', multiple: true }, set: { type: 'string', multiple: true } }, USAGE);
  const variants = asStrings(values.variant);
  const [fileA, fileB] = positionals;
  if (fileA === undefined) throw usageError('diff takes one or two pipeline files.', USAGE);
  const registry = await builtinRegistry();
  const load = async (file: string, variant: string | undefined) => {
    const pipeline = resolvePipeline(file, { variant, set: asStrings(values.set) });
    await registry.loadPlugins(pipeline.plugins);
    return buildGraph(pipeline, registry);
  };
  const a = await load(fileA, fileB === undefined ? variants[0] : variants[0]);
  const b = await load(fileB ?? fileA, fileB === undefined ? variants[1] : variants[1] ?? variants[0]);
  const labelA = `${fileA}${a.pipeline.variant ? `@${a.pipeline.variant}` : ''}`;
  const labelB = `${fileB ?? fileA}${b.pipeline.variant ? `@${b.pipeline.variant}` : ''}`;
  const result = comparePipelines(a, b);
  process.stdout.write(`Comparing ${labelA} with ${labelB}\n`);
  for (const row of result) process.stdout.write(`  ${row.node.padEnd(20)} ${row.status.padEnd(10)} ${row.detail}\n`);
  return 0;
}

export interface DiffRow {
  node: string;
  status: 'shared' | 'differs' | 'only-a' | 'only-b';
  detail: string;
}

export function comparePipelines(a: PipelineGraph, b: PipelineGraph): DiffRow[] {
  const shared = new Map<string, boolean>();
  const rows: DiffRow[] = [];
  const definition = (n: PlannedNode) => canonicalJson({ type: n.type.type, version: n.type.version, params: n.params, files: n.files });
  for (const id of a.order) {
    const na = a.nodes.get(id)!;
    const nb = b.nodes.get(id);
    if (!nb) {
      rows.push({ node: id, status: 'only-a', detail: `(${na.type.type}) only in the first` });
      shared.set(id, false);
      continue;
    }
    const reasons: string[] = [];
    if (na.type.type !== nb.type.type) reasons.push(`type ${na.type.type} → ${nb.type.type}`);
    else if (definition(na) !== definition(nb)) reasons.push('parameters or files differ');
    const inputsA = canonicalJson(na.inputs);
    const inputsB = canonicalJson(nb.inputs);
    if (inputsA !== inputsB) reasons.push('wired to different inputs');
    const changedUpstream = na.inputs.filter((i) => shared.get(i.from) === false).map((i) => i.from);
    if (changedUpstream.length > 0) reasons.push(`upstream differs (${changedUpstream.join(', ')}); reused if it yields identical data`);
    const same = reasons.length === 0;
    shared.set(id, same);
    rows.push({ node: id, status: same ? 'shared' : 'differs', detail: same ? `(${na.type.type}) cached result serves both` : reasons.join('; ') });
  }
  for (const id of b.order) if (!a.nodes.has(id)) rows.push({ node: id, status: 'only-b', detail: `(${b.nodes.get(id)!.type.type}) only in the second` });
  return rows;
}
