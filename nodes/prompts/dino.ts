/**
 * DINO requests (Schick & Schütze 2021, "Generating Datasets with Pretrained Language Models"): the task
 * specifications sts-x1 / sts-x2 of the DINO repository. The prompt ends inside an open quote and the answer is
 * the text up to the closing quote. A chat model is asked to continue the text (system prompt, a deviation: DINO
 * used GPT2-XL as a plain LM and self-debiasing over counter-labels, which chat APIs do not allow).
 */
import { z } from 'zod';
import { NodeUserError } from '../../engine/node-type.js';
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
    .array(
      z.strictObject({
        label: z.number().min(0).max(1),
        instruction: z.string().min(1),
        /** DINO's counter_labels: the labels whose instructions this one is self-debiased against (local provider). */
        counter_labels: z.array(z.number().min(0).max(1)).optional(),
      }),
    )
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
  /** completion (local provider): the instruction is raw text for a base LM, cut at the closing quote. */
  prompt_format?: 'chat' | 'completion';
  /** Self-debiasing against the label's counter-labels (local provider). */
  self_debias?: { decay: number; epsilon: number };
}

/** The sampling parameters a DINO node (generate dino-x1, annotate dino-x2) takes, as its zod schemas parse them. */
export interface DinoSamplingParams {
  temperature?: number | null | undefined;
  top_p?: number | null | undefined;
  top_k?: number | undefined;
  max_tokens: number;
  prompt_format?: 'chat' | 'completion' | undefined;
  guidance?: { decay: number; epsilon: number } | undefined;
}

export function dinoSampling(model: string, p: DinoSamplingParams): DinoSampling {
  return {
    model,
    temperature: p.temperature ?? undefined,
    top_p: p.top_p ?? undefined,
    top_k: p.top_k,
    max_tokens: p.max_tokens,
    prompt_format: p.prompt_format,
    ...(p.guidance === undefined ? {} : { self_debias: { decay: p.guidance.decay, epsilon: p.guidance.epsilon } }),
  };
}

/** The spec file a DINO node names, read and checked (counter-labels name other labels of the spec). */
export function readCheckedDinoSpec(absPath: string, specParam: string): DinoSpec {
  const spec = readDinoSpec(absPath, ['spec']);
  const counterProblems = counterLabelProblems(spec);
  if (counterProblems.length > 0) throw new NodeUserError(`${specParam}: ${counterProblems.join('; ')}`, ['spec']);
  return spec;
}

function fill(instruction: string, x1: string | undefined): string {
  return x1 === undefined ? instruction : instruction.split('{x1}').join(x1);
}

export function buildDinoRequest(spec: DinoSpec, instruction: string, x1: string | undefined, s: DinoSampling): LlmRequest {
  const completion = s.prompt_format === 'completion';
  const label = spec.labels.find((l) => l.instruction === instruction);
  const counters = s.self_debias === undefined ? [] : (label?.counter_labels ?? []).map((c) => spec.labels.find((l) => l.label === c)!);
  return compactRequest({
    model: s.model,
    // A base LM continues the text itself; DINO's prompts had no system line.
    system: completion ? undefined : spec.system,
    messages: [{ role: 'user', content: fill(instruction, x1) }],
    max_tokens: s.max_tokens,
    temperature: s.temperature,
    top_p: s.top_p,
    top_k: s.top_k,
    // The answer ends at the quote that closes the sentence the prompt opened; the rest is dropped (as DINO did).
    stop: completion ? ['"'] : undefined,
    prompt_format: completion ? 'completion' : undefined,
    guidance:
      s.self_debias === undefined || counters.length === 0
        ? undefined
        : {
            type: 'self-debias',
            decay: s.self_debias.decay,
            epsilon: s.self_debias.epsilon,
            counter_prompts: counters.map((c) => ({
              ...(completion || spec.system === undefined ? {} : { system: spec.system }),
              messages: [{ role: 'user' as const, content: fill(c.instruction, x1) }],
            })),
          },
  });
}

/** Problems with the spec's counter_labels (each must name another label of the spec), as messages. */
export function counterLabelProblems(spec: DinoSpec): string[] {
  const labels = new Set(spec.labels.map((l) => l.label));
  return spec.labels.flatMap((l, i) =>
    (l.counter_labels ?? []).filter((c) => !labels.has(c) || c === l.label).map((c) => `labels[${i}].counter_labels: ${c} is not another label of the spec`),
  );
}
