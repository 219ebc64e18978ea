/**
 * Where the load node's bytes come from: a local path (relative to the pipeline file, or absolute), or an
 * http(s) URL downloaded once into the cache through ctx.memoFile and verified by `sha256` when given. When both
 * are set, the path wins if the file exists and the URL is the fallback.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { NodeUserError, type NodeContext } from '../../engine/node-type.js';
import { sha256 } from '../../engine/json.js';

export interface SourceParams {
  path?: string;
  url?: string;
  sha256?: string;
}

export interface Source {
  /** What errors call the file: the path as written, or the URL. */
  name: string;
  bytes: Uint8Array;
}

export async function download(url: string, outPath: string, expected: string | undefined, signal: AbortSignal): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, { signal, redirect: 'follow' });
  } catch (error) {
    const code = ((error as Error & { cause?: { code?: unknown } }).cause)?.code;
    throw new NodeUserError(`cannot download ${url}: ${(error as Error).message}${typeof code === 'string' ? ` (${code})` : ''}`, ['url']);
  }
  if (!response.ok) throw new NodeUserError(`cannot download ${url}: HTTP ${response.status}`, ['url']);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const digest = sha256(bytes);
  if (expected !== undefined && digest !== expected.toLowerCase()) {
    throw new NodeUserError(`${url} has sha256 ${digest}, expected ${expected}`, ['sha256'], 'the file changed upstream; check it and update sha256');
  }
  writeFileSync(outPath, bytes);
}

export async function readSource(p: SourceParams, ctx: NodeContext<unknown>): Promise<Source> {
  if (p.path !== undefined) {
    const abs = ctx.resolvePath(p.path);
    if (existsSync(abs)) {
      const bytes = readFileSync(abs);
      if (p.sha256 !== undefined && p.url === undefined && sha256(bytes) !== p.sha256.toLowerCase()) {
        throw new NodeUserError(`${p.path} has sha256 ${sha256(bytes)}, expected ${p.sha256}`, ['sha256']);
      }
      return { name: p.path, bytes };
    }
    if (p.url === undefined) {
      throw new NodeUserError(`no file at ${abs}`, ['path'], 'set SYNTHCSE_DATA to the data folder (laid out like shared/data), or give a url');
    }
    ctx.log.info(`${abs} not found; using ${p.url}`);
  }
  if (p.url === undefined) throw new NodeUserError('give a path or a url', ['path']);
  const url = p.url;
  if (!/^https?:\/\//i.test(url)) throw new NodeUserError(`url must be http(s): ${url}`, ['url']);
  const cached = await ctx.memoFile({ load: 'url@1', url, sha256: p.sha256 ?? null }, (out) => download(url, out, p.sha256, ctx.signal));
  return { name: url, bytes: readFileSync(cached) };
}
