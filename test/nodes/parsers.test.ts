import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DINO_DEFAULT_RULES, dinoParserKey, parseDinoContinuation, parseScore, parseSentence, parseSentenceList } from '../../nodes/prompts/parsers.js';

const ok = (text: string) => ({ text, stopReason: 'end_turn' });

test('parseScore accepts one number 0-5 with at most one decimal', () => {
  assert.equal(parseScore(ok('3')), 3);
  assert.equal(parseScore(ok('4.5')), 4.5);
  assert.equal(parseScore(ok(' 0.0 ')), 0);
  assert.equal(parseScore(ok('5.0')), 5);
  assert.equal(parseScore(ok('2.')), 2);
});

test('parseScore rejects anything else', () => {
  for (const bad of ['5.5', '6', '4.25', '-1', 'about 3', 'Score: 3.5', '3/5', '3.5 out of 5', 'three', '3,5', '']) {
    assert.throws(() => parseScore(ok(bad)), Error, `should reject ${JSON.stringify(bad)}`);
  }
  assert.throws(() => parseScore({ text: '4', stopReason: 'max_tokens' }), /max_tokens/);
});

test('parseSentence strips labels and wrapping quotes, rejects refusals and multi-line replies', () => {
  assert.equal(parseSentence(ok('"A man clears snow."')), 'A man clears snow.');
  assert.equal(parseSentence(ok('Output: A man clears snow.')), 'A man clears snow.');
  assert.equal(parseSentence(ok('\u201cA man clears snow.\u201d')), 'A man clears snow.');
  // A sentence that contains its own quotation keeps it.
  assert.equal(parseSentence(ok('"Stop," he said, "right now."')), '"Stop," he said, "right now."');
  assert.throws(() => parseSentence(ok("I'm sorry, but I cannot generate that.")), /refused/);
  assert.throws(() => parseSentence(ok('A.\nB.')), /not one sentence/);
  assert.throws(() => parseSentence(ok('   ')), /empty reply/);
  assert.throws(() => parseSentence({ text: 'A man', stopReason: 'max_tokens' }), /max_tokens/);
  assert.throws(() => parseSentence({ text: 'x', stopReason: 'refusal' }), /refused/);
});

test('parseDinoContinuation cuts at the closing quote', () => {
  assert.equal(parseDinoContinuation(ok('A cat sleeps on the mat." and more')), 'A cat sleeps on the mat.');
  assert.equal(parseDinoContinuation(ok('Sentence 2: "A cat sleeps."')), 'A cat sleeps.');
  assert.equal(parseDinoContinuation(ok('Sentence 1: "Birds sing."'), 'Sentence 1'), 'Birds sing.');
  assert.equal(parseDinoContinuation(ok('A cat sleeps."\nTask: more')), 'A cat sleeps.', 'a newline after the quote is not in the output');
  assert.throws(() => parseDinoContinuation(ok('""')), /empty/);
});

test('parseDinoContinuation drops what DINO drops, each rule an option as its flags', () => {
  assert.throws(() => parseDinoContinuation(ok('A cat sleeps.')), /no closing quote/);
  assert.throws(() => parseDinoContinuation(ok('A cat sleeps.\nTask: more')), /no closing quote/);
  assert.throws(() => parseDinoContinuation(ok('A cat\nsleeps."')), /newline before the closing quote/);
  const keep = { keepWithoutClosingQuote: true, allowNewlines: false };
  assert.equal(parseDinoContinuation(ok('A cat sleeps.'), 'Sentence 2', keep), 'A cat sleeps.');
  assert.throws(() => parseDinoContinuation(ok('A cat sleeps.\nTask: more'), 'Sentence 2', keep), /newline/);
  const newlines = { keepWithoutClosingQuote: false, allowNewlines: true };
  assert.equal(parseDinoContinuation(ok('A cat\nsleeps."'), 'Sentence 2', newlines), 'A cat\nsleeps.');
  assert.notEqual(dinoParserKey(keep), dinoParserKey(DINO_DEFAULT_RULES), 'the rules are part of the item key');
});

test('parseSentenceList reads numbered, bulleted and plain lists', () => {
  assert.deepEqual(parseSentenceList(ok('Here are 3 sentences:\n1. One.\n2) Two.\n3. "Three."\nHope this helps!')), ['One.', 'Two.', 'Three.']);
  assert.deepEqual(parseSentenceList(ok('- One.\n* Two.\n\u2022 Three.')), ['One.', 'Two.', 'Three.']);
  assert.deepEqual(parseSentenceList(ok('Sentences:\nOne.\n\nTwo.')), ['One.', 'Two.']);
  assert.deepEqual(parseSentenceList(ok('10. Ten.\n11. Eleven.')), ['Ten.', 'Eleven.']);
  assert.throws(() => parseSentenceList(ok('Sentences:')), /no sentences/);
});
