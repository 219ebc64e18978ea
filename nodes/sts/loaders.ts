/**
 * Readers for STS evaluation files. All return {sentence1, sentence2, score} pairs; pairs without a gold score are
 * dropped, as SentEval does for its STS.gs files.
 *   - simple tsv: header `sentence1<TAB>sentence2<TAB>score` (columns found by name), or no header and that order;
 *   - SentEval STS12–16: STS.input.<subset>.txt (two sentences per line) + STS.gs.<subset>.txt (one score per line);
 *   - STS-B original csv (sts-test.csv): genre, file, year, id, score, sentence1, sentence2 (TAB-separated);
 *   - SICK txt (SICK_test_annotated.txt): pair_ID, sentence_A, sentence_B, relatedness_score, entailment_judgment.
 * Files are split on TAB only, never parsed as CSV: sentences contain quotes.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

export interface StsPair {
  sentence1: string;
  sentence2: string;
  score: number;
}

export class StsDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StsDataError';
  }
}

function lines(path: string): string[] {
  const text = readFileSync(path, 'utf8').replace(/^\ufeff/, '');
  const out = text.split(/\r?\n/);
  if (out.at(-1) === '') out.pop();
  return out;
}

function parseScore(raw: string | undefined, path: string, line: number): number | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const score = Number(raw);
  if (!Number.isFinite(score)) throw new StsDataError(`${path}:${line}: score ${JSON.stringify(raw)} is not a number`);
  return score;
}

export function loadSimpleTsv(path: string): StsPair[] {
  const all = lines(path);
  if (all.length === 0) return [];
  const first = all[0]!.split('\t');
  let columns = [0, 1, 2];
  let start = 0;
  if (!Number.isFinite(Number(first[2] ?? 'x')) || first.includes('sentence1')) {
    const at = (name: string): number => {
      const i = first.indexOf(name);
      if (i < 0) throw new StsDataError(`${path}: the header has no "${name}" column (found: ${first.join(', ')})`);
      return i;
    };
    columns = [at('sentence1'), at('sentence2'), at('score')];
    start = 1;
  }
  const pairs: StsPair[] = [];
  for (let i = start; i < all.length; i++) {
    const f = all[i]!.split('\t');
    const score = parseScore(f[columns[2]!], path, i + 1);
    if (score === undefined) continue;
    const [s1, s2] = [f[columns[0]!], f[columns[1]!]];
    if (s1 === undefined || s2 === undefined) throw new StsDataError(`${path}:${i + 1}: expected 3 TAB-separated fields`);
    pairs.push({ sentence1: s1, sentence2: s2, score });
  }
  return pairs;
}

export function loadSentEvalSts(inputPath: string, goldPath: string): StsPair[] {
  const inputs = lines(inputPath);
  const gold = lines(goldPath);
  if (gold.length > inputs.length) throw new StsDataError(`${goldPath} has more lines (${gold.length}) than ${inputPath} (${inputs.length})`);
  const pairs: StsPair[] = [];
  inputs.forEach((line, i) => {
    const score = parseScore(gold[i], goldPath, i + 1);
    if (score === undefined) return;
    const [s1, s2] = line.split('\t');
    if (s1 === undefined || s2 === undefined) throw new StsDataError(`${inputPath}:${i + 1}: expected two TAB-separated sentences`);
    pairs.push({ sentence1: s1, sentence2: s2, score });
  });
  return pairs;
}

export function loadStsbCsv(path: string): StsPair[] {
  const pairs: StsPair[] = [];
  lines(path).forEach((line, i) => {
    const f = line.split('\t');
    const score = parseScore(f[4], path, i + 1);
    if (score === undefined || f[5] === undefined || f[6] === undefined) return;
    pairs.push({ sentence1: f[5].trim(), sentence2: f[6].trim(), score });
  });
  return pairs;
}

export function loadSickTxt(path: string): StsPair[] {
  const all = lines(path);
  const header = all[0]?.split('\t') ?? [];
  const a = header.indexOf('sentence_A');
  const b = header.indexOf('sentence_B');
  const s = header.indexOf('relatedness_score');
  if (a < 0 || b < 0 || s < 0) throw new StsDataError(`${path}: expected a SICK header with sentence_A, sentence_B, relatedness_score`);
  const pairs: StsPair[] = [];
  for (let i = 1; i < all.length; i++) {
    const f = all[i]!.split('\t');
    const score = parseScore(f[s], path, i + 1);
    if (score === undefined) continue;
    pairs.push({ sentence1: f[a]!, sentence2: f[b]!, score });
  }
  return pairs;
}

/** Picks the reader from the file name. */
export function loadStsFile(path: string): StsPair[] {
  const name = basename(path);
  if (/^SICK.*\.txt$/i.test(name)) return loadSickTxt(path);
  if (/^sts-(train|dev|test)\.csv$/i.test(name)) return loadStsbCsv(path);
  return loadSimpleTsv(path);
}
