/**
 * MultiCSR's LLM-as-judge prompt (flan_filter.py): "Scoring the semantic similarity of the following sentences
 * between 0.0 and 5.0: (a) … (b) …". The template holds {a} and {b}.
 */
import type { LlmRequest } from '../../engine/llm/types.js';
import { compactRequest } from './llm-call.js';

export const DEFAULT_SCORING_TEMPLATE = 'Scoring the semantic similarity of the following sentences between 0.0 and 5.0: (a) {a} (b) {b}';
/** A chat model answers in prose unless told otherwise; Flan-T5 in the paper answered with the number only. */
export const DEFAULT_SCORING_SYSTEM = 'Reply with the score only: one number between 0.0 and 5.0 with at most one decimal, and nothing else.';

export interface ScoringSampling {
  model: string;
  template: string;
  system?: string;
  temperature?: number;
  max_tokens: number;
}

export function buildScoringRequest(a: string, b: string, s: ScoringSampling): LlmRequest {
  return compactRequest({
    model: s.model,
    system: s.system,
    messages: [{ role: 'user', content: s.template.replace(/\{(a|b)\}/g, (_m, k: string) => (k === 'a' ? a : b)) }],
    max_tokens: s.max_tokens,
    temperature: s.temperature,
  });
}
