/**
 * SynCSE-partial annotation requests (Zhang et al. 2023, "Contrastive Learning of Sentence Embeddings from Scratch",
 * Sec. 3 and Table 1). For each input sentence and role (positive / hard negative) one call is made: one
 * instruction is sampled from the role's pool of 4, and `shots` exemplars are sampled from that instruction's
 * exemplar pool and sent as prior user/assistant turns; the final user turn asks for the input sentence.
 */
import { z } from 'zod';
import type { ChatMessage, LlmRequest } from '../../engine/llm/types.js';
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

/**
 * An instruction's turn with the input left open: the template's text around each {input}, with {instruction}
 * filled in. Joining the pieces with the input gives the turn; one pass over the template, so an instruction or
 * input that contains "{input}" or `$&` is inserted as written.
 */
function turnPieces(template: string, instruction: string): string[] {
  const pieces = [''];
  for (const part of template.split(/(\{instruction\}|\{input\})/)) {
    if (part === '{input}') pieces.push('');
    else pieces[pieces.length - 1] += part === '{instruction}' ? instruction : part;
  }
  return pieces;
}

interface InstructionTurns {
  /** joined with the input sentence: the final user turn */
  open: string[];
  /** each exemplar as its user and assistant turns, frozen: every request that draws it shares them */
  exemplars: readonly (readonly [ChatMessage, ChatMessage])[];
}

/** Each instruction's turns, written once per pool: every request repeats a few exemplar turns. */
const poolTurns = new WeakMap<SyncsePool, InstructionTurns[]>();

function turnsOf(pool: SyncsePool): InstructionTurns[] {
  let turns = poolTurns.get(pool);
  if (turns === undefined) {
    turns = pool.instructions.map((instruction) => {
      const open = turnPieces(pool.turn_template, instruction.text);
      const exemplars = instruction.exemplars.map(
        (ex) => [Object.freeze<ChatMessage>({ role: 'user', content: open.join(ex.input) }), Object.freeze<ChatMessage>({ role: 'assistant', content: ex.output })] as const,
      );
      return { open, exemplars };
    });
    poolTurns.set(pool, turns);
  }
  return turns;
}

/**
 * The request for (sentence, sample) under `pool`. Deterministic in (seed, role, sentence, sample) alone: the
 * instruction index and exemplar indices come from a hash stream, so editing one instruction or exemplar changes
 * only the requests that sampled it, and adding input rows changes no other row's request.
 */
export function buildSyncseRequest(pool: SyncsePool, sentence: string, sample: number, s: SyncseSampling): SyncseCall {
  const rng = new HashRng({ recipe: 'syncse', seed: s.seed, role: pool.role, text: sentence, sample });
  const drawn = rng.int(pool.instructions.length);
  const instruction = pool.instructions[drawn]!;
  const turns = turnsOf(pool)[drawn]!;
  const shots = Math.min(s.shots, instruction.exemplars.length);
  const picks = rng.sampleIndices(instruction.exemplars.length, shots);
  const messages: LlmRequest['messages'] = [];
  for (const i of picks) messages.push(...turns.exemplars[i]!);
  messages.push({ role: 'user', content: turns.open.join(sentence) });
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
