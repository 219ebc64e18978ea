/**
 * filter: deterministic, composable row rules applied in the listed order; each rule's removals are logged and
 * recorded in ctx.stats.removed (as "<step>.<reason>", e.g. "2.words:too-long"), and additions in stats.values.
 *
 * Ports: exactly one of the inputs `sentences`, `pairs`, `triplets` (triplets accepts scored-triplets) is
 * connected; the output of the same name carries the filtered rows (extra fields such as scores ride along), the
 * other outputs are empty. `model` is needed only by the `embedding` rule.
 */
import { z } from 'zod';
import { defineNode, NodeUserError, type PortValue } from '../engine/node-type.js';
import type { Row } from '../engine/json.js';
import { FilterRule, applyRule, type ApplyHooks } from './filters/index.js';
import type { RowKind } from './prompts/rows.js';

export const FilterParams = z.strictObject({
  rules: z.array(FilterRule).min(1),
});
export type FilterParams = z.output<typeof FilterParams>;

/** Operational settings: they change speed and memory, never the rows, so they are not keyed. */
export const FilterOptions = z.strictObject({
  /** Triplets the embedding rule encodes at once. */
  embedding_batch_size: z.number().int().min(1).max(100000).default(256),
});

function connected(inputs: Record<RowKind, PortValue | undefined>): { kind: RowKind; rows: Row[] } {
  const given = (Object.keys(inputs) as RowKind[]).filter((k) => inputs[k] !== undefined);
  if (given.length !== 1) {
    throw new NodeUserError(`connect exactly one of the inputs sentences, pairs, triplets (got ${given.length === 0 ? 'none' : given.join(', ')})`);
  }
  const kind = given[0]!;
  const value = inputs[kind]!;
  if (value.form !== 'rows') throw new NodeUserError(`input ${kind} is not a rows value`);
  return { kind, rows: value.rows };
}

/** Test hook: lets tests replace the encoder loader without an engine. */
export const filterHooks: ApplyHooks = {};

export const filter = defineNode({
  type: 'filter',
  version: 1,
  description: 'Deterministic row filters: trim, refusals, identical, dedupe, words, dino-postprocess, self-curation, embedding.',
  params: FilterParams,
  options: FilterOptions,
  inputs: {
    sentences: { kind: 'sentences', optional: true },
    pairs: { kind: 'pairs', optional: true },
    triplets: { kind: ['triplets', 'scored-triplets'], optional: true },
    model: { kind: 'model', optional: true, description: 'encoder for the embedding rule' },
  },
  outputs: {
    sentences: { kind: 'sentences' },
    pairs: { kind: 'pairs' },
    triplets: { kind: 'triplets', description: 'triplets (scores ride along when the input was scored)' },
  },
  cheap: true,
  report(view) {
    const removed = Object.entries(view.stats.removed ?? {});
    if (removed.length === 0) return [];
    const examples = (view.stats.values?.removed_examples ?? {}) as Record<string, Row[]>;
    const rules = [...new Set(removed.map(([reason]) => reason.split('.')[0]!))];
    const rows = rules.map((n) => {
      const reasons = removed.filter(([reason]) => reason.split('.')[0] === n);
      const shown = Object.entries(examples).find(([rule]) => rule.split('.')[0] === n);
      return [
        shown ? shown[0] : `${n}.${reasons[0]![0].split('.').slice(1).join('.')}`,
        reasons.map(([reason, count]) => `${count} ${reason.split('.').slice(1).join('.')}`).join(', '),
        (shown?.[1] ?? []).map(rowText).join('\n') || '–',
      ];
    });
    return [{ title: 'Rows removed by each rule', text: `The first ${EXAMPLES_PER_RULE} rows each rule removed, as they were before it.`, tables: [{ header: ['rule', 'removed', 'examples'], rows }] }];
  },
  async run(inputs, params, ctx) {
    const { kind, rows: input } = connected({ sentences: inputs.sentences, pairs: inputs.pairs, triplets: inputs.triplets });
    const model = inputs.model !== undefined && inputs.model.form === 'file' ? inputs.model : undefined;
    let rows = input;
    const removed: Record<string, number> = {};
    const examples: Record<string, Row[]> = {};
    let added = 0;
    for (const [i, rule] of params.rules.entries()) {
      const before = rows.length;
      let outcome;
      try {
        outcome = await applyRule(rows, rule, { kind, model, log: ctx.log, signal: ctx.signal, batchSize: ctx.options.embedding_batch_size }, filterHooks);
      } catch (error) {
        // Point the diagnostic at the rule in the list, not at `rules` as a whole.
        if (error instanceof NodeUserError && error.param?.length === 1 && error.param[0] === 'rules') {
          throw new NodeUserError(`rule ${i + 1} (${rule.rule}): ${error.message}`, ['rules', i], error.hint);
        }
        throw error;
      }
      const dropped = removedRows(rows, outcome.rows, EXAMPLES_PER_RULE);
      if (dropped.length > 0) examples[`${i + 1}.${rule.rule}`] = dropped;
      rows = outcome.rows;
      for (const [reason, n] of Object.entries(outcome.removed)) removed[`${i + 1}.${reason}`] = n;
      added += outcome.added ?? 0;
      ctx.log.info(`filter ${i + 1} ${rule.rule}: ${before} → ${rows.length} rows`);
    }
    ctx.stats.removed = { ...ctx.stats.removed, ...removed };
    ctx.stats.values = { ...ctx.stats.values, input_rows: input.length, output_rows: rows.length, added_rows: added, removed_examples: examples };
    return { sentences: kind === 'sentences' ? rows : [], pairs: kind === 'pairs' ? rows : [], triplets: kind === 'triplets' ? rows : [] };
  },
});

const EXAMPLES_PER_RULE = 3;
const EXAMPLE_CHARS = 200;

/** One row as text for the report: its string fields joined (anchor | positive | negative). */
function rowText(row: Row): string {
  return Object.values(row)
    .filter((v) => typeof v === 'string')
    .join(' | ');
}

/**
 * Up to `n` rows of `before` that a rule dropped. Rules that also rewrite rows (trim, a swap) are matched on their
 * normalised text; when that cannot tell removed from rewritten rows, no example is claimed.
 */
function removedRows(before: readonly Row[], after: readonly Row[], n: number): Row[] {
  const dropped = before.length - after.length;
  if (dropped <= 0) return [];
  const kept = new Set(after);
  let missing = before.filter((row) => !kept.has(row));
  if (missing.length !== dropped) {
    const norm = (row: Row) => rowText(row).toLowerCase().replace(/\s+/g, ' ').trim();
    const keptText = new Set(after.map(norm));
    missing = before.filter((row) => !keptText.has(norm(row)));
    if (missing.length !== dropped) return [];
  }
  return missing.slice(0, n).map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'string' && v.length > EXAMPLE_CHARS ? `${v.slice(0, EXAMPLE_CHARS)}…` : v])));
}
