import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseCommandArgs, usageError } from './args.js';

const USAGE = 'synthcse eval --model MODEL.onnx [--baseline MODEL.onnx] [--data FOLDER] [--tasks t1,t2] [--json]';

/** Evaluates exported models outside any pipeline: the same protocol and table as the eval node. */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('eval', argv, { model: { type: 'string' }, baseline: { type: 'string' }, data: { type: 'string' }, tasks: { type: 'string' }, json: { type: 'boolean' } }, USAGE);
  if (values.model === undefined) throw usageError('eval needs --model.', USAGE);
  for (const path of [values.model, values.baseline]) {
    if (path !== undefined && !existsSync(path)) throw usageError(`Model file ${path} does not exist.`, USAGE);
  }
  const [{ evaluateModel }, { dataFolder }, { markdownTable }] = await Promise.all([
    import('../../nodes/sts/evaluate.js'),
    import('../../nodes/sts/data-folder.js'),
    import('../../nodes/sts/table.js'),
  ]);
  const folder = dataFolder(values.data === undefined ? undefined : resolve(values.data));
  if (!existsSync(folder)) throw usageError(`Data folder ${folder} does not exist.`, `${USAGE}  (or set SYNTHCSE_DATA)`);
  const tasks = values.tasks?.split(',').map((t) => t.trim()).filter(Boolean);
  const onSkip = (task: string) => process.stderr.write(`⚠️  ${task}: its files are not in ${folder}; skipped.\n`);
  const metrics = [];
  if (values.baseline !== undefined) metrics.push(...(await evaluateModel(values.baseline, folder, { tasks, modelName: `baseline (${values.baseline})` })).metrics);
  const result = await evaluateModel(values.model, folder, { tasks, onSkip, modelName: values.model });
  metrics.push(...result.metrics);
  if (values.json) {
    for (const m of metrics) process.stdout.write(JSON.stringify(m) + '\n');
    return 0;
  }
  if (metrics.length === 0) {
    process.stderr.write(`❌ No evaluation task found in ${folder}.\n    fix: point --data at a folder with stsb/dev.tsv (and sts12..16/, sick/ for the full table).\n`);
    return 1;
  }
  process.stdout.write(markdownTable(metrics) + '\n');
  return 0;
}
