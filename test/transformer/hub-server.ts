/** A loopback server speaking the Hugging Face hub's file-URL protocol (resolve/REV/FILE, X-Linked-Etag, Range). */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface Hub {
  endpoint: string;
  requests: { url: string; range?: string; auth?: string }[];
  /** Next response for model.safetensors: 'cut' sends half the body then drops the connection; 'corrupt' flips a byte. */
  fault: 'none' | 'cut' | 'corrupt';
  close(): Promise<void>;
}

/** Serves `folder`'s files as repositories `repos` at `revision`. */
export async function startHub(folder: string, repos: string | readonly string[], revision: string): Promise<Hub> {
  const files = new Map<string, Buffer>();
  for (const name of readdirSync(folder)) files.set(name, readFileSync(join(folder, name)));
  const hub: Hub = { endpoint: '', requests: [], fault: 'none', close: async () => {} };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    hub.requests.push({ url: req.url!, ...(req.headers.range ? { range: req.headers.range } : {}), ...(req.headers.authorization ? { auth: req.headers.authorization } : {}) });
    const prefix = [repos].flat().map((repo) => `/${repo}/resolve/${revision}/`).find((p) => req.url!.startsWith(p));
    const name = prefix ? decodeURIComponent(req.url!.slice(prefix.length)) : '';
    const body = files.get(name);
    if (!body) {
      res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end();
      return;
    }
    const lfs = name.endsWith('.safetensors');
    const headers: Record<string, string> = { 'x-repo-commit': 'a'.repeat(40) };
    // As the hub: LFS files carry their sha256 in X-Linked-Etag; git files a sha1 ETag.
    if (lfs) headers['x-linked-etag'] = `"${createHash('sha256').update(body).digest('hex')}"`;
    else headers.etag = `"${createHash('sha1').update(body).digest('hex')}"`;
    let payload = body;
    if (lfs && hub.fault === 'corrupt') {
      payload = Buffer.from(body);
      payload[payload.length - 1]! ^= 0xff;
      hub.fault = 'none';
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range) {
      const start = Number(range[1]);
      res.writeHead(206, { ...headers, 'content-length': String(payload.length - start), 'content-range': `bytes ${start}-${payload.length - 1}/${payload.length}` });
      res.end(payload.subarray(start));
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': String(payload.length) });
    if (lfs && hub.fault === 'cut') {
      hub.fault = 'none';
      res.write(payload.subarray(0, payload.length >> 1), () => res.destroy());
      return;
    }
    res.end(payload);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  hub.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  hub.close = () => new Promise((r) => server.close(() => r()));
  return hub;
}

