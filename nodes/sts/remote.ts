/**
 * Evaluation data from URLs: files named by their place in a data folder (e.g. "stsb/dev.tsv") are downloaded once
 * into the cache (data/download.ts: resumable, checked) and laid out, with whatever the local folder has, in one folder the
 * loaders read. A local file wins over its URL, so a user's own copy is never replaced.
 */
import { existsSync, mkdirSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { z } from 'zod';
import type { NodeContext } from '../../engine/node-type.js';
import type { Json } from '../../engine/json.js';
import { cachedArchiveMember, cachedDownload, downloadMemoKey, type DownloadContext } from '../data/download.js';

export const RemoteFiles = z.record(
  z.string().regex(/^(stsb|sts1[2-6]|sick)\/[^/]+$/, 'name a file inside a task folder, e.g. "stsb/dev.tsv" or "sts12/MSRpar.tsv"'),
  z.strictObject({
    url: z.string().regex(/^https?:\/\//i, 'must be an http(s) URL'),
    /** sha256 of what the URL serves (the archive, when `member` is set). */
    sha256: z.string().regex(/^[0-9a-fA-F]{64}$/).optional(),
    /** The URL is a .tar or .tar.gz archive: take this file out of it (e.g. "stsbenchmark/sts-dev.csv"). */
    member: z.string().min(1).optional(),
  }),
);
export type RemoteFiles = z.output<typeof RemoteFiles>;

/** Files that hold the same data in another layout: a local copy of either means nothing is downloaded. */
const SAME_DATA: Record<string, string[]> = {
  'stsb/sts-dev.csv': ['stsb/dev.tsv'],
  'stsb/dev.tsv': ['stsb/sts-dev.csv'],
  'stsb/sts-test.csv': ['stsb/test.tsv'],
  'stsb/test.tsv': ['stsb/sts-test.csv'],
  'stsb/sts-train.csv': ['stsb/train.tsv'],
  'stsb/train.tsv': ['stsb/sts-train.csv'],
  'sick/SICK_test_annotated.txt': ['sick/test.tsv'],
  'sick/test.tsv': ['sick/SICK_test_annotated.txt'],
  'sick/SICK_trial.txt': ['sick/trial.tsv'],
  'sick/trial.tsv': ['sick/SICK_trial.txt'],
};

function presentLocally(local: string, file: string): boolean {
  return [file, ...(SAME_DATA[file] ?? [])].some((f) => existsSync(join(local, f)));
}

/** A folder holding the local folder's task files plus the remote files it lacks; the local folder when none. */
export async function withRemoteFiles(local: string, remote: RemoteFiles | undefined, ctx: NodeContext<unknown>): Promise<string> {
  const wanted = Object.entries(remote ?? {}).filter(([file]) => !presentLocally(local, file));
  if (wanted.length === 0) return local;
  const added: Record<string, string> = {};
  for (const [file, { url, sha256, member }] of wanted) {
    ctx.log.info(`${file}: not in ${local}; using ${url}${member ? ` (${member})` : ''}`);
    added[file] = member === undefined ? await cachedDownload({ url, sha256 }, ctx, ['remote', file]) : await cachedArchiveMember({ url, sha256 }, member, ctx, ['remote', file]);
  }
  return overlayFolder(local, added, ctx);
}

/** What fetching needs of a node context (the CLI provides it without one): see data/download.ts. */
export type FetchContext = DownloadContext & Pick<NodeContext<unknown>, 'tempDir'>;

/** The file at `url`, downloaded once into the cache (resumable; checked against sha256 when given); its path there. */
export function downloadOnce(url: string, sha256: string | undefined, ctx: FetchContext): Promise<string> {
  return cachedDownload({ url, sha256 }, ctx);
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

/** The remote files a node will download: those the local folder lacks (for the node type's `downloads()`). */
export function remoteDownloads(local: string, remote: RemoteFiles | undefined): { url: string; memoKey: Json }[] {
  return Object.entries(remote ?? {})
    .filter(([file]) => !presentLocally(local, file))
    .map(([, { url, sha256 }]) => ({ url, memoKey: downloadMemoKey({ url, sha256 }) }));
}
