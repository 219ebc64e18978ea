import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DiagnosticError } from '../diagnostics.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** parseArgs with usage errors turned into diagnostics (no stack traces for a mistyped flag). */
export function parseCommandArgs<T extends OptionSpec>(command: string, argv: string[], options: T, usage: string) {
  try {
    return parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new DiagnosticError([
      { severity: 'error', reason: 'usage', message: `${command}: ${(error as Error).message}`, origin: 'command line', hint: `Usage: ${usage}` },
    ]);
  }
}

export function usageError(message: string, usage: string): DiagnosticError {
  return new DiagnosticError([{ severity: 'error', reason: 'usage', message, origin: 'command line', hint: `Usage: ${usage}` }]);
}

export const commonPipelineOptions = {
  variant: { type: 'string' },
  set: { type: 'string', multiple: true },
  cache: { type: 'string' },
} as const satisfies OptionSpec;

export function asStrings(value: unknown): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? (value as string[]) : [value as string];
}
