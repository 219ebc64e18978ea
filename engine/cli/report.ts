import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { collectReport, NoRunError } from '../report/collect.js';
import { renderReport } from '../report/render.js';
import { parseCommandArgs, usageError } from './args.js';
import { findCacheDir, openExistingStore } from './cache-dir.js';
import { builtinRegistry } from './registry.js';

const USAGE = 'synthcse report [FILE] --out report.html [--cache DIR]';

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('report', argv, { out: { type: 'string' }, cache: { type: 'string' } }, USAGE);
  const pipeline = positionals[0];
  if (positionals.length > 1) throw usageError('report takes at most one pipeline file.', USAGE);
  if (values.out === undefined) throw usageError('report needs --out FILE (the HTML file to write).', USAGE);
  const store = openExistingStore(findCacheDir({ cache: values.cache, pipeline }, USAGE), USAGE);
  try {
    const data = await collectReport({ store, registry: await builtinRegistry(), pipelineFile: pipeline ? resolve(pipeline) : undefined });
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
