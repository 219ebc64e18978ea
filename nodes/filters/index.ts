/** The filter rules: one module each, composed by nodes/filter.ts in the order the pipeline lists them. */
import { z } from 'zod';
import type { Row } from '../../engine/json.js';
import type { RuleEnv, RuleOutcome } from './types.js';
import { TrimRule, applyTrim } from './trim.js';
import { RefusalsRule, applyRefusals } from './refusals.js';
import { IdenticalRule, applyIdentical } from './identical.js';
import { DedupeRule, applyDedupe } from './dedupe.js';
import { WordsRule, applyWords } from './words.js';
import { DinoPostprocessRule, applyDinoPostprocess } from './dino-postprocess.js';
import { SelfCurationRule, applySelfCuration } from './self-curation.js';
import { EmbeddingRule, applyEmbedding, type EncoderLoader } from './embedding.js';

export const FilterRule = z.discriminatedUnion('rule', [
  TrimRule,
  RefusalsRule,
  IdenticalRule,
  DedupeRule,
  WordsRule,
  DinoPostprocessRule,
  SelfCurationRule,
  EmbeddingRule,
]);
export type FilterRule = z.output<typeof FilterRule>;

export interface ApplyHooks {
  /** Replaces nodes/encoders' loadEncoder (tests). */
  encoderLoader?: EncoderLoader;
}

export async function applyRule(rows: readonly Row[], rule: FilterRule, env: RuleEnv, hooks: ApplyHooks = {}): Promise<RuleOutcome> {
  switch (rule.rule) {
    case 'trim':
      return applyTrim(rows, rule, env);
    case 'refusals':
      return applyRefusals(rows, rule, env);
    case 'identical':
      return applyIdentical(rows, rule, env);
    case 'dedupe':
      return applyDedupe(rows, rule, env);
    case 'words':
      return applyWords(rows, rule, env);
    case 'dino-postprocess':
      return applyDinoPostprocess(rows, rule, env);
    case 'self-curation':
      return applySelfCuration(rows, rule, env);
    case 'embedding':
      return applyEmbedding(rows, rule, env, hooks.encoderLoader);
  }
}

export { fold, wordCount } from './types.js';
export type { RuleEnv, RuleOutcome } from './types.js';
