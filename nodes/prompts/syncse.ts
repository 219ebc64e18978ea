/**
 * SynCSE-partial annotation requests (Zhang et al. 2023, "Contrastive Learning of Sentence Embeddings from Scratch",
 * Sec. 3 and Table 1). For each input sentence and role (positive / hard negative) one call is made: one
 * instruction is sampled from the role's pool of 4, and `shots` exemplars are sampled from that instruction's
 * exemplar pool and sent as prior user/assistant turns; the final user turn asks for the input sentence.
 */
import { z } from 'zod';
import type { LlmRequest } from '../../engine/llm/types.js';
import { readYamlFile } from './files.js';
import { HashRng } from './sampling.js';
import { compactRequest } from './llm-call.js';

/** A pool file (pipelines/prompts/syncse/v1/positive.yaml): instructions, each with its own exemplars. */
export const SyncsePoolFile = z.strictObject({
  version: z.union([z.string(), z.number()]).optional(),
  role: z.enum(['positive', 'negative']),
  /** How the instruction and the input sentence form one user turn; {instruction} and {input}. */
  turn_template: z.string().default('{instruction}\n\nInput: {input}'),
  instructions: z
    .array(
      z.strictObject({
        id: z.union([z.string(), z.number()]),
        text: z.string().min(1),
        exemplars: z.array(z.strictObject({ input: z.string().min(1), output: z.string().min(1) })).min(1),
      }),
    )
    .min(1),
});
export type SyncsePool = z.output<typeof SyncsePoolFile>;

export function readSyncsePool(absPath: string, param: readonly (string | number)[]): SyncsePool {
  return readYamlFile(absPath, SyncsePoolFile, param);
}

export interface SyncseSampling {
  seed: number;
  shots: number;
  model: string;
  temperature?: number;
  top_p?: number;
  max_tokens: number;
  system?: string;
}

export interface SyncseCall {
  request: LlmRequest;
  /** The sampled instruction's id from the pool file (rides along in the output row). */
  instruction: string | number;
}

function turn(template: string, instruction: string, input: string): string {
  // A function replacement: `$&` or `$'` in a sentence must not be read as a replacement pattern.
  return template.replace(/\{(instruction|input)\}/g, (_m, k: string) => (k === 'instruction' ? instruction : input));
}

/**
 * The request for (sentence, sample) under `pool`. Deterministic in (seed, role, sentence, sample) alone: the
 * instruction index and exemplar indices come from a hash stream, so editing one instruction or exemplar changes
 * only the requests that sampled it, and adding input rows changes no other row's request.
 */
export function buildSyncseRequest(pool: SyncsePool, sentence: string, sample: number, s: SyncseSampling): SyncseCall {
  const rng = new HashRng({ recipe: 'syncse', seed: s.seed, role: pool.role, text: sentence, sample });
  const instruction = pool.instructions[rng.int(pool.instructions.length)]!;
  const shots = Math.min(s.shots, instruction.exemplars.length);
  const picks = rng.sampleIndices(instruction.exemplars.length, shots).map((i) => instruction.exemplars[i]!);
  const messages: LlmRequest['messages'] = [];
  for (const ex of picks) {
    messages.push({ role: 'user', content: turn(pool.turn_template, instruction.text, ex.input) });
    messages.push({ role: 'assistant', content: ex.output });
  }
  messages.push({ role: 'user', content: turn(pool.turn_template, instruction.text, sentence) });
  const request = compactRequest({
    model: s.model,
    system: s.system,
    messages,
    max_tokens: s.max_tokens,
    temperature: s.temperature,
    top_p: s.top_p,
    cache_prefix: picks.length > 0 ? true : undefined,
  });
  return { request, instruction: instruction.id };
}
