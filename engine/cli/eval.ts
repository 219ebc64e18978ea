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
  if (values.data !== undefined && !existsSync(values.data)) throw usageError(`Data folder ${values.data} does not exist.`, USAGE);
  const { runEvalCommand } = await import('../../nodes/sts/command.js');
  const result = await runEvalCommand({
    model: values.model,
    baseline: values.baseline,
    data: values.data === undefined ? undefined : resolve(values.data),
    tasks: values.tasks?.split(',').map((t) => t.trim()).filter(Boolean),
  });
  for (const task of result.skipped) process.stderr.write(`⚠️  ${task}: its files are not in ${result.dataFolder}; skipped.\n`);
  if (result.metrics.length === 0) {
    process.stderr.write(`❌ No evaluation task found in ${result.dataFolder}.\n    fix: point --data (or SYNTHCSE_DATA) at a folder with stsb/dev.tsv, and sts12..16/, sick/ for the full table.\n`);
    return 1;
  }
  if (values.json) {
    for (const m of result.metrics) process.stdout.write(JSON.stringify(m) + '\n');
    return 0;
  }
  process.stdout.write(result.table + '\n');
  return 0;
}
