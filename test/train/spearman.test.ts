import assert from 'node:assert/strict';
import { test } from 'node:test';
import { averageRanks, pearson, spearman } from '../../nodes/sts/spearman.js';

test('average ranks share the mean rank of a tie', () => {
  assert.deepEqual(Array.from(averageRanks([10, 20, 20, 30])), [1, 2.5, 2.5, 4]);
  assert.deepEqual(Array.from(averageRanks([3, 1, 3, 3, 2])), [4, 1, 4, 4, 2]);
});

test('spearman without ties matches 1 - 6Σd²/(n(n²-1))', () => {
  // x ranks 1..5, y ranks [2,1,4,3,5]: Σd² = 1+1+1+1+0 = 4 → 1 - 24/120 = 0.8
  assert.ok(Math.abs(spearman([1, 2, 3, 4, 5], [20, 10, 40, 30, 50]) - 0.8) < 1e-12);
});

test('spearman with ties: Pearson of average ranks, hand-computed', () => {
  // x = [1, 2, 2, 3] → ranks [1, 2.5, 2.5, 4]; y = [1, 3, 2, 4] → ranks [1, 3, 2, 4].
  // Means 2.5 and 2.5; deviations x: [-1.5, 0, 0, 1.5], y: [-1.5, 0.5, -0.5, 1.5].
  // Σdxdy = 2.25 + 0 + 0 + 2.25 = 4.5; Σdx² = 4.5; Σdy² = 2.25+0.25+0.25+2.25 = 5 → 4.5/√(4.5·5) = 0.9486832980505138
  assert.ok(Math.abs(spearman([1, 2, 2, 3], [1, 3, 2, 4]) - 0.9486832980505138) < 1e-12);
  // Ties on both sides: x ranks [1.5, 1.5, 3.5, 3.5], y ranks [1, 2.5, 2.5, 4]; Σdxdy = 1.5 + 0 + 0 + 1.5 = 3, Σdx² = 4, Σdy² = 4.5
  assert.ok(Math.abs(spearman([5, 5, 7, 7], [1, 2, 2, 3]) - 3 / Math.sqrt(4 * 4.5)) < 1e-12);
});

test('pearson of constant input is NaN, not a number pretending to be a result', () => {
  assert.ok(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])));
});
