/** The openai-compatible provider sends the sampling fields vLLM and llama.cpp servers accept (top_k, min_p). */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { OpenAiCompatibleProvider } from '../../engine/llm/providers/openai-compatible.js';

test('top_k and min_p reach the server in the chat completions body', async () => {
  const bodies: Record<string, unknown>[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      bodies.push(JSON.parse(text) as Record<string, unknown>);
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({ model: 'local', choices: [{ index: 0, message: { role: 'assistant', content: 'A cat sleeps.' }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 3 } }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const provider = new OpenAiCompatibleProvider({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, apiKey: undefined });
    const request = { model: 'local', messages: [{ role: 'user' as const, content: 'Continue: "' }], max_tokens: 16, top_p: 0.9, top_k: 5, min_p: 0.05 };
    assert.deepEqual(provider.validate(request), []);
    const reply = await provider.send(request, { timeoutMs: 5000 });
    assert.equal(reply.text, 'A cat sleeps.');
    assert.deepEqual([bodies[0]!.top_p, bodies[0]!.top_k, bodies[0]!.min_p], [0.9, 5, 0.05]);
  } finally {
    server.close();
  }
});
