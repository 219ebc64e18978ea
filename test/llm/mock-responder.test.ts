import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultResponder, type MockChatRequest } from '../support/llm-responder.js';

function ask(system: string | undefined, user: string, variant = 0): string {
  const request: MockChatRequest = { api: 'anthropic', variant, model: 'm', system, messages: [{ role: 'user', content: user }], maxTokens: 512, stop: [] };
  return defaultResponder(request);
}

describe('the mock server default responder', () => {
  it('paraphrases and contradicts SynCSE-style instructions', () => {
    const positive = 'Please paraphrase the input sentence or phrase, providing an alternative expression with the same meaning.';
    const negative =
      'Revise the provided sentence by swapping, changing, or contradicting some details in order to express a different meaning, while maintaining the general context and structure.';
    assert.equal(ask(positive, 'A man is walking down the street.'), 'A guy is strolling down the road.');
    assert.equal(ask(negative, 'A man is walking down the street.'), 'A woman is walking up the street.');
    assert.notEqual(ask(positive, 'A man is walking.', 1), ask(positive, 'A man is walking.', 0));
  });

  it('recognises every shipped SynCSE instruction and the MultiCSR prompts', () => {
    const template = (instruction: string, input: string) => `${instruction}\n\nInput: ${input}`;
    const sentence = 'A man is walking down the street.';
    for (const instruction of [
      'Generate a slightly modified version of the provided sentence to express an opposing or alternate meaning by changing one or two specific elements, while maintaining the overall context and sentence structure.',
      'Generate a sentence that conveys a altering, contrasting or opposite idea to the given input sentence, while ensuring the new sentence is logical, realistic, and grounded in common sense.',
    ]) {
      assert.equal(ask(undefined, template(instruction, sentence)), 'A woman is walking up the street.');
    }
    for (const instruction of [
      'Create a sentence or phrase that is also true, assuming the provided input sentence or phrase is true.',
      'Rewrite the following sentence or phrase using different words and sentence structure while preserving its original meaning.',
    ]) {
      assert.equal(ask(undefined, template(instruction, sentence)), 'A guy is strolling down the road.');
    }
    const multicsr = "Help me write a sentence that is negative with a given sentence. Here are some examples:\n\nWrite a sentence that is negative with 'A man is walking down the street.': ";
    assert.equal(ask(undefined, multicsr), 'A woman is walking up the street.');
    assert.equal(ask(undefined, multicsr.replaceAll('negative', 'entailment')), 'A guy is strolling down the road.');
  });

  it('scores similarity prompts with a number between 0 and 5', () => {
    const reply = ask(undefined, 'Scoring the semantic similarity of the following sentences between 0.0 and 5.0: (a) A dog runs. (b) A dog runs fast.');
    assert.match(reply, /^[0-5]\.\d$/);
  });

  it('continues DINO prompts up to a closing quote', () => {
    const reply = ask(undefined, 'Task: Write two sentences that mean the same thing.\nSentence 1: "A big dog barks."\nSentence 2: "');
    assert.match(reply, /^[^"]+"/);
    assert.equal(reply.split('"')[0], 'A large puppy barks.');
  });

  it('writes numbered lists for scratch generation prompts', () => {
    const reply = ask(undefined, 'Generate 20 sentences about the topics below in the genre of news.');
    const lines = reply.split('\n');
    assert.equal(lines.length, 20);
    assert.match(lines[0]!, /^1\. /);
    assert.match(lines[19]!, /^20\. /);
  });

  it('echoes anything else', () => {
    assert.equal(ask(undefined, 'hello'), 'Echo: hello');
  });
});
