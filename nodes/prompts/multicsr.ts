/**
 * MultiCSR generation requests (Wang et al. 2024, "Large Language Models can Contrastively Refine their Generation
 * for Better Sentence Representation Learning", NAACL; public code flan_generate_scoring.py): a two-shot prompt
 * "Help me write a sentence that is entailment|negative with a given sentence…" per input sentence, one for the
 * entailment (positive) and one for the contradiction (hard negative). Templates hold {sentence}.
 */
import type { LlmRequest } from '../../engine/llm/types.js';
import { compactRequest } from './llm-call.js';

export interface MulticsrSampling {
  model: string;
  temperature?: number;
  top_p?: number;
  max_tokens: number;
  system?: string;
  /** Contrastive decoding against the opposite instruction (local provider). */
  contrastive?: { omega: number };
}

/** `opposite`: the other instruction's template (contradiction for entailment and back), the contrast prompt. */
export function buildMulticsrRequest(template: string, sentence: string, s: MulticsrSampling, opposite?: string): LlmRequest {
  const fill = (t: string): string => t.split('{sentence}').join(sentence);
  return compactRequest({
    model: s.model,
    system: s.system,
    messages: [{ role: 'user', content: fill(template) }],
    max_tokens: s.max_tokens,
    temperature: s.temperature,
    top_p: s.top_p,
    guidance:
      s.contrastive === undefined || opposite === undefined
        ? undefined
        : {
            type: 'contrastive',
            omega: s.contrastive.omega,
            contrast_prompt: { ...(s.system === undefined ? {} : { system: s.system }), messages: [{ role: 'user', content: fill(opposite) }] },
          },
  });
}
