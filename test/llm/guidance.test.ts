/**
 * The decoding arithmetic against tables computed by hand (Python, float64): self-debiasing with decay λ = 100 and
 * ε = 0.01 (the max over counter-labels, the ε floor), top-k and top-p applied after debiasing, contrastive decoding.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contrast, minP, sampleToken, samplingDistribution, selfDebias, topK, topP, withTemperature } from '../../engine/llm/guidance.js';

const p = Float64Array.from([0.5, 0.3, 0.15, 0.05]);
/** Counter-label 1 raises token 1 by 0.02 and token 2 by 0.01 over the label; counter-label 2 raises token 2 by 0.51. */
const q1 = Float64Array.from([0.2, 0.32, 0.16, 0.32]);
const q2 = Float64Array.from([0.1, 0.2, 0.66, 0.04]);

function assertTable(actual: Float64Array, expected: number[]): void {
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i]! - e) < 1e-12, `token ${i}: ${actual[i]} ≠ ${e}`));
}

test('self-debiasing scales each token by max(exp(-λ·Δ), ε), Δ taken against the max over counter-labels', () => {
  // Δ = [0, 0.02, 0.51, 0.27]; factors [1, e^-2, ε, ε].
  assertTable(selfDebias(p, [q1, q2], 100, 0.01), [0.9214881329822714, 0.07482591448579973, 0.0027644643989468143, 0.0009214881329822714]);
  // Against counter-label 1 alone, token 2 is only 0.01 more likely there: factor e^-1, not ε.
  assertTable(selfDebias(p, [q1], 100, 0.01), [0.8385287158996937, 0.06808951276099079, 0.09254324262341586, 0.0008385287158996938]);
  // Without the ε floor the pushed-down tokens all but vanish.
  assertTable(selfDebias(p, [q1, q2], 100, 0), [0.9248972603807859, 0.07510273961904033, 1.9687753841399323e-23, 1.738371053223739e-13]);
  // No counter-labels (DINO's label 1): unchanged.
  assertTable(selfDebias(p, [], 100, 0.01), [...p]);
});

test('top-k and top-p act on the debiased distribution', () => {
  const debiased = selfDebias(p, [q1, q2], 100, 0.01);
  assertTable(topK(debiased, 2), [0.9248972603809466, 0.07510273961905337, 0, 0]);
  // Counter-label 1 alone: ranked 0 (0.839), 2 (0.093), 1 (0.068): top-p 0.9 keeps tokens 0 and 2. On the raw p it would
  // have kept 0, 1 and 2 (0.5 + 0.3 < 0.9).
  const againstQ1 = selfDebias(p, [q1], 100, 0.01);
  assertTable(topP(againstQ1, 0.9), [0.9006057031615362, 0, 0.09939429683846386, 0]);
  assertTable(topP(p, 0.9), [0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0]);
  // DINO's settings together: top-k 5 (no-op on 4 tokens), then top-p 0.9.
  assertTable(samplingDistribution(againstQ1, { topK: 5, topP: 0.9 }), [0.9006057031615362, 0, 0.09939429683846386, 0]);
  // min-p 0.1 after debiasing: only tokens at least 0.1 × 0.839 = 0.0839 likely stay (0 and 2).
  assertTable(minP(againstQ1, 0.1), [0.9006057031615362, 0, 0.09939429683846386, 0]);
  // top-k keeps ties with the k-th token.
  assertTable(topK(Float64Array.from([0.4, 0.2, 0.2, 0.2]), 2), [0.4, 0.2, 0.2, 0.2]);
  assertTable(topK(Float64Array.from([0.4, 0.3, 0.2, 0.1]), 2), [0.4 / 0.7, 0.3 / 0.7, 0, 0]);
});

test('contrastive decoding is softmax(log p − ω·log q)', () => {
  const main = Float64Array.from([0.5, 0.25, 0.25]);
  const opposite = Float64Array.from([0.25, 0.5, 0.25]);
  // ω = 1: p/q = [2, 0.5, 1] / 3.5.
  assertTable(contrast(main, opposite, 1), [2 / 3.5, 0.5 / 3.5, 1 / 3.5]);
  // ω = 0.5: p/√q = [1, 0.25/√0.5, 0.5], normalized.
  assertTable(contrast(main, opposite, 0.5), [0.5395042867796359, 0.19074356983054616, 0.26975214338981796]);
  // ω = 0: the main distribution.
  assertTable(contrast(main, opposite, 0), [0.5, 0.25, 0.25]);
  // A token with zero probability under both stays finite and negligible (no NaN).
  const out = contrast(Float64Array.from([0.5, 0.5, 0]), Float64Array.from([0.5, 0.5, 0]), 1);
  assert.ok(out.every((x) => Number.isFinite(x)));
});

test('temperature and the draw', () => {
  assertTable(withTemperature(Float64Array.from([0.8, 0.2]), 0.5), [0.64 / 0.68, 0.04 / 0.68]);
  // Cumulative mass in token order: [0.5 | 0.3 | 0.15 | 0.05].
  assert.equal(sampleToken(p, {}, 0.49), 0);
  assert.equal(sampleToken(p, {}, 0.5), 1);
  assert.equal(sampleToken(p, {}, 0.96), 3);
  assert.equal(sampleToken(p, { topK: 2 }, 0.99), 1);
  assert.equal(sampleToken(q2, { temperature: 0 }, 0.01), 2);
});
