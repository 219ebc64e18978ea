/** The global -q / -v setting, read by the commands that print progress or diagnostics. */
export type Verbosity = 'quiet' | 'normal' | 'verbose';

let current: Verbosity = 'normal';

export function setVerbosity(value: Verbosity): void {
  current = value;
}

export function verbosity(): Verbosity {
  return current;
}
