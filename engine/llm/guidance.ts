/**
 * Token-level decoding arithmetic on full next-token distributions (one probability per vocabulary entry), kept free
 * of any model so each step can be checked against hand-computed tables.
 *
 * - Self-debiasing (Schick, Udupa & Schütze 2021; used by DINO, Schick & Schütze 2021): with p the label prompt's
 *   distribution and q_c those of its counter-label prompts, Δ(w) = max(0, max_c q_c(w) − p(w)); each token is
 *   scaled by max(exp(−λ·Δ(w)), ε) and the result renormalized. Tokens the counter-labels make more likely than the
 *   label itself are pushed down; ε keeps them from vanishing entirely.
 * - Contrastive decoding (MultiCSR, Wang et al. 2024): scores l − ω·l̂ with l̂ from the contrast prompt. With
 *   probabilities in hand, log p − ω·log q differs from l − ω·l̂ by a constant per step, so its softmax is the same.
 * - Then temperature, top-k, top-p and min-p (in that order, as in Hugging Face's sampling warpers), and a draw.
 */

export type Distribution = Float64Array;

/** Probabilities below this are treated as this in logarithms, so a zero in float32 output does not give −∞ − −∞. */
export const MIN_PROBABILITY = 1e-45;

export function normalize(scores: Distribution): Distribution {
  let total = 0;
  for (const s of scores) total += s;
  if (!(total > 0)) throw new Error('Internal error: cannot normalize a distribution with no mass');
  const out = new Float64Array(scores.length);
  for (let i = 0; i < scores.length; i++) out[i] = scores[i]! / total;
  return out;
}

/** DINO's self-debiasing of `label` against its counter-label distributions (none: returned unchanged). */
export function selfDebias(label: Distribution, counters: readonly Distribution[], decay: number, epsilon: number): Distribution {
  if (counters.length === 0) return label;
  const scaled = new Float64Array(label.length);
  for (let i = 0; i < label.length; i++) {
    let counter = 0;
    for (const q of counters) counter = Math.max(counter, q[i]!);
    const delta = Math.max(0, counter - label[i]!);
    scaled[i] = label[i]! * Math.max(Math.exp(-decay * delta), epsilon);
  }
  return normalize(scaled);
}

/** softmax(log p − ω·log q): MultiCSR's contrastive decoding against the opposite instruction. */
export function contrast(main: Distribution, opposite: Distribution, omega: number): Distribution {
  const scores = new Float64Array(main.length);
  let max = -Infinity;
  for (let i = 0; i < main.length; i++) {
    const s = Math.log(Math.max(main[i]!, MIN_PROBABILITY)) - omega * Math.log(Math.max(opposite[i]!, MIN_PROBABILITY));
    scores[i] = s;
    if (s > max) max = s;
  }
  for (let i = 0; i < scores.length; i++) scores[i] = Math.exp(scores[i]! - max);
  return normalize(scores);
}

/** p^(1/T), renormalized; T = 1 returns p. (T = 0 is greedy decoding: see `sampleToken`.) */
export function withTemperature(p: Distribution, temperature: number): Distribution {
  if (temperature === 1) return p;
  if (!(temperature > 0)) throw new Error(`Internal error: temperature must be positive here, got ${temperature}`);
  const out = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) out[i] = p[i]! ** (1 / temperature);
  return normalize(out);
}

/** Token ids with nonzero probability, by descending probability; ties by ascending id, so the order is deterministic. */
function ranked(p: Distribution): number[] {
  const ids: number[] = [];
  for (let i = 0; i < p.length; i++) if (p[i]! > 0) ids.push(i);
  return ids.sort((a, b) => p[b]! - p[a]! || a - b);
}

/** The k-th largest probability, by one pass keeping the k largest seen (k is small: DINO's 5). */
function kthLargest(p: Distribution, k: number): number {
  const top: number[] = [];
  for (let i = 0; i < p.length; i++) {
    const x = p[i]!;
    if (top.length === k && x <= top[k - 1]!) continue;
    let at = top.length;
    while (at > 0 && top[at - 1]! < x) at--;
    top.splice(at, 0, x);
    if (top.length > k) top.pop();
  }
  return top[top.length - 1]!;
}

/** Keeps the k most likely tokens (and any tied with the k-th, as Hugging Face does), renormalized. */
export function topK(p: Distribution, k: number): Distribution {
  if (k >= p.length) return p;
  const threshold = kthLargest(p, k);
  const out = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) if (p[i]! >= threshold) out[i] = p[i]!;
  return normalize(out);
}

/** Keeps the smallest set of most likely tokens whose mass reaches `topP` (at least one), renormalized. */
export function topP(p: Distribution, top: number): Distribution {
  if (top >= 1) return p;
  const out = new Float64Array(p.length);
  let mass = 0;
  for (const id of ranked(p)) {
    if (mass >= top) break;
    out[id] = p[id]!;
    mass += p[id]!;
  }
  return normalize(out);
}

function argmax(p: Distribution): number {
  let best = 0;
  for (let i = 1; i < p.length; i++) if (p[i]! > p[best]!) best = i;
  return best;
}

/** Keeps the tokens at least `minP` times as likely as the most likely one, renormalized. */
export function minP(p: Distribution, min: number): Distribution {
  if (min <= 0) return p;
  const threshold = p[argmax(p)]! * min;
  const out = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) if (p[i]! >= threshold) out[i] = p[i]!;
  return normalize(out);
}

export interface SamplingParameters {
  /** 0: greedy. Default 1. */
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
}

/** The distribution a token is drawn from: temperature, then top-k, then top-p, then min-p. */
export function samplingDistribution(p: Distribution, s: SamplingParameters): Distribution {
  let out = s.temperature === undefined || s.temperature === 0 ? p : withTemperature(p, s.temperature);
  if (s.topK !== undefined) out = topK(out, s.topK);
  if (s.topP !== undefined) out = topP(out, s.topP);
  if (s.minP !== undefined) out = minP(out, s.minP);
  return out;
}

/**
 * Draws a token: with temperature 0 the most likely one, else the token where the cumulative mass (in token id order)
 * passes `u` ∈ [0, 1).
 */
export function sampleToken(p: Distribution, s: SamplingParameters, u: number): number {
  if (s.temperature === 0) return argmax(p);
  const q = samplingDistribution(p, s);
  let mass = 0;
  let last = 0;
  for (let i = 0; i < q.length; i++) {
    if (q[i]! === 0) continue;
    mass += q[i]!;
    last = i;
    if (u < mass) return i;
  }
  return last;
}

/** A small seeded generator (mulberry32): the same seed gives the same draws. */
export function seededUniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
