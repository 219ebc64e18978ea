/** The built-in node types. Each engineer appends their own; the engine registers them with nodes/kinds.ts. */
import type { AnyNodeType } from '../engine/node-type.js';
import { load } from './load.js';
import { annotate } from './annotate.js';
import { generate } from './generate.js';
import { score } from './score.js';
import { filter } from './filter.js';
import { train } from './train.js';
import { evaluate } from './eval.js';
import { encoder } from './encoder.js';
import { pretrained } from './pretrained.js';

export const builtinNodeTypes: AnyNodeType[] = [load, annotate, generate, score, filter, train, evaluate, encoder, pretrained];
