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
}

export function buildMulticsrRequest(template: string, sentence: string, s: MulticsrSampling): LlmRequest {
  return compactRequest({
    model: s.model,
    system: s.system,
    messages: [{ role: 'user', content: template.split('{sentence}').join(sentence) }],
    max_tokens: s.max_tokens,
    temperature: s.temperature,
    top_p: s.top_p,
  });
}
