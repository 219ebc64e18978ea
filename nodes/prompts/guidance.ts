/**
 * Token-level generation options of LLM nodes, served by the local provider only (a chat API refuses them at plan
 * time): the prompt format and guided decoding. Absent, they leave requests (and keys) exactly as before.
 */
import { z } from 'zod';

/** chat: the model's chat template; completion: the prompt is raw text a base LM continues. */
export const PromptFormat = z.enum(['chat', 'completion']).default('chat');

/** DINO: debias each label against its counter-labels' instructions (Schick & Schütze 2021: λ = 100, ε = 0.01). */
export const SelfDebiasGuidance = z.strictObject({
  type: z.literal('self-debias'),
  decay: z.number().min(0).default(100),
  epsilon: z.number().min(0).max(1).default(0.01),
});

/** MultiCSR: scores l − ω·l̂, l̂ from the opposite instruction. */
export const ContrastiveGuidance = z.strictObject({
  type: z.literal('contrastive'),
  omega: z.number().min(0).max(10),
});
