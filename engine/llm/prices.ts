/** Model prices in USD per million tokens, and the cost of one call. */
import type { PriceOverride } from './config.js';
import type { CallMode, LlmUsage } from './types.js';

export interface ModelPrice {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  /** Fraction of the online price paid in batch mode. */
  batchFactor: number;
}

/** List prices (USD/MTok). Keys match a model id exactly or as a prefix (dated ids such as claude-haiku-4-5-20251001). */
const BUILTIN_PRICES: Record<string, ModelPrice> = {
  'claude-opus-4-5': { input: 5, output: 25, cacheRead: 0.5, cacheWrite: 6.25, batchFactor: 0.5 },
  'claude-opus-4-1': { input: 15, output: 75, cacheRead: 1.5, cacheWrite: 18.75, batchFactor: 0.5 },
  'claude-opus-4': { input: 15, output: 75, cacheRead: 1.5, cacheWrite: 18.75, batchFactor: 0.5 },
  'claude-sonnet-4-5': { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75, batchFactor: 0.5 },
  'claude-sonnet-4': { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75, batchFactor: 0.5 },
  'claude-3-7-sonnet': { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75, batchFactor: 0.5 },
  'claude-haiku-4-5': { input: 1, output: 5, cacheRead: 0.1, cacheWrite: 1.25, batchFactor: 0.5 },
  'claude-3-5-haiku': { input: 0.8, output: 4, cacheRead: 0.08, cacheWrite: 1, batchFactor: 0.5 },
  'claude-3-haiku': { input: 0.25, output: 1.25, cacheRead: 0.03, cacheWrite: 0.3, batchFactor: 0.5 },
  'gpt-4o-mini': { input: 0.15, output: 0.6, cacheRead: 0.075, cacheWrite: 0.15, batchFactor: 0.5 },
  'gpt-4o': { input: 2.5, output: 10, cacheRead: 1.25, cacheWrite: 2.5, batchFactor: 0.5 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6, cacheRead: 0.1, cacheWrite: 0.4, batchFactor: 0.5 },
  'gpt-4.1': { input: 2, output: 8, cacheRead: 0.5, cacheWrite: 2, batchFactor: 0.5 },
};

export class PriceTable {
  private readonly table: Record<string, ModelPrice>;

  constructor(overrides: Record<string, PriceOverride> = {}) {
    this.table = { ...BUILTIN_PRICES };
    for (const [model, o] of Object.entries(overrides)) {
      this.table[model] = {
        input: o.input,
        output: o.output,
        cacheRead: o.cache_read ?? o.input * 0.1,
        cacheWrite: o.cache_write ?? o.input * 1.25,
        batchFactor: o.batch_factor ?? 0.5,
      };
    }
  }

  /** The price of a model, or undefined when unknown (e.g. a local model: its calls are then counted at 0 USD). */
  priceOf(model: string): ModelPrice | undefined {
    if (this.table[model] !== undefined) return this.table[model];
    let best: string | undefined;
    for (const key of Object.keys(this.table)) {
      if (model.startsWith(key) && (best === undefined || key.length > best.length)) best = key;
    }
    return best === undefined ? undefined : this.table[best];
  }

  cost(model: string, usage: LlmUsage, mode: CallMode): { costUsd: number; cacheSavingsUsd: number } {
    const price = this.priceOf(model);
    if (price === undefined) return { costUsd: 0, cacheSavingsUsd: 0 };
    const factor = mode === 'batch' ? price.batchFactor : 1;
    const cost =
      usage.input_tokens * price.input +
      usage.output_tokens * price.output +
      usage.cache_read_input_tokens * price.cacheRead +
      usage.cache_creation_input_tokens * price.cacheWrite;
    // Savings: cached reads at full input price, minus the premium paid to write the cache.
    const savings =
      usage.cache_read_input_tokens * (price.input - price.cacheRead) -
      usage.cache_creation_input_tokens * (price.cacheWrite - price.input);
    return { costUsd: (cost * factor) / 1e6, cacheSavingsUsd: (savings * factor) / 1e6 };
  }
}
