/**
 * What `synthcse eval --model M [--baseline B] [--data F] [--tasks a,b]` does, for the CLI to call:
 * evaluate each model file on the data folder and return the metrics, the markdown table and the skipped tasks.
 */
import { basename } from 'node:path';
import { dataFolder } from './data-folder.js';
import { evaluateModel, type MetricRow } from './evaluate.js';
import { markdownTable } from './table.js';
import type { FetchContext } from './remote.js';
import { withSentEvalFiles } from './senteval.js';

export interface EvalCommandRequest {
  model: string;
  baseline?: string;
  /** Default: $SYNTHCSE_DATA, else ../shared/data beside the repository. */
  data?: string;
  tasks?: readonly string[];
  /** Fetch the SentEval STS test files the folder lacks (see senteval.ts), through this cache. */
  senteval?: { fetch: FetchContext; mirror?: string };
}

export interface EvalCommandResult {
  dataFolder: string;
  metrics: MetricRow[];
  /** Baseline row first, as the papers list them. */
  table: string;
  /** Tasks whose files are absent from the folder. */
  skipped: string[];
  /** Why the SentEval files could not be fetched, when they could not. */
  unreachable?: string;
}

export async function runEvalCommand(request: EvalCommandRequest): Promise<EvalCommandResult> {
  let folder = dataFolder(request.data);
  let unreachable: string | undefined;
  if (request.senteval) {
    const fetched = await withSentEvalFiles(folder, request.senteval.mirror === undefined ? {} : { mirror: request.senteval.mirror }, request.senteval.fetch);
    folder = fetched.folder;
    unreachable = fetched.unreachable;
  }
  const tasks = request.tasks ? { tasks: request.tasks } : {};
  const main = await evaluateModel(request.model, folder, { modelName: basename(request.model), ...tasks });
  let baselineRows: MetricRow[] = [];
  if (request.baseline !== undefined) {
    const name = basename(request.baseline) === basename(request.model) ? request.baseline : basename(request.baseline);
    baselineRows = (await evaluateModel(request.baseline, folder, { modelName: name, ...tasks })).metrics;
  }
  return {
    dataFolder: folder,
    metrics: [...main.metrics, ...baselineRows],
    table: markdownTable([...baselineRows, ...main.metrics]),
    skipped: main.skipped,
    ...(unreachable === undefined ? {} : { unreachable }),
  };
}
