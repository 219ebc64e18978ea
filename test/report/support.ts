/** Shared by the report and walkthrough tests: the toy pipeline (test node types only) and where Chromium lives. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Workspace } from '../engine/support.js';
import { unlessPresent } from '../support/prerequisite.js';

const here = dirname(fileURLToPath(import.meta.url));
export const reportPlugin = join(here, 'fixtures', 'report-nodes.js');
export const CHROMIUM = '/usr/bin/chromium';

export function chromiumMissing(): string | false {
  return unlessPresent(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) to run the browser tests`);
}

/**
 * The toy counterpart of pipelines/syncse-partial.yaml: sentences → pairs (item-level, LLM-shaped) → filter → train
 * → eval, with a `scratch` variant that swaps the sentence source as SynCSE-scratch does.
 */
export function toyPipeline(opts: { sentences?: number; scratchSentences?: number; delayMs?: number; concurrency?: number; trainFailsWith?: string } = {}): string {
  return `name: toy-syncse
plugins: [${reportPlugin}]
params:
  sentences: ${opts.sentences ?? 24}
  note: ''
nodes:
  sentences:
    type: toy-sentences
    with:
      count: \${params.sentences}
  pairs:
    type: toy-pairs
    inputs:
      sentences: sentences
    with:
      delay_ms: ${opts.delayMs ?? 0}
      concurrency: ${opts.concurrency ?? 4}
  clean:
    type: toy-filter
    inputs:
      pairs: pairs
    with:
      max_words: 8
  train:
    type: toy-train
    inputs:
      data: clean
${opts.trainFailsWith === undefined ? '' : `    with:\n      fail_with: ${JSON.stringify(opts.trainFailsWith)}\n`}  eval:
    type: toy-eval
    inputs:
      model: train
variants:
  scratch:
    nodes:
      sentences: null
      generate:
        type: toy-sentences
        with:
          count: ${opts.scratchSentences ?? 36}
      pairs:
        inputs:
          sentences: generate
`;
}

export function toyWorkspace(opts: Parameters<typeof toyPipeline>[0] = {}): { ws: Workspace; file: string } {
  const ws = new Workspace();
  const file = ws.write('toy.yaml', toyPipeline(opts));
  return { ws, file };
}
