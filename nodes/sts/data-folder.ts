/** Where evaluation and development data live: a node's `data` param, else $SYNTHCSE_DATA, else ../shared/data. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is dist/nodes/sts/data-folder.js once built). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * `explicit` is already resolved by the caller (ctx.resolvePath) when it came from a pipeline; the environment
 * variable and the default are resolved against the current directory and the repository root respectively.
 */
export function dataFolder(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit !== undefined) return explicit;
  if (env.SYNTHCSE_DATA) return isAbsolute(env.SYNTHCSE_DATA) ? env.SYNTHCSE_DATA : resolve(env.SYNTHCSE_DATA);
  return resolve(REPO_ROOT, '../shared/data');
}

/** The STS-B dev file in a data folder, or undefined when absent. */
export function stsbDevFile(folder: string): string | undefined {
  for (const name of ['dev.tsv', 'sts-dev.csv']) if (existsSync(join(folder, 'stsb', name))) return join(folder, 'stsb', name);
  return undefined;
}

/** The SICK-R dev (trial) file in a data folder, or undefined when absent. */
export function sickrDevFile(folder: string): string | undefined {
  for (const name of ['trial.tsv', 'SICK_trial.txt']) if (existsSync(join(folder, 'sick', name))) return join(folder, 'sick', name);
  return undefined;
}

/** Every evaluation file under the folder's task directories (their content joins the eval node's key). */
export function evaluationFiles(folder: string): string[] {
  const out: string[] = [];
  for (const dir of ['stsb', 'sts12', 'sts13', 'sts14', 'sts15', 'sts16', 'sick']) {
    const path = join(folder, dir);
    if (!existsSync(path) || !statSync(path).isDirectory()) continue;
    for (const f of readdirSync(path).sort()) {
      if (dir === 'stsb' && !/^(dev|test)\.tsv$|^sts-(dev|test)\.csv$/.test(f)) continue;
      if (/\.(tsv|txt|csv)$/.test(f)) out.push(join(path, f));
    }
  }
  return out;
}

/**
 * The data files whose content joins a node's key, for a node's files(): the engine resolves relative paths against
 * the pipeline file, which files() does not know, so a relative folder can only name the one file every shipped
 * pipeline needs (stsb/dev.tsv); an absolute folder (or none: $SYNTHCSE_DATA / the default) is listed in full.
 */
export function keyedDataFiles(param: string | undefined, all: boolean, resolvePath: (path: string) => string): string[] {
  const folder = dataFolder(param === undefined ? undefined : resolvePath(param));
  if (all) return evaluationFiles(folder);
  const dev = stsbDevFile(folder);
  return dev ? [dev] : [];
}

/** The dev files a selection method reads (their content joins the train node's key); none for holdout and last. */
export function selectionFiles(param: string | undefined, method: string, resolvePath: (path: string) => string): string[] {
  if (method !== 'stsb-dev' && method !== 'stsb-sickr-dev') return [];
  const folder = dataFolder(param === undefined ? undefined : resolvePath(param));
  const files = [stsbDevFile(folder)];
  if (method === 'stsb-sickr-dev') files.push(sickrDevFile(folder));
  return files.filter((f): f is string => f !== undefined);
}
