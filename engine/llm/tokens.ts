/** Token estimates for requests not sent yet (plan, budget, tokens-per-minute pacing). */
import type { LlmRequest } from './types.js';

/** About 4 characters per token for English text; a little overhead per message for the chat framing. */
export function estimateTextTokens(text: string): number {
  return estimateTokensOfCharacters(text.length);
}

export function estimateTokensOfCharacters(characters: number): number {
  return Math.ceil(characters / 4);
}

export function estimateInputTokens(request: LlmRequest): number {
  let tokens = request.system === undefined ? 0 : estimateTextTokens(request.system) + 4;
  for (const message of request.messages) tokens += estimateTextTokens(message.content) + 4;
  return tokens;
}
