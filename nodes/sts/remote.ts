/**
 * Evaluation data from URLs: files named by their place in a data folder (e.g. "stsb/dev.tsv") are downloaded once
 * into the cache (verified by sha256 when given) and laid out, with whatever the local folder has, in one folder the
 * loaders read. A local file wins over its URL, so a user's own copy is never replaced.
 */
import { existsSync, mkdirSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { z } from 'zod';
import { NodeUserError, type NodeContext } from '../../engine/node-type.js';
import { download } from '../load/source.js';

export const RemoteFiles = z.record(
  z.string().regex(/^(stsb|sts1[2-6]|sick)\/[^/]+$/, 'name a file inside a task folder, e.g. "stsb/dev.tsv" or "sts12/MSRpar.tsv"'),
  z.strictObject({ url: z.string().regex(/^https?:\/\//i, 'must be an http(s) URL'), sha256: z.string().regex(/^[0-9a-fA-F]{64}$/).optional() }),
);
export type RemoteFiles = z.output<typeof RemoteFiles>;

/** A folder holding the local folder's task files plus the remote files it lacks; the local folder when none. */
export async function withRemoteFiles(local: string, remote: RemoteFiles | undefined, ctx: NodeContext<unknown>): Promise<string> {
  const wanted = Object.entries(remote ?? {}).filter(([file]) => !existsSync(join(local, file)));
  if (wanted.length === 0) return local;
  const added: Record<string, string> = {};
  for (const [file, { url, sha256 }] of wanted) {
    ctx.log.info(`${file}: not in ${local}; using ${url}`);
    added[file] = await downloadOnce(url, sha256, ctx).catch((error: unknown) => {
      if (error instanceof NodeUserError) throw new NodeUserError(error.message, ['remote', file], error.hint);
      throw error;
    });
  }
  return overlayFolder(local, added, ctx);
}

/** The file at `url`, downloaded once into the cache (verified by sha256 when given); its path there. */
/** What fetching needs of a node context (the CLI provides it without one). */
export type FetchContext = Pick<NodeContext<unknown>, 'memoFile' | 'tempDir' | 'signal'>;

export function downloadOnce(url: string, sha256: string | undefined, ctx: FetchContext): Promise<string> {
  return ctx.memoFile({ evalData: 'url@1', url, sha256: sha256 ?? null }, (out) => download(url, out, sha256, ctx.signal));
}

/**
 * A fresh folder laid out like a data folder: links to the local folder's task files, plus `added` files (place in
 * the folder → path in the cache).
 */
export function overlayFolder(local: string, added: Readonly<Record<string, string>>, ctx: FetchContext): string {
  const folder = ctx.tempDir();
  if (existsSync(local) && statSync(local).isDirectory()) {
    for (const entry of readdirSync(local)) {
      const from = join(local, entry);
      if (!statSync(from).isDirectory()) continue;
      for (const file of readdirSync(from)) {
        mkdirSync(join(folder, entry), { recursive: true });
        symlinkSync(join(from, file), join(folder, entry, file));
      }
    }
  }
  for (const [file, cached] of Object.entries(added)) {
    const target = join(folder, normalize(file));
    mkdirSync(dirname(target), { recursive: true });
    if (!existsSync(target)) symlinkSync(cached, target);
  }
  return folder;
}
