/**
 * `synthcse` command line. Each command lives in its own module and is loaded on demand, so a no-op `run` does not
 * pay for loading `report` or `eval`.
 */
import { DiagnosticError, formatDiagnostics } from '../diagnostics.js';
import { StoreError } from '../../cache/store.js';
import { isWriteFailure } from '../write-failure.js';

type CommandModule = { main(argv: string[]): Promise<number> };

const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  run: { summary: 'run FILE [--variant V] [--set k=v] [--only NODE] [--force NODE] [--budget USD] [--jobs N] [--json]', load: () => import('./run.js') },
  plan: { summary: 'plan FILE [--variant V] [--set k=v] [--explain]: what would run, what is cached, what it costs', load: () => import('./plan.js') },
  status: { summary: 'status [FILE]: the last run: node states, items, tokens and cost per node', load: () => import('./status.js') },
  show: { summary: 'show NODE [--head N] [--port P] [--pipeline FILE]: rows of a node output', load: () => import('./show.js') },
  export: { summary: 'export NODE --out FILE|DIR/ [--port P] [--pipeline FILE]: write a node output (jsonl, csv, tsv, the model file, or a model as a sentence-transformers folder)', load: () => import('./show.js').then((m) => ({ main: m.exportMain })) },
  dag: { summary: 'dag FILE [--format mermaid|dot] [--variant V]', load: () => import('./dag.js') },
  diff: { summary: 'diff A.yaml [B.yaml] [--variant X] [--variant Y]: which nodes two pipelines or variants share', load: () => import('./diff.js') },
  gc: { summary: 'gc [--root DIR] [--dry-run]: remove cache entries no pipeline under DIR can reach', load: () => import('./gc.js') },
  doctor: { summary: 'doctor [--repair]: check the cache for damage and repair what can be repaired', load: () => import('./doctor.js') },
  eval: { summary: 'eval --model MODEL.onnx [--data FOLDER] [--baseline MODEL]: STS evaluation of an exported model', load: () => import('./eval.js') },
  schema: { summary: 'schema [--out FILE]: JSON Schema of pipeline files, for editors', load: () => import('./schema.js') },
  worker: { summary: 'worker --redis URL [--concurrency N] [--base-url URL]: send the LLM calls of runs started with --redis URL', load: () => import('./worker.js') },
  report: { summary: 'report [FILE] --out report.html: a self-contained HTML report of the last run', load: () => import('./report.js') },
};

function help(): string {
  return ['synthcse: pipelines for sentence embeddings trained on LLM-written data', '', 'Commands:', ...Object.values(COMMANDS).map((c) => `  synthcse ${c.summary}`), '', 'Common options: --cache DIR (default: SYNTHCSE_CACHE, else .synthcse/ next to the pipeline file)'].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help() + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    process.stdout.write('synthcse 0.1.0\n');
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`❌ Unknown command "${name}".\n\n${help()}\n`);
    return 2;
  }
  try {
    return await (await command.load()).main(rest);
  } catch (error) {
    if (error instanceof DiagnosticError) {
      process.stderr.write(formatDiagnostics(error.diagnostics) + '\n');
      return 2;
    }
    if (error instanceof StoreError) {
      process.stderr.write(`❌ ${error.message}\n    fix: ${error.hint}\n`);
      return 1;
    }
    const err = error as NodeJS.ErrnoException;
    if (isWriteFailure(err) || err?.code === 'EACCES' || err?.code === 'EROFS') {
      const fix = err.code === 'EACCES' || err.code === 'EROFS' ? 'fix the permissions of the cache directory' : 'free disk space (or raise the file size limit, or use --cache elsewhere)';
      process.stderr.write(`❌ The cache could not be written (${err.code}): ${err.message}\n    fix: ${fix} and run the same command again; committed work is kept.\n`);
      return 1;
    }
    process.stderr.write(`❌ Internal error: ${err?.message ?? String(error)}\n${process.env.SYNTHCSE_DEBUG ? (err?.stack ?? '') + '\n' : '    (set SYNTHCSE_DEBUG=1 for the stack trace, and please report it)\n'}`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`❌ Internal error: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
