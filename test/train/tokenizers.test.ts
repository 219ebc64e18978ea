import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tokenizeWords } from '../../nodes/encoders/tokenizer.js';
import { sifWeights, zipfProbabilities, firstPrincipalComponent } from '../../nodes/encoders/sif.js';

test('word tokenizer: lower-cased runs of letters, marks and digits; punctuation dropped', () => {
  assert.deepEqual(tokenizeWords("It's a dog-friendly Café, 2 blocks away!"), ['it', 's', 'a', 'dog', 'friendly', 'café', '2', 'blocks', 'away']);
  assert.deepEqual(tokenizeWords('...'), []);
});

test('SIF weights: a/(a+p) with Zipf p over the frequency order', () => {
  const p = zipfProbabilities(3);
  const h = 1 + 1 / 2 + 1 / 3;
  assert.ok(Math.abs(p[0]! - 1 / h) < 1e-12 && Math.abs(p[2]! - 1 / 3 / h) < 1e-12);
  const w = sifWeights(p);
  assert.ok(Math.abs(w[0]! - 1e-3 / (1e-3 + 1 / h)) < 1e-7);
  assert.ok(w[0]! < w[1]! && w[1]! < w[2]!);
});

test('first principal component of rows along one axis is that axis', () => {
  const rows = [Float32Array.from([3, 0.1]), Float32Array.from([-2, 0]), Float32Array.from([5, -0.1])];
  const u = firstPrincipalComponent(rows, 2);
  assert.ok(Math.abs(Math.abs(u[0]!) - 1) < 1e-3);
});
