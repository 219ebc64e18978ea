/**
 * Downloads a URL into a file: streamed to `<file>.part`, resumed with an HTTP Range request when a previous attempt
 * left a partial file, verified by sha256 (given, or read from the response by `expectedSha256`), then renamed into
 * place. A file that fails its checksum is deleted, so the next attempt starts clean.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';

/** Why a download failed: the server could not be reached, answered an error status, stopped early, or sent other bytes. */
export type DownloadFailure = 'unreachable' | 'http-status' | 'incomplete' | 'checksum';

export class DownloadError extends Error {
  constructor(
    message: string,
    readonly failure: DownloadFailure,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'DownloadError';
  }
}

export interface DownloadOptions {
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /** The expected sha256 (hex); or a function that reads it from the first response (e.g. the hub's X-Linked-Etag). */
  sha256?: string | ((response: Response) => string | undefined);
  /** Where the partial file lives (default `<file>.part`); keep it in one place across attempts so they resume. */
  partialPath?: string;
  /** Called once the server answered: the bytes a previous attempt left (0 when starting afresh) and the total. */
  onStart?: (resumedFrom: number, total: number | undefined) => void;
  /** Bytes so far (resumed bytes included) and the total when known. */
  onProgress?: (bytes: number, total: number | undefined) => void;
}

export interface Downloaded {
  sha256: string;
  bytes: number;
  /** Whether this attempt continued a partial file. */
  resumed: boolean;
  /** The response (headers of the final request). */
  response: Response;
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function downloadToFile(url: string, outPath: string, options: DownloadOptions = {}): Promise<Downloaded> {
  const part = options.partialPath ?? `${outPath}.part`;
  const have = existsSync(part) ? statSync(part).size : 0;
  const headers: Record<string, string> = { ...options.headers };
  if (have > 0) headers.range = `bytes=${have}-`;
  let response: Response;
  try {
    response = await fetch(url, { headers, redirect: 'follow', ...(options.signal ? { signal: options.signal } : {}) });
  } catch (error) {
    // fetch says "fetch failed"; the reason (ENOTFOUND, ECONNREFUSED…) is in its cause.
    const code = (error as Error & { cause?: { code?: unknown } }).cause?.code;
    throw new DownloadError(`cannot download ${url}: ${(error as Error).message}${typeof code === 'string' ? ` (${code})` : ''}`, 'unreachable');
  }
  if (response.status === 416 && have > 0) {
    // The partial file is already whole (or longer than the file): verify it as it is.
    await response.body?.cancel();
  } else if (!response.ok) {
    await response.body?.cancel();
    throw new DownloadError(`cannot download ${url}: HTTP ${response.status}`, 'http-status', response.status);
  }
  const resumed = response.status === 206;
  const start = resumed ? have : 0;
  const lengthHeader = response.headers.get('content-length');
  const total = lengthHeader === null ? undefined : start + Number(lengthHeader);
  let bytes = response.status === 416 ? have : start;
  options.onStart?.(resumed || response.status === 416 ? have : 0, total);
  if (response.status !== 416) {
    const out = createWriteStream(part, { flags: resumed ? 'a' : 'w' });
    try {
      if (response.body) {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          if (!out.write(chunk)) await once(out, 'drain');
          bytes += chunk.byteLength;
          options.onProgress?.(bytes, total);
        }
      }
    } catch (error) {
      throw new DownloadError(`the download of ${url} broke off after ${bytes} bytes (${(error as Error).message}); run again to resume it`, 'incomplete');
    } finally {
      out.end();
      await once(out, 'close');
    }
  }
  if (total !== undefined && bytes !== total) throw new DownloadError(`the download of ${url} broke off after ${bytes} of ${total} bytes; run again to resume it`, 'incomplete');
  const digest = await fileSha256(part);
  const expected = typeof options.sha256 === 'function' ? options.sha256(response) : options.sha256;
  if (expected !== undefined && digest !== expected.toLowerCase()) {
    rmSync(part, { force: true });
    throw new DownloadError(`${url} has sha256 ${digest}, expected ${expected.toLowerCase()}: the file is corrupted or changed upstream; it was deleted, run again to download it afresh`, 'checksum');
  }
  renameSync(part, outPath);
  return { sha256: digest, bytes, resumed, response };
}
