/** Smooth inverse frequency weights and common-component removal (Arora et al., 2017). */

export const SIF_A = 1e-3;

/**
 * p(w) for a frequency-ordered vocabulary under Zipf's law: p(rank r) ∝ 1/r, normalised over the vocabulary.
 * Used when no word counts are given; GloVe's vocabulary is sorted by corpus frequency.
 */
export function zipfProbabilities(vocabSize: number): Float64Array {
  const p = new Float64Array(vocabSize);
  let total = 0;
  for (let r = 0; r < vocabSize; r++) total += 1 / (r + 1);
  for (let r = 0; r < vocabSize; r++) p[r] = 1 / (r + 1) / total;
  return p;
}

/** a / (a + p(w)) per vocabulary row, from probabilities or raw counts. */
export function sifWeights(probabilities: ArrayLike<number>, a = SIF_A): Float32Array {
  const w = new Float32Array(probabilities.length);
  for (let i = 0; i < w.length; i++) w[i] = a / (a + probabilities[i]!);
  return w;
}

export function countsToProbabilities(counts: ArrayLike<number>): Float64Array {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  const p = new Float64Array(counts.length);
  if (total > 0) for (let i = 0; i < counts.length; i++) p[i] = counts[i]! / total;
  return p;
}

/**
 * First principal direction (uncentred, as in the SIF paper's TruncatedSVD) of the rows, a unit vector.
 * Power iteration on XᵀX from a fixed start, so the result is deterministic.
 */
export function firstPrincipalComponent(rows: readonly Float32Array[], dim: number, iterations = 200): Float32Array {
  const cov = new Float64Array(dim * dim);
  for (const row of rows) {
    for (let i = 0; i < dim; i++) {
      const ri = row[i]!;
      if (ri === 0) continue;
      for (let j = 0; j < dim; j++) cov[i * dim + j]! += ri * row[j]!;
    }
  }
  let v = new Float64Array(dim).fill(1 / Math.sqrt(dim));
  for (let it = 0; it < iterations; it++) {
    const next = new Float64Array(dim);
    for (let i = 0; i < dim; i++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += cov[i * dim + j]! * v[j]!;
      next[i] = s;
    }
    let norm = 0;
    for (let i = 0; i < dim; i++) norm += next[i]! * next[i]!;
    norm = Math.sqrt(norm);
    if (norm === 0) break;
    for (let i = 0; i < dim; i++) next[i]! /= norm;
    v = next;
  }
  // Sign convention: largest-magnitude coordinate positive (the removal x - (x·u)u does not depend on the sign).
  let maxAt = 0;
  for (let i = 1; i < dim; i++) if (Math.abs(v[i]!) > Math.abs(v[maxAt]!)) maxAt = i;
  const sign = v[maxAt]! < 0 ? -1 : 1;
  return Float32Array.from(v, (x) => x * sign);
}

/** x ← x − (x·u)u in place. */
export function removeComponent(x: Float32Array, u: Float32Array): void {
  let dot = 0;
  for (let i = 0; i < x.length; i++) dot += x[i]! * u[i]!;
  for (let i = 0; i < x.length; i++) x[i]! -= dot * u[i]!;
}
