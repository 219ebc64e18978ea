/** Where evaluation and development data live: a node's `data` param, else $SYNTHCSE_DATA, else ../shared/data. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DependencyProbe } from '../../engine/node-type.js';

/** The repository root (this file is dist/nodes/sts/data-folder.js once built). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * `explicit` is already resolved by the caller (ctx.resolvePath) when it came from a pipeline; a relative
 * SYNTHCSE_DATA is resolved against the current directory (as `${env.SYNTHCSE_DATA}` in a pipeline is, see
 * docs/pipeline-format.md), and the default against the repository root.
 */
export function dataFolder(explicit: string | undefined, env: NodeJS.ProcessEnv | ((name: string) => string | undefined) = process.env): string {
  if (explicit !== undefined) return explicit;
  const fromEnv = typeof env === 'function' ? env('SYNTHCSE_DATA') : env.SYNTHCSE_DATA;
  if (fromEnv) return isAbsolute(fromEnv) ? fromEnv : resolve(fromEnv);
  return resolve(REPO_ROOT, '../shared/data');
}

/** The STS-B dev file in a data folder, or undefined when absent. */
export function stsbDevFile(folder: string, look: Pick<Look, 'exists'> = direct): string | undefined {
  for (const name of ['dev.tsv', 'sts-dev.csv']) if (look.exists(join(folder, 'stsb', name))) return join(folder, 'stsb', name);
  return undefined;
}

/** The file system as the functions below look at it: directly, or through a node's recording probe. */
type Look = Pick<DependencyProbe, 'exists' | 'isDirectory' | 'list'>;
const direct: Look = {
  exists: existsSync,
  isDirectory: (path) => existsSync(path) && statSync(path).isDirectory(),
  list: (path) => readdirSync(path).sort(),
};

/** The SICK-R dev (trial) file in a data folder, or undefined when absent. */
export function sickrDevFile(folder: string, look: Pick<Look, 'exists'> = direct): string | undefined {
  for (const name of ['trial.tsv', 'SICK_trial.txt']) if (look.exists(join(folder, 'sick', name))) return join(folder, 'sick', name);
  return undefined;
}

/** Every evaluation file under the folder's task directories (their content joins the eval node's key). */
export function evaluationFiles(folder: string, look: Look = direct): string[] {
  const out: string[] = [];
  for (const dir of ['stsb', 'sts12', 'sts13', 'sts14', 'sts15', 'sts16', 'sick']) {
    const path = join(folder, dir);
    if (!look.isDirectory(path)) continue;
    for (const f of look.list(path)) {
      if (dir === 'stsb' && !/^(dev|test)\.tsv$|^sts-(dev|test)\.csv$/.test(f)) continue;
      if (/\.(tsv|txt|csv)$/.test(f)) out.push(join(path, f));
    }
  }
  return out;
}

/**
 * The data files whose content joins a node's key, for a node's files(): every evaluation file (`all`), or the
 * STS-B dev file. The folder is listed through the probe, so a file added to it later changes the key.
 */
export function keyedDataFiles(param: string | undefined, all: boolean, probe: DependencyProbe): string[] {
  const folder = dataFolder(param === undefined ? undefined : probe.resolve(param), (name) => probe.env(name));
  if (all) return evaluationFiles(folder, probe);
  const dev = stsbDevFile(folder, probe);
  return dev ? [dev] : [];
}

/**
 * The dev files a selection method reads (their content joins the train node's key); none for holdout and last.
 * Existence is checked through the probe, so a dev file that appears later changes the key.
 */
export function selectionFiles(param: string | undefined, method: string, probe: DependencyProbe): string[] {
  if (method !== 'stsb-dev' && method !== 'stsb-sickr-dev') return [];
  return selectionFilesIn(dataFolder(param === undefined ? undefined : probe.resolve(param), (name) => probe.env(name)), method, probe);
}

/** The dev files a selection method reads in a known data folder (a running node's, looked at directly by default). */
export function selectionFilesIn(folder: string, method: string, look: Pick<Look, 'exists'> = direct): string[] {
  if (method !== 'stsb-dev' && method !== 'stsb-sickr-dev') return [];
  const files = [stsbDevFile(folder, look)];
  if (method === 'stsb-sickr-dev') files.push(sickrDevFile(folder, look));
  return files.filter((f): f is string => f !== undefined);
}
