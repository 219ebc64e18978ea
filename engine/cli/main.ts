/**
 * `synthcse` command line. Each command lives in its own module and is loaded on demand, so a no-op `run` does not
 * pay for loading `report` or `eval`.
 */
import { readFileSync } from 'node:fs';
import { DiagnosticError, didYouMean, formatDiagnostics } from '../diagnostics.js';
import { setVerbosity, verbosity } from './verbosity.js';
import { StoreError } from '../../cache/store.js';
import { isWriteFailure } from '../write-failure.js';

type CommandModule = { main(argv: string[]): Promise<number> };

const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  run: () => import('./run.js'),
  plan: () => import('./plan.js'),
  status: () => import('./status.js'),
  runs: () => import('./runs.js'),
  show: () => import('./show.js'),
  export: () => import('./show.js').then((m) => ({ main: m.exportMain })),
  dag: () => import('./dag.js'),
  diff: () => import('./diff.js'),
  gc: () => import('./gc.js'),
  doctor: () => import('./doctor.js'),
  eval: () => import('./eval.js'),
  schema: () => import('./schema.js'),
  report: () => import('./report.js'),
  worker: () => import('./worker.js'),
  completion: async () => ({ main: completionMain }),
};

async function completionMain(argv: string[]): Promise<number> {
  const { completionScript } = await import('./help.js');
  const script = argv.length === 1 ? completionScript(argv[0]!) : undefined;
  if (script === undefined) {
    process.stderr.write('❌ completion takes one shell: bash or zsh.\n    fix: eval "$(synthcse completion bash)" (add it to ~/.bashrc)\n');
    return 2;
  }
  process.stdout.write(script);
  return 0;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** A reader that closed the pipe (`synthcse show X | head`) has all it wanted: stop quietly. */
function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

async function main(argv: string[]): Promise<number> {
  exitQuietlyOnClosedPipe(process.stdout);
  exitQuietlyOnClosedPipe(process.stderr);
  const args: string[] = [];
  for (const arg of argv) {
    if (arg === '-q' || arg === '--quiet') setVerbosity('quiet');
    else if (arg === '-v' || arg === '--verbose') setVerbosity('verbose');
    else args.push(arg);
  }
  if (verbosity() === 'verbose') process.env.SYNTHCSE_DEBUG ??= '1';
  const [name, ...rest] = args;
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`synthcse ${version()}\n`);
    return 0;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const { globalHelp, commandHelp } = await import('./help.js');
    const topic = name === 'help' ? rest[0] : undefined;
    if (topic !== undefined) {
      const text = commandHelp(topic);
      if (text === undefined) {
        process.stderr.write(`❌ Unknown command "${topic}".\n\n${globalHelp()}\n`);
        return 2;
      }
      process.stdout.write(text + '\n');
      return 0;
    }
    (name === undefined ? process.stderr : process.stdout).write(globalHelp() + '\n');
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    const { globalHelp } = await import('./help.js');
    process.stderr.write(`❌ Unknown command "${name}".${didYouMean(name, Object.keys(COMMANDS))}\n\n${globalHelp()}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    const { commandHelp } = await import('./help.js');
    process.stdout.write(commandHelp(name)! + '\n');
    return 0;
  }
  try {
    return await (await command()).main(rest);
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
