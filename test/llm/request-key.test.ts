/** The canonical JSON of a message, written once for frozen shared messages: always the text canonicalJson writes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson } from '../../engine/json.js';
import { keyedCall, messageJson, prefixDigestOf, serializeRequest } from '../../engine/llm/request-key.js';
import type { ChatMessage, LlmRequest } from '../../engine/llm/types.js';

test('a message is written as canonicalJson writes it, frozen or not, whatever its members', () => {
  const messages: unknown[] = [
    { role: 'user', content: 'plain' },
    { content: 'members in the other order', role: 'assistant' },
    { role: 'user', content: 'quotes " \\ \n\u2028 and emoji 🙂' },
    { role: 'user', content: 'an extra member', name: 'x' },
    { role: 'user', content: 'an undefined member', name: undefined },
    Object.assign(Object.create({ inherited: 1 }) as object, { role: 'user', content: 'a prototype' }),
    { role: 'user', content: ['a', 'nested', 'value'] },
  ];
  for (const message of messages) {
    assert.equal(messageJson(message as ChatMessage), canonicalJson(message));
    const frozen = Object.freeze({ ...(message as object) });
    assert.equal(messageJson(frozen as ChatMessage), canonicalJson(frozen));
    assert.equal(messageJson(frozen as ChatMessage), canonicalJson(frozen), 'written again from the memo');
  }
});

test('a frozen message that holds an object is written anew each time: what it holds can change', () => {
  const content = { text: 'before' };
  const message = Object.freeze({ role: 'user', content }) as unknown as ChatMessage;
  assert.equal(messageJson(message), '{"content":{"text":"before"},"role":"user"}');
  content.text = 'after';
  assert.equal(messageJson(message), '{"content":{"text":"after"},"role":"user"}');
});

test('a request with shared frozen turns has the key and prefix digest of its unshared copy', () => {
  const shot = Object.freeze<ChatMessage>({ role: 'user', content: 'Input: a shot' });
  const answer = Object.freeze<ChatMessage>({ role: 'assistant', content: 'the shot answered' });
  const request: LlmRequest = { model: 'm', system: 'sys', messages: [shot, answer, { role: 'user', content: 'Input: the sentence' }], max_tokens: 32, temperature: 0.7 };
  const copy = structuredClone(request);
  for (let i = 0; i < 2; i++) {
    const keyed = keyedCall('anthropic', null, request, 3);
    assert.equal(keyed.key, keyedCall('anthropic', null, copy, 3).key);
    assert.equal(serializeRequest(request, keyed.messages).prefixDigest, prefixDigestOf(copy));
  }
});
