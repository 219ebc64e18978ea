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
  async run(inputs, params, ctx) {
    const { kind, rows: input } = connected({ sentences: inputs.sentences, pairs: inputs.pairs, triplets: inputs.triplets });
    const model = inputs.model !== undefined && inputs.model.form === 'file' ? inputs.model : undefined;
    let rows = input;
    const removed: Record<string, number> = {};
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
      rows = outcome.rows;
      for (const [reason, n] of Object.entries(outcome.removed)) removed[`${i + 1}.${reason}`] = n;
      added += outcome.added ?? 0;
      ctx.log.info(`filter ${i + 1} ${rule.rule}: ${before} → ${rows.length} rows`);
    }
    ctx.stats.removed = { ...ctx.stats.removed, ...removed };
    ctx.stats.values = { ...ctx.stats.values, input_rows: input.length, output_rows: rows.length, added_rows: added };
    return { sentences: kind === 'sentences' ? rows : [], pairs: kind === 'pairs' ? rows : [], triplets: kind === 'triplets' ? rows : [] };
  },
});
