/**
 * DINO requests (Schick & Schütze 2021, "Generating Datasets with Pretrained Language Models"): the task
 * specifications sts-x1 / sts-x2 of the DINO repository. The prompt ends inside an open quote and the answer is
 * the text up to the closing quote. A chat model is asked to continue the text (system prompt, a deviation: DINO
 * used GPT2-XL as a plain LM and self-debiasing over counter-labels, which chat APIs do not allow).
 */
import { z } from 'zod';
import type { LlmRequest } from '../../engine/llm/types.js';
import { readYamlFile } from './files.js';
import { compactRequest } from './llm-call.js';
import type { DinoOutputRules } from './parsers.js';

/** DINO's output filters, named as its dino.py flags; both false (DINO's default): such replies are dropped. */
export const DinoOutputParams = {
  /** Keep a reply that never closes the quote (DINO: --keep_outputs_without_eos). */
  keep_outputs_without_eos: z.boolean().default(false),
  /** Keep a reply with a newline before the closing quote (DINO: --allow_newlines_in_outputs). */
  allow_newlines_in_outputs: z.boolean().default(false),
};

export function dinoOutputRules(p: { keep_outputs_without_eos: boolean; allow_newlines_in_outputs: boolean }): DinoOutputRules {
  return { keepWithoutClosingQuote: p.keep_outputs_without_eos, allowNewlines: p.allow_newlines_in_outputs };
}

/** pipelines/prompts/dino/v1/sts-x2.yaml: one instruction per label; {x1} is replaced by the input sentence. */
export const DinoSpecFile = z.strictObject({
  version: z.union([z.string(), z.number()]).optional(),
  task: z.string(),
  system: z.string().optional(),
  labels: z
    .array(z.strictObject({ label: z.number().min(0).max(1), instruction: z.string().min(1) }))
    .min(1),
});
export type DinoSpec = z.output<typeof DinoSpecFile>;

export function readDinoSpec(absPath: string, param: readonly (string | number)[]): DinoSpec {
  return readYamlFile(absPath, DinoSpecFile, param);
}

export interface DinoSampling {
  model: string;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  max_tokens: number;
}

export function buildDinoRequest(spec: DinoSpec, instruction: string, x1: string | undefined, s: DinoSampling): LlmRequest {
  const content = x1 === undefined ? instruction : instruction.split('{x1}').join(x1);
  return compactRequest({
    model: s.model,
    system: spec.system,
    messages: [{ role: 'user', content }],
    max_tokens: s.max_tokens,
    temperature: s.temperature,
    top_p: s.top_p,
    top_k: s.top_k,
  });
}
