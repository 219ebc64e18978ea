/**
 * Where the load node's bytes come from: a local path (relative to the pipeline file, or absolute), or an
 * http(s) URL downloaded once into the cache (resumable, checked; see data/download.ts). When both
 * are set, the path wins if the file exists and the URL is the fallback.
 */
import { existsSync, readFileSync } from 'node:fs';
import { NodeUserError, type NodeContext } from '../../engine/node-type.js';
import { sha256 } from '../../engine/json.js';
import { cachedDownload } from '../data/download.js';

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
  const cached = await cachedDownload({ url, sha256: p.sha256 }, ctx);
  return { name: url, bytes: readFileSync(cached) };
}
