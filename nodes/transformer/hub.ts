/**
 * `hf:ORG/NAME[@REVISION]`: a model folder downloaded once from the Hugging Face hub's file URLs
 * ({HF_ENDPOINT}/{ORG}/{NAME}/resolve/{REVISION}/{file}, default endpoint https://huggingface.co, revision main),
 * with HF_TOKEN as a bearer token when set. Large (LFS) files are verified against the sha256 the hub sends in
 * X-Linked-Etag; a broken transfer resumes from its partial file on the next run. Files land in
 * <cache>/hub/ORG--NAME/REVISION/, which loadCheckpoint then reads like any local folder.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DownloadError, downloadToFile } from '../data/fetch-file.js';

export interface HubModel {
  repo: string;
  revision: string;
}

const REQUIRED = ['config.json', 'model.safetensors', 'tokenizer.json'];
/** Present in sentence-transformers repositories; a 404 just means the model has none. */
const OPTIONAL = ['tokenizer_config.json', 'modules.json', 'sentence_bert_config.json', '1_Pooling/config.json'];

export function parseHubModel(spec: string): HubModel | undefined {
  const m = /^hf:([\w.-]+\/[\w.-]+)(?:@([\w./-]+))?$/.exec(spec);
  if (!m) return undefined;
  return { repo: m[1]!, revision: m[2] ?? 'main' };
}

export function hubFolder(cacheDir: string, model: HubModel): string {
  return join(cacheDir, 'hub', model.repo.replace('/', '--'), model.revision.replaceAll('/', '--'));
}

/** The sha256 of an LFS file, from X-Linked-Etag (or an ETag that is a sha256); small git files have a sha1 ETag. */
function lfsSha256(response: Response): string | undefined {
  for (const name of ['x-linked-etag', 'etag']) {
    const value = response.headers.get(name)?.replace(/^W\//, '').replaceAll('"', '');
    if (value && /^[0-9a-f]{64}$/i.test(value)) return value;
  }
  return undefined;
}

export interface HubDownloadOptions {
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Per file: bytes so far and total when known. */
  onProgress?: (file: string, bytes: number, total: number | undefined) => void;
  log?: (message: string) => void;
  /** Told when the revision is a branch or tag (the key then names moving content), with the commit to pin. */
  warn?: (message: string) => void;
}

export class HubError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HubError';
  }
}

export async function downloadHubModel(model: HubModel, cacheDir: string, options: HubDownloadOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const endpoint = (env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
  const headers: Record<string, string> = {};
  if (env.HF_TOKEN) headers.authorization = `Bearer ${env.HF_TOKEN}`;
  const folder = hubFolder(cacheDir, model);
  for (const file of [...REQUIRED, ...OPTIONAL]) {
    const target = join(folder, file);
    const missingMarker = `${target}.absent`;
    if (existsSync(target) || existsSync(missingMarker)) continue;
    mkdirSync(dirname(target), { recursive: true });
    const url = `${endpoint}/${model.repo}/resolve/${encodeURIComponent(model.revision)}/${file}`;
    try {
      const result = await downloadToFile(url, target, {
        headers,
        sha256: lfsSha256,
        ...(options.signal ? { signal: options.signal } : {}),
        onProgress: (bytes, total) => options.onProgress?.(file, bytes, total),
      });
      const commit = result.response.headers.get('x-repo-commit');
      options.log?.(`hf:${model.repo}@${model.revision}: ${file} (${result.bytes} bytes${result.resumed ? ', resumed' : ''})`);
      if (file === 'config.json' && commit && !/^[0-9a-f]{40}$/.test(model.revision)) {
        options.warn?.(`hf:${model.repo}@${model.revision} is commit ${commit} today; the node key names the revision, not the files, so pin it: hf:${model.repo}@${commit}`);
      }
    } catch (error) {
      if (error instanceof DownloadError && error.status === 404 && OPTIONAL.includes(file)) {
        writeFileSync(missingMarker, '');
        continue;
      }
      if (error instanceof DownloadError && (error.status === 401 || error.status === 403)) {
        throw new HubError(`${error.message}: the model is gated or private; set HF_TOKEN to a token that can read ${model.repo}.`);
      }
      if (error instanceof DownloadError && error.status === 404) {
        throw new HubError(`${error.message}: ${model.repo}@${model.revision} has no ${file} (synthcse reads safetensors weights and a tokenizer.json).`);
      }
      if (error instanceof DownloadError) throw new HubError(error.message);
      throw error;
    }
  }
  return folder;
}
