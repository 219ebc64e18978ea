import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { collectReport, NoRunError } from '../report/collect.js';
import { renderReport } from '../report/render.js';
import { renderComparison } from '../report/compare.js';
import { RunStore } from '../run-store.js';
import { summarizeRun } from './runs.js';
import { parseCommandArgs, usageError } from './args.js';
import { findCacheDir, openExistingStore } from './cache-dir.js';
import { builtinRegistry } from './registry.js';

const USAGE = 'synthcse report [FILE] --out report.html [--run ID | --compare ID ID...] [--cache DIR]';

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('report', argv, { out: { type: 'string' }, cache: { type: 'string' }, run: { type: 'string' }, compare: { type: 'boolean' } }, USAGE);
  if (values.out === undefined) throw usageError('report needs --out FILE (the HTML file to write).', USAGE);
  if (values.compare) return compare(positionals, values.out, values.cache);
  const pipeline = positionals[0];
  if (positionals.length > 1) throw usageError('report takes at most one pipeline file.', USAGE);
  const store = openExistingStore(findCacheDir({ cache: values.cache, pipeline }, USAGE), USAGE);
  try {
    const data = await collectReport({ store, registry: await builtinRegistry(), pipelineFile: pipeline ? resolve(pipeline) : undefined, ...(values.run === undefined ? {} : { runId: values.run }) });
    writeFileSync(values.out, renderReport(data));
    const state = data.run.status === 'ok' ? '' : ` (the run ${data.run.status === 'running' ? 'did not finish' : data.run.status})`;
    process.stderr.write(`Wrote ${values.out}: run ${data.run.runId.slice(0, 8)} of ${data.run.pipelineName || data.run.pipelineFile}${state}.\n`);
    return 0;
  } catch (error) {
    if (error instanceof NoRunError) {
      process.stderr.write(`❌ ${error.message}\n    fix: run the pipeline first: synthcse run FILE\n`);
      return 1;
    }
    throw error;
  } finally {
    store.close();
  }
}

/** `report --compare A B …`: the runs (ids or id prefixes) side by side. */
async function compare(ids: string[], out: string, cache: string | undefined): Promise<number> {
  if (ids.length < 2) throw usageError('--compare takes two or more run ids (synthcse runs lists them).', USAGE);
  const store = openExistingStore(findCacheDir({ cache }, USAGE), USAGE);
  try {
    const runs = new RunStore(store);
    const summaries = [];
    for (const id of ids) {
      const run = runs.findRun(id);
      if (run === undefined || run === 'ambiguous') {
        process.stderr.write(`❌ ${run === 'ambiguous' ? `Several runs start with "${id}"` : `No run ${id} is recorded in this cache`}.\n    fix: synthcse runs lists the runs; give their ids (8 characters are enough).\n`);
        return 2;
      }
      summaries.push(summarizeRun(store, run));
    }
    writeFileSync(out, renderComparison(summaries));
    process.stderr.write(`Wrote ${out}: ${summaries.length} runs side by side.\n`);
    return 0;
  } finally {
    store.close();
  }
}
