/**
 * The evaluation tasks and where their files live in a data folder (laid out like ../shared/data):
 *   stsb/dev.tsv (stsb-dev) and sick/trial.tsv (sickr-dev), development sets, stsb/test.tsv or stsb/sts-test.csv (STS-B),
 *   sts12/ … sts16/: one *.tsv per subset, or SentEval's STS.input.<subset>.txt + STS.gs.<subset>.txt,
 *   sick/test.tsv or sick/SICK_test_annotated.txt (SICK-R).
 * STS12–16 are scored "all": one correlation over the concatenation of a year's subsets; STS13 without SMT
 * (not distributed), as in SimCSE's evaluation.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadSentEvalSts, loadStsFile, type StsPair } from './loaders.js';

export const TABLE_TASKS = ['STS12', 'STS13', 'STS14', 'STS15', 'STS16', 'STS-B', 'SICK-R'] as const;
export const DEV_TASK = 'stsb-dev';
/** SICK-R dev (sick/trial.tsv): with STS-B dev, SimCSE's avg_sts selection. */
export const SICKR_DEV_TASK = 'sickr-dev';
export const DEV_TASKS = [DEV_TASK, SICKR_DEV_TASK] as const;
export const AVERAGE_TASK = 'Avg.';
export type TaskName = (typeof TABLE_TASKS)[number] | (typeof DEV_TASKS)[number];

/** The dev tasks a train node's `select` method reads: their columns are not held out for that model. */
export function selectionTasks(select: unknown): string[] {
  if (select === 'stsb-dev') return [DEV_TASK];
  if (select === 'stsb-sickr-dev') return [DEV_TASK, SICKR_DEV_TASK];
  return [];
}

export interface StsTask {
  name: TaskName;
  /** Subsets concatenated into one correlation (a single entry for STS-B, SICK-R and stsb-dev). */
  subsets: { name: string; pairs: StsPair[] }[];
  files: string[];
}

function firstExisting(folder: string, names: readonly string[]): string | undefined {
  for (const n of names) if (existsSync(join(folder, n))) return join(folder, n);
  return undefined;
}

function yearSubsets(folder: string, year: string): StsTask['subsets'] {
  const entries = readdirSync(folder).sort();
  const excluded = (subset: string): boolean => year === 'sts13' && subset.toUpperCase() === 'SMT';
  const subsets: StsTask['subsets'] = [];
  for (const e of entries) {
    if (e.endsWith('.tsv')) {
      const subset = e.slice(0, -4);
      if (!excluded(subset)) subsets.push({ name: subset, pairs: loadStsFile(join(folder, e)) });
    }
    const m = /^STS\.input\.(.+)\.txt$/.exec(e);
    if (m && !excluded(m[1]!) && existsSync(join(folder, `STS.gs.${m[1]}.txt`))) {
      subsets.push({ name: m[1]!, pairs: loadSentEvalSts(join(folder, e), join(folder, `STS.gs.${m[1]}.txt`)) });
    }
  }
  return subsets;
}

/** The tasks whose files are present; `missing` names those skipped. */
export function discoverTasks(dataFolder: string): { tasks: StsTask[]; missing: TaskName[] } {
  const tasks: StsTask[] = [];
  const missing: TaskName[] = [];
  const single = (name: TaskName, file: string | undefined): void => {
    if (file === undefined) missing.push(name);
    else tasks.push({ name, subsets: [{ name, pairs: loadStsFile(file) }], files: [file] });
  };
  for (const year of ['sts12', 'sts13', 'sts14', 'sts15', 'sts16']) {
    const name = year.toUpperCase() as TaskName;
    const folder = join(dataFolder, year);
    const subsets = existsSync(folder) && statSync(folder).isDirectory() ? yearSubsets(folder, year) : [];
    if (subsets.length === 0) missing.push(name);
    else tasks.push({ name, subsets, files: [folder] });
  }
  single('STS-B', firstExisting(join(dataFolder, 'stsb'), ['test.tsv', 'sts-test.csv']));
  single('SICK-R', firstExisting(join(dataFolder, 'sick'), ['test.tsv', 'SICK_test_annotated.txt']));
  single(DEV_TASK, firstExisting(join(dataFolder, 'stsb'), ['dev.tsv', 'sts-dev.csv']));
  single(SICKR_DEV_TASK, firstExisting(join(dataFolder, 'sick'), ['trial.tsv', 'SICK_trial.txt']));
  return { tasks, missing };
}
