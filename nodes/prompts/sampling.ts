/**
 * Deterministic, per-item sampling. Every random choice a node makes for one item (which instruction, which
 * exemplars, which topics) is drawn from a stream seeded by a hash of the node's seed and that item's own identity
 * (its text and sample index), never from one sequential RNG shared by all items: adding, removing or reordering
 * input rows then leaves every other row's requests (and cache hits) unchanged.
 */
import { hash } from 'node:crypto';
import { canonicalJson, type Json } from '../../engine/json.js';

export class HashRng {
  /** The stream's identity and a separator; each draw hashes it with the draw's counter. */
  private readonly base: string;
  private counter = 0;

  /** `parts` identifies the stream, e.g. {seed, text, sample, role: 'positive'}. */
  constructor(parts: Json) {
    this.base = canonicalJson(parts) + '\u0000';
  }

  /** A float in [0, 1) with 48 bits of entropy, from sha256(base, counter). */
  next(): number {
    // The digest's first 6 bytes, big-endian: its first 12 hex digits (a string is cheaper to get than a Buffer).
    return Number.parseInt(hash('sha256', this.base + String(this.counter++)).slice(0, 12), 16) / 2 ** 48;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`Internal error: HashRng.int needs a positive integer, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /** `k` distinct indices of [0, n), in the order drawn (partial Fisher-Yates). */
  sampleIndices(n: number, k: number): number[] {
    if (k > n) throw new Error(`Internal error: cannot sample ${k} of ${n}`);
    const pool = Array.from({ length: n }, (_, i) => i);
    const out: number[] = [];
    for (let i = 0; i < k; i++) {
      const j = i + this.int(n - i);
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
      out.push(pool[i]!);
    }
    return out;
  }

  /** Shuffles a copy of `items`. */
  shuffle<T>(items: readonly T[]): T[] {
    const order = this.sampleIndices(items.length, items.length);
    return order.map((i) => items[i]!);
  }
}

/** A stable rank for an item under a seed: sorting by it gives a seeded sample that does not depend on file order. */
export function hashRank(parts: Json): string {
  return hash('sha256', canonicalJson(parts));
}
