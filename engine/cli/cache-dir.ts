import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openReadable, type Store } from '../../cache/store.js';
import { defaultCacheDir } from '../api.js';
import { usageError } from './args.js';

/**
 * Which cache a command without a pipeline means: --cache, else SYNTHCSE_CACHE, else the one next to --pipeline /
 * FILE, else ./.synthcse, else the single .synthcse one level down (pipelines/.synthcse in this repository).
 */
export function findCacheDir(opts: { cache?: string; pipeline?: string }, usage: string): string {
  if (opts.cache) return resolve(opts.cache);
  if (opts.pipeline) return defaultCacheDir(opts.pipeline);
  if (process.env.SYNTHCSE_CACHE) return resolve(process.env.SYNTHCSE_CACHE);
  const here = resolve('.synthcse');
  if (existsSync(join(here, 'cache.db'))) return here;
  const below = readdirSync('.', { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(d.name, '.synthcse', 'cache.db')))
    .map((d) => resolve(d.name, '.synthcse'));
  if (below.length === 1) return below[0]!;
  throw usageError(
    below.length > 1 ? `Several caches found (${below.join(', ')}); say which.` : 'No synthcse cache found here.',
    `${usage}  (pass --cache DIR or --pipeline FILE)`,
  );
}

/** The cache for a command that only reads it; a read-only cache is read from a snapshot, with a note. */
export function openExistingStore(dir: string, usage: string): Store {
  if (!existsSync(join(dir, 'cache.db'))) throw usageError(`No cache at ${dir} (nothing has run with it yet).`, usage);
  const { store, readOnly } = openReadable(dir);
  if (readOnly) process.stderr.write(`note: the cache ${dir} is read-only for this user; reading it without writing anything.\n`);
  return store;
}
