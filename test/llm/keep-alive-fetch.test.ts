/**
 * The HTTP providers' fetch (node:http with a keep-alive pool) behaves as fetch does where the SDK and the providers
 * rely on it: one connection reused across calls, answers buffered or streamed (large, gzip), aborts seen as
 * AbortError, a connection cut mid-answer as a failed fetch.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { keepAliveFetch } from '../../engine/llm/providers/keep-alive-fetch.js';

describe('keep-alive fetch', () => {
  let server: Server;
  let base = '';
  const connections = new Set<unknown>();
  const big = 'x'.repeat(9 * 1024 * 1024);
  before(async () => {
    server = createServer((req, res) => {
      connections.add(req.socket);
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        switch (req.url) {
          case '/echo':
            res.writeHead(201, { 'content-type': 'application/json', 'x-seen': String(req.headers['x-test']) });
            res.end(JSON.stringify({ method: req.method, body }));
            return;
          case '/big':
            res.writeHead(200, { 'content-type': 'text/plain' }); // chunked: no content-length
            res.write(big.slice(0, 4 * 1024 * 1024));
            setTimeout(() => res.end(big.slice(4 * 1024 * 1024)), 10);
            return;
          case '/gzip':
            res.writeHead(200, { 'content-encoding': 'gzip' });
            res.end(gzipSync('{"compressed":true}'));
            return;
          case '/hang':
            return;
          case '/cut':
            res.writeHead(200, { 'content-length': '100' });
            res.write('{"partial":');
            setTimeout(() => res.socket?.destroy(), 10);
            return;
        }
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((done) => server.close(() => done())));

  it('sends method, headers and body, gives status, headers and body back, and reuses one connection', async () => {
    const http = keepAliveFetch(16);
    for (let i = 0; i < 5; i++) {
      const response = await http.fetch(`${base}/echo`, { method: 'POST', headers: new Headers({ 'x-test': `call ${i}` }), body: `body ${i}` });
      assert.equal(response.status, 201);
      assert.equal(response.headers.get('x-seen'), `call ${i}`);
      assert.deepEqual(await response.json(), { method: 'POST', body: `body ${i}` });
    }
    assert.equal(connections.size, 1);
    http.close();
  });

  it('streams an answer larger than the buffer limit and decodes gzip', async () => {
    const http = keepAliveFetch(16);
    const large = await http.fetch(`${base}/big`);
    assert.equal((await large.text()).length, big.length);
    const zipped = await http.fetch(`${base}/gzip`);
    assert.deepEqual(await zipped.json(), { compressed: true });
    http.close();
  });

  it('rejects with an AbortError when the signal aborts, and with a failed fetch when the connection is cut', async () => {
    const http = keepAliveFetch(16);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    await assert.rejects(http.fetch(`${base}/hang`, { signal: controller.signal }), (error: Error) => error.name === 'AbortError');
    await assert.rejects(http.fetch(`${base}/cut`), (error: Error) => error instanceof TypeError && error.message === 'fetch failed');
    http.close();
  });
});
