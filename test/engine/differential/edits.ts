/**
 * Random edits of the differential world, one kind per dependency the engine must track, plus edits that must not
 * rerun anything (operational options, comments, key order, engine concurrency, an unrelated variable, a file
 * rewritten with the same content), and edits of the graph's shape. Which nodes an edit can affect is not declared
 * here: the test derives it from each node's dependencies (world.ts `pipelineNodes`) and the upstream outputs.
 */
import { implCount, type State } from './world.js';

export interface Rng {
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
}

/** A small seeded PRNG (mulberry32): a failing sequence is replayed from its seed. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { int: (n) => Math.floor(next() * n), pick: (items) => items[Math.floor(next() * items.length)]! };
}

export interface Edit {
  name: string;
  apply(state: State, r: Rng): State;
}

const WORDS = ['red', 'quiet', 'river', 'moves', 'slowly', 'under', 'a', 'bridge', 'children', 'laugh', 'loudly'];
const sentence = (r: Rng) => `${Array.from({ length: 3 + r.int(4) }, () => r.pick(WORDS)).join(' ')}.`;
const other = <T>(r: Rng, values: readonly T[], current: T): T => r.pick(values.filter((v) => v !== current));

export const EDITS: readonly Edit[] = [
  // Data the nodes read.
  { name: 'edit a sentence in data/sentences.txt', apply: (s, r) => ({ ...s, sentences: s.sentences.map((x, i) => (i === r.int(s.sentences.length) ? sentence(r) : x)) }) },
  { name: 'append a sentence to data/sentences.txt', apply: (s, r) => ({ ...s, sentences: [...s.sentences, sentence(r)] }) },
  { name: 'change load sample', apply: (s, r) => ({ ...s, sample: other(r, [2, 3, 4, 5], s.sample) }) },
  { name: 'add a file under data/listed', apply: (s, r) => ({ ...s, listed: { ...s.listed, [`f${r.int(1000)}.txt`]: sentence(r) } }) },
  {
    name: 'change a file under data/listed',
    apply: (s, r) => {
      const names = Object.keys(s.listed);
      return names.length === 0 ? s : { ...s, listed: { ...s.listed, [r.pick(names)]: sentence(r) } };
    },
  },
  {
    name: 'rename a file under data/listed',
    apply: (s, r) => {
      const names = Object.keys(s.listed);
      if (names.length === 0) return s;
      const from = r.pick(names);
      const { [from]: text, ...rest } = s.listed;
      return { ...s, listed: { ...rest, [`r${r.int(1000)}.txt`]: text! } };
    },
  },
  {
    name: 'remove a file under data/listed',
    apply: (s, r) => {
      const names = Object.keys(s.listed);
      if (names.length <= 1) return s;
      const { [r.pick(names)]: _gone, ...rest } = s.listed;
      return { ...s, listed: rest };
    },
  },
  // Code: a plugin module the entry imports, the entry's version, an installed package's version.
  { name: 'change plugin module impl.mjs', apply: (s, r) => ({ ...s, implVariant: other(r, [...Array(implCount()).keys()], s.implVariant) }) },
  { name: 'bump the plugin version and change impl.mjs', apply: (s, r) => ({ ...s, pluginVersion: s.pluginVersion + 1, implVariant: other(r, [...Array(implCount()).keys()], s.implVariant) }) },
  { name: 'upgrade package fakepkg', apply: (s, r) => ({ ...s, packageVersion: other(r, ['1.0.0', '1.1.0', '2.0.0'], s.packageVersion) }) },
  // The environment and the LLM service.
  { name: 'change env DIFF_SUFFIX (read by the pipeline)', apply: (s, r) => ({ ...s, suffixEnv: other(r, ['x', 'y', 'z'], s.suffixEnv) }) },
  { name: 'switch llm.base_url to the other endpoint', apply: (s) => ({ ...s, endpoint: s.endpoint === 'a' ? 'b' : 'a' }) },
  { name: 'change llm.model', apply: (s, r) => ({ ...s, model: other(r, ['claude-haiku-4-5', 'claude-haiku-4-5-20251001'], s.model) }) },
  // Parameters.
  { name: 'change annotate temperature', apply: (s, r) => ({ ...s, temperature: other(r, [0.3, 0.7, 1], s.temperature) }) },
  { name: 'change filter words max', apply: (s, r) => ({ ...s, filterMaxWords: other(r, [3, 5, 32], s.filterMaxWords) }) },
  // The graph's shape: a node added or removed.
  { name: 'add a tag stage', apply: (s) => ({ ...s, tagStages: Math.min(3, s.tagStages + 1) }) },
  { name: 'remove the last tag stage', apply: (s) => ({ ...s, tagStages: Math.max(1, s.tagStages - 1) }) },
  { name: 'add or remove the annotate → filter branch', apply: (s) => ({ ...s, withAnnotate: !s.withAnnotate }) },
  // Must rerun nothing.
  { name: 'change tag concurrency (option)', apply: (s, r) => ({ ...s, tagConcurrency: other(r, [1, 2, 3], s.tagConcurrency) }) },
  { name: 'change annotate concurrency (option)', apply: (s, r) => ({ ...s, annotateConcurrency: other(r, [1, 4, 8], s.annotateConcurrency) }) },
  { name: 'change --jobs', apply: (s, r) => ({ ...s, jobs: other(r, [1, 2, 4], s.jobs) }) },
  { name: 'add a YAML comment', apply: (s, r) => ({ ...s, comment: `note ${r.int(1000)}` }) },
  { name: 'reorder YAML keys', apply: (s) => ({ ...s, reorder: !s.reorder }) },
  { name: 'change an unrelated env var', apply: (s, r) => ({ ...s, unrelatedEnv: `u${r.int(1000)}` }) },
  { name: 'rewrite data/listed with the same content', apply: (s) => ({ ...s, listedTouches: s.listedTouches + 1 }) },
];
