/**
 * A loopback stand-in for the public data hosts (the Hugging Face hub's file URLs, the STS benchmark's site): serves
 * files with Content-Length, HEAD, Range requests (206) and the hub's X-Linked-ETag checksum, and can break a
 * download off half-way to test resuming. Also writes the .tar.gz archives such hosts publish.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

export interface DataServer {
  url: string;
  /** GET requests per path, and the Range headers seen. */
  gets: Map<string, number>;
  ranges: string[];
  /** Breaks the next GET of this path after half of its bytes. */
  breakNext(path: string): void;
  close(): Promise<void>;
}

export async function startDataServer(files: Record<string, Buffer>, options: { checksums?: boolean } = {}): Promise<DataServer> {
  const gets = new Map<string, number>();
  const ranges: string[] = [];
  const broken = new Set<string>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const body = files[path];
    if (body === undefined) {
      res.writeHead(404).end('Entry not found');
      return;
    }
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes' };
    if (options.checksums !== false) headers['x-linked-etag'] = `"${createHash('sha256').update(body).digest('hex')}"`;
    if (req.method === 'HEAD') {
      res.writeHead(200, { ...headers, 'content-length': String(body.length) }).end();
      return;
    }
    gets.set(path, (gets.get(path) ?? 0) + 1);
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    let part = body;
    if (range) {
      ranges.push(req.headers.range!);
      part = body.subarray(Number(range[1]));
      res.writeHead(206, { ...headers, 'content-length': String(part.length), 'content-range': `bytes ${range[1]}-${body.length - 1}/${body.length}` });
    } else res.writeHead(200, { ...headers, 'content-length': String(body.length) });
    if (broken.delete(path)) {
      res.write(part.subarray(0, Math.floor(part.length / 2)), () => setTimeout(() => res.destroy(), 50));
      return;
    }
    res.end(part);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    gets,
    ranges,
    breakNext: (path) => broken.add(path),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A .tar.gz holding the given files (ustar headers, as tar writes them). */
export function tarGz(files: Record<string, Buffer>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, body] of Object.entries(files)) {
    const header = Buffer.alloc(512);
    const put = (text: string, offset: number, length: number) => header.write(text.slice(0, length), offset, length, 'utf8');
    put(name, 0, 100);
    put('0000644\0', 100, 8);
    put('0000000\0', 108, 8);
    put('0000000\0', 116, 8);
    put(body.length.toString(8).padStart(11, '0') + '\0', 124, 12);
    put('14000000000\0', 136, 12);
    put('        ', 148, 8);
    put('0', 156, 1);
    put('ustar\0', 257, 6);
    put('00', 263, 2);
    const sum = header.reduce((n, b) => n + b, 0);
    put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}
