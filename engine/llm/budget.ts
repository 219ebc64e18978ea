/** The run's spending limit: a request is refused before sending when its estimate would cross it. */
import { LlmCallError } from './types.js';

export class Budget {
  private spent = 0;
  private inFlight = 0;

  constructor(readonly limitUsd: number | undefined) {}

  /** Reserves the estimated cost of one request, or throws LlmCallError('budget-exceeded'). */
  reserve(estimateUsd: number): void {
    if (this.limitUsd !== undefined && this.spent + this.inFlight + estimateUsd > this.limitUsd) {
      throw new LlmCallError(
        'budget-exceeded',
        `The budget of ${this.limitUsd.toFixed(2)} USD would be exceeded (spent ${this.spent.toFixed(4)}, in flight ${this.inFlight.toFixed(4)}, this request about ${estimateUsd.toFixed(4)}).`,
      );
    }
    this.inFlight += estimateUsd;
  }

  /** Replaces a reservation by what was really paid (undefined: nothing was paid). */
  settle(estimateUsd: number, actualUsd: number | undefined): void {
    this.inFlight = Math.max(0, this.inFlight - estimateUsd);
    this.spent += actualUsd ?? 0;
  }

  get spentUsd(): number {
    return this.spent;
  }
}
