/**
 * SynCSE-scratch sentence generation (Zhang et al. 2023, Sec. 3.2 and Appendix): each call asks for
 * `sentences_per_call` sentences of one genre about `topics_per_call` topics sampled from the topic list, with a
 * one-shot example of the genre, using one template sampled from the genre's template set. The example is the
 * genre's `example`, or `example_sentences` sentences drawn from its `bank` (SynCSE: 10 of 30), one per line.
 * Sampling is seeded by (seed, genre, call).
 */
import { z } from 'zod';
import type { LlmRequest } from '../../engine/llm/types.js';
import { NodeUserError } from '../../engine/node-type.js';
import { readYamlFile } from './files.js';
import { compactRequest } from './llm-call.js';
import { HashRng } from './sampling.js';

/** pipelines/prompts/syncse/v1/genres.yaml */
export const GenresFile = z.strictObject({
  version: z.union([z.string(), z.number()]).optional(),
  genres: z
    .array(
      z
        .strictObject({
          name: z.string().min(1),
          description: z.string().min(1),
          /** One fixed example sentence (v1 files). */
          example: z.string().min(1).optional(),
          /** A bank of example sentences; each call shows a seeded draw of them. */
          bank: z.array(z.string().min(1)).min(1).optional(),
          /** Which template set of the templates file this genre uses (default: general). */
          templates: z.string().min(1).default('general'),
        })
        .refine((g) => (g.example === undefined) !== (g.bank === undefined), { message: 'give either example or bank' }),
    )
    .min(1),
});
export type Genre = z.output<typeof GenresFile>['genres'][number];

export function readGenres(absPath: string, param: readonly (string | number)[]): Genre[] {
  const genres = readYamlFile(absPath, GenresFile, param).genres;
  const seen = new Set<string>();
  for (const g of genres) {
    if (seen.has(g.name)) throw new NodeUserError(`${absPath}: genre "${g.name}" is listed twice`, param);
    seen.add(g.name);
  }
  return genres;
}

export const TEMPLATE_PLACEHOLDERS = ['n', 'genre', 'description', 'topics', 'example'] as const;

/** Template sets by name: a templates file is a list (the `general` set) or an object of named lists. */
export type TemplateSets = Record<string, string[]>;

export const TemplatesFile = z.union([
  z.array(z.string().min(1)).min(1),
  z.record(z.string(), z.array(z.string().min(1)).min(1)).refine((r) => 'general' in r, { message: 'name one template set "general"' }),
]);

export function templateSets(parsed: z.output<typeof TemplatesFile>): TemplateSets {
  return Array.isArray(parsed) ? { general: parsed } : parsed;
}

export interface ScratchSampling {
  seed: number;
  /** Sentences drawn from a genre's bank for its example. */
  example_sentences: number;
  model: string;
  topics_per_call: number;
  sentences_per_call: number;
  temperature?: number;
  top_p?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
  max_tokens: number;
}

export interface ScratchCall {
  request: LlmRequest;
  topics: string[];
  template: number;
}

export function buildScratchRequest(
  sets: TemplateSets,
  genre: Genre,
  topicPool: readonly string[],
  call: number,
  s: ScratchSampling,
): ScratchCall {
  const templates = sets[genre.templates];
  if (!templates) throw new NodeUserError(`genre "${genre.name}" uses template set "${genre.templates}", which the templates file does not define`, ['templates']);
  const rng = new HashRng({ recipe: 'syncse-scratch', seed: s.seed, genre: genre.name, call });
  const template = rng.int(templates.length);
  const topics = rng.sampleIndices(topicPool.length, Math.min(s.topics_per_call, topicPool.length)).map((i) => topicPool[i]!);
  const example = genre.bank
    ? rng.sampleIndices(genre.bank.length, Math.min(s.example_sentences, genre.bank.length)).map((i) => genre.bank![i]!).join('\n')
    : genre.example!;
  const values: Record<string, string> = {
    n: String(s.sentences_per_call),
    genre: genre.name,
    description: genre.description,
    topics: topics.join(', '),
    example,
  };
  const content = templates[template]!.replace(/\{([a-z_]+)\}/g, (m, k: string) => values[k] ?? m);
  const request = compactRequest({
    model: s.model,
    messages: [{ role: 'user', content }],
    max_tokens: s.max_tokens,
    temperature: s.temperature,
    top_p: s.top_p,
    presence_penalty: s.presence_penalty,
    frequency_penalty: s.frequency_penalty,
  });
  return { request, topics, template };
}

/** Templates may only use the known placeholders; a typo would otherwise be sent to the LLM verbatim. */
export function checkTemplates(sets: TemplateSets, where: string, param: readonly (string | number)[]): void {
  for (const t of Object.values(sets).flat()) {
    for (const m of t.matchAll(/\{([a-z_]+)\}/g)) {
      if (!(TEMPLATE_PLACEHOLDERS as readonly string[]).includes(m[1]!)) {
        throw new NodeUserError(`${where}: unknown placeholder {${m[1]}} (known: ${TEMPLATE_PLACEHOLDERS.join(', ')})`, param);
      }
    }
  }
}
