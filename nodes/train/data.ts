/** Turns rows of the pipeline's kinds into the training sides each objective needs. */
import type { Row } from '../../engine/json.js';
import { NodeUserError } from '../../engine/node-type.js';
import type { ObjectiveName } from './objectives.js';

/**
 * Parallel sentence lists: texts[0] anchors, texts[1] positives (or the second view / pair member),
 * texts[2] hard negatives when present. For `views: 'dropout'` there is one list and the two views are made per step.
 */
export interface TrainingSet {
  texts: string[][];
  /** cosine-regression targets in [0, 1]. */
  labels?: Float32Array;
  views: 'given' | 'dropout';
}

function field(row: Row, name: string, index: number): string {
  const value = row[name];
  if (typeof value !== 'string' || value.trim() === '') {
    throw new NodeUserError(`Training row ${index + 1} has no text in field "${name}" (got ${JSON.stringify(value)}).`);
  }
  return value;
}

export function trainingSetFromRows(rows: readonly Row[], objective: ObjectiveName): TrainingSet {
  if (rows.length < 2) throw new NodeUserError(`Training needs at least 2 rows; the input has ${rows.length}.`);
  const first = rows[0]!;
  switch (objective) {
    case 'simcse-sup':
      if (!('anchor' in first)) throw new NodeUserError('simcse-sup trains on triplets {anchor, positive, negative}; the input rows have no "anchor".');
      return {
        texts: [rows.map((r, i) => field(r, 'anchor', i)), rows.map((r, i) => field(r, 'positive', i)), rows.map((r, i) => field(r, 'negative', i))],
        views: 'given',
      };
    case 'multicsr-masked':
      if ('anchor' in first) {
        const hasNegatives = rows.every((r) => typeof r.negative === 'string' && r.negative.trim() !== '');
        const texts = [rows.map((r, i) => field(r, 'anchor', i)), rows.map((r, i) => field(r, 'positive', i))];
        if (hasNegatives) texts.push(rows.map((r, i) => field(r, 'negative', i)));
        return { texts, views: 'given' };
      }
      return { texts: [rows.map((r, i) => field(r, 'text', i))], views: 'dropout' };
    case 'simcse-unsup':
      return { texts: [rows.map((r, i) => field(r, 'text' in first ? 'text' : 'anchor', i))], views: 'dropout' };
    case 'cosine-regression': {
      if (!('text_a' in first)) throw new NodeUserError('cosine-regression trains on pairs {text_a, text_b, label}; the input rows have no "text_a".');
      const labels = new Float32Array(rows.length);
      rows.forEach((r, i) => {
        const label = typeof r.label === 'string' ? Number(r.label) : r.label;
        if (typeof label !== 'number' || !Number.isFinite(label)) throw new NodeUserError(`Pair ${i + 1} has no numeric "label" (got ${JSON.stringify(r.label)}).`);
        labels[i] = label;
      });
      return { texts: [rows.map((r, i) => field(r, 'text_a', i)), rows.map((r, i) => field(r, 'text_b', i))], labels, views: 'given' };
    }
  }
}

/** Every sentence of the set (for the common component's reference corpus and the frozen encoder). */
export function allSentences(set: TrainingSet): string[] {
  return set.texts.flat();
}
