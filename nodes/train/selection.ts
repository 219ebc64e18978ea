/**
 * Model selection during training, kept apart from the figures a pipeline reports.
 *
 *   stsb-dev        STS-B dev Spearman (SimCSE's default metric_for_best_model, stsb_spearman);
 *   stsb-sickr-dev  the mean of STS-B dev and SICK-R dev (SimCSE's avg_sts);
 *   holdout         a seeded, label-stratified 10% of the training rows, held out of training and scored with the
 *                   training objective's own labels, so no human STS label picks the model (as DINO does);
 *   last            no selection: the last step is kept.
 *
 * Selection needs only a function that embeds sentences, so every encoder uses the same code.
 */
import type { Row } from '../../engine/json.js';
import { NodeUserError } from '../../engine/node-type.js';
import { cosineSimilarity } from '../encoders/cosine.js';
import { spearman } from '../sts/spearman.js';
import type { ObjectiveName } from './objectives.js';
import { Rng } from './rng.js';

export const SELECT_METHODS = ['stsb-dev', 'stsb-sickr-dev', 'holdout', 'last'] as const;
export type SelectMethod = (typeof SELECT_METHODS)[number];

/** Sentence pairs with gold scores; the selection score is the mean Spearman × 100 over a selection's sets. */
export interface SelectionSet {
  name: string;
  sentence1: string[];
  sentence2: string[];
  gold: Float64Array;
}

export type EmbedSentences = (sentences: readonly string[]) => Float32Array[];

export interface ScoredPair {
  sentence1: string;
  sentence2: string;
  score: number;
}

export function selectionSet(name: string, pairs: readonly ScoredPair[]): SelectionSet {
  return {
    name,
    sentence1: pairs.map((p) => p.sentence1),
    sentence2: pairs.map((p) => p.sentence2),
    gold: Float64Array.from(pairs, (p) => p.score),
  };
}

export function setSpearman(set: SelectionSet, embed: EmbedSentences): number {
  const a = embed(set.sentence1);
  const b = embed(set.sentence2);
  const predicted = Float64Array.from(a, (v, i) => cosineSimilarity(v, b[i]!));
  return spearman(predicted, set.gold) * 100;
}

export function selectionScore(sets: readonly SelectionSet[], embed: EmbedSentences): number {
  let total = 0;
  for (const set of sets) total += setSpearman(set, embed);
  return total / sets.length;
}

/** The share of training rows `holdout` keeps out of training. */
export const HOLDOUT_FRACTION = 0.1;

/** The stratum of a row: its label for pairs; triplets carry their labels inside each row, so they form one stratum. */
function stratumOf(row: Row, objective: ObjectiveName): string {
  return objective === 'cosine-regression' ? String(row.label) : '';
}

/**
 * Splits training rows into the rows to train on and the held-out selection set. Each label stratum gives
 * round(10%) of its rows, chosen by `seed`; both parts keep the input order. Held-out pairs keep their label as the
 * gold score; a held-out triplet gives (anchor, positive) scored 1 and (anchor, its hard negative, or without one the next held-out
 * row's positive) scored 0: the labels the contrastive objective trains towards.
 */
export function holdoutSplit(rows: readonly Row[], objective: ObjectiveName, seed: number, fraction = HOLDOUT_FRACTION): { train: Row[]; heldOut: SelectionSet } {
  if (objective === 'simcse-unsup' || (objective === 'multicsr-masked' && rows.length > 0 && !('anchor' in rows[0]!))) {
    throw new NodeUserError(
      `select: holdout scores held-out rows with their labels, and ${objective} on sentences has none.`,
      ['select'],
      'Use select: stsb-dev (or stsb-sickr-dev, or last) for sentence-only training.',
    );
  }
  const strata = new Map<string, number[]>();
  rows.forEach((row, i) => {
    const key = stratumOf(row, objective);
    const list = strata.get(key) ?? [];
    list.push(i);
    strata.set(key, list);
  });
  const rng = new Rng(seed ^ 0x5e1ec7);
  const held = new Set<number>();
  for (const key of [...strata.keys()].sort()) {
    const members = strata.get(key)!;
    const take = Math.round(members.length * fraction);
    const order = rng.permutation(members.length);
    for (let k = 0; k < take; k++) held.add(members[order[k]!]!);
  }
  if (held.size < 2 || rows.length - held.size < 2) {
    throw new NodeUserError(
      `select: holdout needs at least 2 held-out and 2 training rows; ${rows.length} rows give ${held.size} held out.`,
      ['select'],
      'Train on more rows, or use select: stsb-dev.',
    );
  }
  const train: Row[] = [];
  const heldRows: Row[] = [];
  rows.forEach((row, i) => (held.has(i) ? heldRows : train).push(row));
  const pairs: ScoredPair[] = [];
  heldRows.forEach((row, i) => {
    if (objective === 'cosine-regression') {
      pairs.push({ sentence1: String(row.text_a), sentence2: String(row.text_b), score: Number(row.label) });
      return;
    }
    pairs.push({ sentence1: String(row.anchor), sentence2: String(row.positive), score: 1 });
    // The hard negative when the row has one, else another row's positive: InfoNCE's in-batch negative.
    const negative = typeof row.negative === 'string' && row.negative.trim() !== '' ? row.negative : String(heldRows[(i + 1) % heldRows.length]!.positive);
    pairs.push({ sentence1: String(row.anchor), sentence2: negative, score: 0 });
  });
  if (new Set(pairs.map((p) => p.score)).size < 2) {
    throw new NodeUserError(
      `select: holdout: every held-out pair has the label ${pairs[0]!.score}, so no ranking can be scored.`,
      ['select'],
      'Train on rows with at least two different labels, or use select: stsb-dev.',
    );
  }
  return { train, heldOut: selectionSet('holdout', pairs) };
}
