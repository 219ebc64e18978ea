/**
 * Public data files fetched once into the cache: streamed to a partial file under the cache (so a killed or broken
 * download resumes with an HTTP Range request), shown as a progress line in megabytes, and checked before use:
 * the byte count against Content-Length, and the sha256 against the pipeline's `sha256` or, when none is pinned,
 * the checksum the server publishes (the Hugging Face hub's X-Linked-ETag for files it stores in LFS). The finished
 * file is a memo artifact keyed by URL and pinned digest, so every pipeline and node that names it shares one copy.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NodeUserError, PlanDeferred, type NodeContext } from '../../engine/node-type.js';
import { sha256 as sha256Of } from '../../engine/json.js';
import { untar } from './archives.js';
import { DownloadError, downloadToFile } from './fetch-file.js';

/**
 * What downloading needs of a node context. A command outside a run (synthcse eval) may lack the rest: then there is
 * no progress line and no log, a broken download starts again instead of resuming, and planning is off.
 */
export type DownloadContext = Pick<NodeContext<unknown>, 'memoFile' | 'signal'> & Partial<Pick<NodeContext<unknown>, 'progress' | 'log' | 'cacheDir' | 'planning' | 'memoFileExists'>>;

export interface RemoteFile {
  url: string;
  /** Expected sha256 (hex). */
  sha256?: string | undefined;
}

/** Thrown while planning instead of downloading: the file is not in the cache yet. */
export class DownloadNeeded extends PlanDeferred {
  constructor(readonly url: string) {
    super(`reads ${basenameOf(url)}, downloaded into the cache first (sizes below)`);
    this.name = 'DownloadNeeded';
  }
}

const MB = 1024 * 1024;

/** The memoFile key a downloaded file is kept under (for node types' `downloads()`). */
export function downloadMemoKey(file: RemoteFile): { download: string; url: string; sha256: string | null } {
  return { download: 'url@1', url: file.url, sha256: file.sha256?.toLowerCase() ?? null };
}

/** The server's checksum of the file, when it publishes one (the hub: X-Linked-ETag: "<sha256>"). */
function publishedSha256(headers: Headers): string | undefined {
  const tag = (headers.get('x-linked-etag') ?? '').replace(/^W\//, '').replace(/"/g, '');
  return /^[0-9a-f]{64}$/i.test(tag) ? tag.toLowerCase() : undefined;
}

/** Downloads `file` into `out`, resuming from `partial` when an earlier attempt left one. */
async function fetchResumable(file: RemoteFile, out: string, partial: string, ctx: DownloadContext, param: readonly (string | number)[]): Promise<void> {
  let progress: { tick(n?: number): void; done(): void } | undefined;
  let shownMb = 0;
  try {
    const result = await downloadToFile(file.url, out, {
      partialPath: partial,
      signal: ctx.signal,
      sha256: (response) => file.sha256?.toLowerCase() ?? publishedSha256(response.headers),
      onStart: (resumedFrom, total) => {
        if (resumedFrom > 0) ctx.log?.info(`${file.url}: resuming at ${(resumedFrom / MB).toFixed(1)} MB`);
        progress = ctx.progress?.(`download ${basenameOf(file.url)} (MB)`, total === undefined ? 0 : Math.ceil(total / MB));
        shownMb = Math.floor(resumedFrom / MB);
        progress?.tick(shownMb);
      },
      onProgress: (bytes) => {
        const mb = Math.floor(bytes / MB);
        if (mb > shownMb) progress?.tick(mb - shownMb);
        shownMb = mb;
      },
    });
    const checked = file.sha256 !== undefined || publishedSha256(result.response.headers) !== undefined;
    if (file.sha256 === undefined) ctx.log?.info(`${basenameOf(file.url)}: sha256 ${result.sha256}${checked ? ' (checked against the server\'s checksum)' : ''}; pin it with sha256: to notice upstream changes`);
  } catch (error) {
    if (!(error instanceof DownloadError)) throw error;
    throw new NodeUserError(error.message, param, downloadFix(error, file));
  } finally {
    progress?.done();
  }
}

function downloadFix(error: DownloadError, file: RemoteFile): string {
  switch (error.failure) {
    case 'unreachable':
      return 'check the network (or the URL); run the same command again to resume';
    case 'http-status':
      return error.status === 404 ? 'the file moved upstream: correct the URL' : 'run the same command again to retry';
    case 'incomplete':
      return 'run the same command again: it resumes where it stopped';
    case 'checksum':
      return file.sha256 ? 'the file changed upstream: check it and update sha256' : 'the download is damaged: run the same command again';
  }
}

function basenameOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.split('/').pop() || url);
}

/** The cached copy of a remote file, downloading it first if needed (while planning: DownloadNeeded instead). */
export async function cachedDownload(file: RemoteFile, ctx: DownloadContext, param: readonly (string | number)[] = ['url']): Promise<string> {
  if (ctx.planning === true && ctx.memoFileExists?.(downloadMemoKey(file)) !== true) throw new DownloadNeeded(file.url);
  return ctx.memoFile(downloadMemoKey(file), async (out) => {
    // Without a cache folder (a command outside a run) the partial file lives beside the output and does not resume.
    const dir = ctx.cacheDir === undefined ? dirname(out) : join(ctx.cacheDir, 'downloads');
    mkdirSync(dir, { recursive: true });
    // One partial file per URL and pin, kept between runs so a broken download resumes.
    const partial = join(dir, `${sha256Of(JSON.stringify(downloadMemoKey(file)))}.part`);
    await fetchResumable(file, out, partial, ctx, param);
  });
}

/**
 * One file out of a downloaded .tar or .tar.gz archive (the STS benchmark ships as Stsbenchmark.tar.gz), extracted
 * once into the cache. `member` is its path inside the archive, e.g. "stsbenchmark/sts-dev.csv".
 */
export async function cachedArchiveMember(file: RemoteFile, member: string, ctx: DownloadContext, param: readonly (string | number)[] = ['url']): Promise<string> {
  const archive = await cachedDownload(file, ctx, param);
  return ctx.memoFile({ extract: 'tar@1', archive: downloadMemoKey(file), member }, async (out) => {
    const bytes = untar(readFileSync(archive)).get(member.replace(/^\.\//, ''));
    if (bytes === undefined) throw new NodeUserError(`${basenameOf(file.url)} has no file ${member}`, param, 'check `member` against the archive\'s contents');
    writeFileSync(out, bytes);
  });
}
