/**
 * Public data files fetched once into the cache: streamed to a partial file under the cache (so a killed or broken
 * download resumes with an HTTP Range request), shown as a progress line in megabytes, and checked before use:
 * the byte count against Content-Length, and the sha256 against the pipeline's `sha256` or, when none is pinned,
 * the checksum the server publishes (the Hugging Face hub's X-Linked-ETag for files it stores in LFS). The finished
 * file is a memo artifact keyed by URL and pinned digest, so every pipeline and node that names it shares one copy.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { NodeUserError, PlanDeferred, type NodeContext } from '../../engine/node-type.js';
import { sha256 as sha256Of } from '../../engine/json.js';

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

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Downloads `file` into `out`, resuming from `partial` when an earlier attempt left one. */
async function fetchResumable(file: RemoteFile, out: string, partial: string, ctx: DownloadContext, param: readonly (string | number)[]): Promise<void> {
  const have = existsSync(partial) ? statSync(partial).size : 0;
  let response: Response;
  try {
    response = await fetch(file.url, { signal: ctx.signal, redirect: 'follow', headers: have > 0 ? { range: `bytes=${have}-` } : {} });
  } catch (error) {
    const code = (error as Error & { cause?: { code?: unknown } }).cause?.code;
    throw new NodeUserError(`cannot download ${file.url}: ${(error as Error).message}${typeof code === 'string' ? ` (${code})` : ''}`, param, 'check the network (or the URL); run the same command again to resume');
  }
  if (!response.ok || response.body === null) {
    throw new NodeUserError(`cannot download ${file.url}: HTTP ${response.status}`, param, response.status === 404 ? 'the file moved upstream: correct the URL' : 'run the same command again to retry');
  }
  const resumed = response.status === 206 && have > 0;
  const length = Number(response.headers.get('content-length') ?? Number.NaN);
  const total = Number.isFinite(length) ? length + (resumed ? have : 0) : undefined;
  if (resumed) ctx.log?.info(`${file.url}: resuming at ${(have / MB).toFixed(1)} MB`);
  const progress = ctx.progress?.(`download ${basenameOf(file.url)} (MB)`, total === undefined ? 0 : Math.ceil(total / MB)) ?? { tick() {}, setTotal() {}, done() {} };
  let written = resumed ? have : 0;
  progress.tick(Math.floor(written / MB));
  const sink = createWriteStream(partial, { flags: resumed ? 'a' : 'w' });
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      if (!sink.write(chunk)) await new Promise<void>((resolve) => sink.once('drain', () => resolve()));
      const before = Math.floor(written / MB);
      written += chunk.byteLength;
      progress.tick(Math.floor(written / MB) - before);
    }
  } catch (error) {
    throw new NodeUserError(`the download of ${file.url} broke off at ${(written / MB).toFixed(1)} MB (${(error as Error).message})`, param, 'run the same command again: it resumes where it stopped');
  } finally {
    await new Promise<void>((resolve, reject) => sink.end((error?: Error | null) => (error ? reject(error) : resolve())));
    progress.done();
  }
  if (total !== undefined && written !== total) {
    throw new NodeUserError(`the download of ${file.url} ended at ${written} of ${total} bytes`, param, 'run the same command again: it resumes where it stopped');
  }
  const expected = file.sha256?.toLowerCase() ?? publishedSha256(response.headers);
  const digest = await sha256File(partial);
  if (expected !== undefined && digest !== expected) {
    rmSync(partial, { force: true });
    throw new NodeUserError(`${file.url} has sha256 ${digest}, expected ${expected}`, param, file.sha256 ? 'the file changed upstream: check it and update sha256' : 'the download is damaged: run the same command again');
  }
  if (file.sha256 === undefined) ctx.log?.info(`${basenameOf(file.url)}: sha256 ${digest}${expected ? ' (checked against the server\'s checksum)' : ''}; pin it with sha256: to notice upstream changes`);
  renameSync(partial, out);
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
    const bytes = tarMember(readFileSync(archive), member);
    if (bytes === undefined) throw new NodeUserError(`${basenameOf(file.url)} has no file ${member}`, param, 'check `member` against the archive\'s contents');
    writeFileSync(out, bytes);
  });
}

/** The bytes of `member` in a tar archive (gzip-compressed or not), or undefined when it is not there. */
export function tarMember(archive: Buffer, member: string): Buffer | undefined {
  const tar = archive[0] === 0x1f && archive[1] === 0x8b ? gunzipSync(archive) : archive;
  const wanted = member.replace(/^\.\//, '');
  let longName: string | undefined;
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) return undefined;
    const field = (start: number, length: number) => header.subarray(start, start + length).toString('utf8').replace(/\0.*$/s, '');
    const size = Number.parseInt(field(124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156]!);
    const prefix = field(345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    const body = tar.subarray(offset + 512, offset + 512 + size);
    longName = undefined;
    if (type === 'L') longName = body.toString('utf8').replace(/\0.*$/s, '');
    else if ((type === '0' || type === '\0') && name.replace(/^\.\//, '') === wanted) return Buffer.from(body);
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return undefined;
}
