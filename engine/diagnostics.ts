/**
 * Problems a user can fix, as data: built where they are found, printed by one printer. A diagnostic names the
 * file, line and column, says what is wrong and, where it can, what to do.
 */
import type { LineCounter } from 'yaml';

export type DiagnosticReason =
  | 'yaml-syntax'
  | 'not-a-mapping'
  | 'unknown-top-level-key'
  | 'unknown-node-type'
  | 'invalid-param'
  | 'unknown-param'
  | 'missing-input'
  | 'unknown-input-port'
  | 'unknown-upstream'
  | 'unknown-output-port'
  | 'port-kind-mismatch'
  | 'cycle'
  | 'unknown-variant'
  | 'bad-set-path'
  | 'bad-interpolation'
  | 'missing-env'
  | 'extends-failed'
  | 'missing-file'
  | 'llm-not-configured'
  | 'llm-invalid-request'
  | 'llm-unreachable'
  | 'node-failed'
  | 'cache-problem'
  | 'usage';

export interface SourceFile {
  path: string;
  text: string;
  lines: LineCounter;
}

/** A span in a source file, as offsets; turned into line:col only when printed. */
export interface SourceRange {
  file: SourceFile;
  start: number;
  end: number;
}

export interface Diagnostic {
  severity: 'error' | 'warning';
  reason: DiagnosticReason;
  message: string;
  location?: SourceRange;
  /** Where the problem is not in a file (e.g. a --set argument). */
  origin?: string;
  hint?: string;
  /** Other places that explain it ("points to", "first defined here"). */
  related?: { message: string; location: SourceRange }[];
}

/** A failure with diagnostics that the CLI prints instead of a stack trace. */
export class DiagnosticError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map((d) => d.message).join('\n'));
    this.name = 'DiagnosticError';
  }
}

export function position(range: SourceRange): { line: number; col: number } {
  const pos = range.file.lines.linePos(range.start);
  return { line: pos.line, col: pos.col };
}

function relativePath(path: string): string {
  const cwd = process.cwd() + '/';
  return path.startsWith(cwd) ? path.slice(cwd.length) : path;
}

function snippet(range: SourceRange): string[] {
  const { line, col } = position(range);
  const lineText = range.file.text.split('\n')[line - 1] ?? '';
  const endPos = range.file.lines.linePos(Math.max(range.start, range.end - 1));
  const width = endPos.line === line ? Math.max(1, endPos.col - col + 1) : Math.max(1, lineText.length - col + 1);
  return [`    ${lineText}`, `    ${' '.repeat(Math.max(0, col - 1))}${'~'.repeat(width)}`];
}

export function formatLocation(range: SourceRange): string {
  const { line, col } = position(range);
  return `${relativePath(range.file.path)}:${line}:${col}`;
}

export function formatDiagnostic(d: Diagnostic): string {
  const mark = d.severity === 'error' ? '❌' : '⚠️ ';
  const where = d.location ? `${formatLocation(d.location)} ` : d.origin ? `${d.origin}: ` : '';
  const out = [`${mark} ${where}${d.message}`];
  if (d.location) out.push(...snippet(d.location));
  for (const related of d.related ?? []) {
    out.push(`    ${related.message} (${formatLocation(related.location)})`);
  }
  if (d.hint) out.push(`    fix: ${d.hint}`);
  return out.join('\n');
}

export function formatDiagnostics(diagnostics: readonly Diagnostic[]): string {
  return diagnostics.map(formatDiagnostic).join('\n');
}

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

export function didYouMean(name: string, candidates: Iterable<string>): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best === undefined || bestDistance > Math.max(2, Math.floor(name.length / 3))) return '';
  return ` Did you mean "${best}"?`;
}
