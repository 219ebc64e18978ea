/**
 * The engine reports what happens as typed events; the terminal display, the plain log and `--json` NDJSON are
 * consumers of the same stream.
 */
import type { ItemTotals } from './items.js';
import type { NodeState } from './run-store.js';

/** What the LLM layer did in this run so far: shown on the progress line and in the final line. */
export interface LlmProgress {
  /** Requests sent (and paid) in this run. */
  sent: number;
  /** Answers served from the cache instead. */
  reused: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  retries: number;
  /** Calls that ended without an answer after their retries. */
  errors: number;
  /** Why requests go at the current pace, when any were sent. */
  pace?: string;
}

export type EngineEvent =
  | { type: 'run-start'; runId: string; pipeline: string; variant: string; nodes: number }
  | { type: 'node-start'; node: string; nodeType: string; key: string }
  | { type: 'node-end'; node: string; nodeType: string; key: string; state: NodeState; ms: number; items: ItemTotals; message?: string }
  | { type: 'progress'; node: string; label: string; done: number; total: number; llm?: LlmProgress }
  | { type: 'log'; node: string; level: 'info' | 'warn'; message: string }
  | { type: 'run-end'; runId: string; status: 'ok' | 'failed' | 'interrupted'; ms: number; items?: { cached: number; ran: number; failed: number }; llm?: LlmProgress };

export type Reporter = (event: EngineEvent) => void;

function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 120) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s % 60)} s`;
}

function itemText(items: ItemTotals): string {
  const parts: string[] = [];
  if (items.cached > 0) parts.push(`${items.cached} cached`);
  if (items.ran > 0) parts.push(`${items.ran} ran`);
  if (items.failed > 0) parts.push(`${items.failed} failed (${Object.entries(items.failureReasons).map(([r, n]) => `${r}: ${n}`).join(', ')})`);
  if (items.skipped > 0) parts.push(`${items.skipped} not started`);
  return parts.length > 0 ? ` [items: ${parts.join(', ')}]` : '';
}

const STATE_MARK: Record<NodeState, string> = {
  cached: '✓ cached ',
  ran: '✓ ran    ',
  partial: '! partial',
  failed: '✗ failed ',
  interrupted: '■ stopped',
  skipped: '- skipped',
};

/** ANSI colours for the terminal display only: never when piped, never with NO_COLOR set. */
const STATE_COLOUR: Record<NodeState, string> = { cached: '2', ran: '32', partial: '33', failed: '31', interrupted: '33', skipped: '2' };

export function useColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '') && env.TERM !== 'dumb';
}

function paint(text: string, code: string, colour: boolean): string {
  return colour ? `\x1b[${code}m${text}\x1b[0m` : text;
}

interface ProgressLine {
  node: string;
  label: string;
  done: number;
  total: number;
  startedAt: number;
  startDone: number;
  llm?: LlmProgress;
}

function rateAndEta(line: ProgressLine): string {
  const elapsed = (Date.now() - line.startedAt) / 1000;
  const rate = elapsed > 0 ? (line.done - line.startDone) / elapsed : 0;
  const left = line.total - line.done;
  const eta = rate > 0 ? formatDuration(Math.round((left / rate) * 1000)) : '?';
  return `${rate.toFixed(rate < 10 ? 1 : 0)}/s, ETA ${eta}`;
}

function count(n: number): string {
  return n < 1000 ? String(n) : n < 1_000_000 ? `${(n / 1000).toFixed(1)}k` : `${(n / 1_000_000).toFixed(2)}M`;
}

/** Requests, tokens, cost, retries and errors so far, and why requests go at their pace. */
function llmText(llm: LlmProgress | undefined): string {
  if (!llm) return '';
  const parts = [`${llm.sent} sent, ${llm.reused} reused`, `${count(llm.inputTokens)} in/${count(llm.outputTokens)} out tokens`, `$${llm.costUsd.toFixed(4)}`];
  if (llm.retries > 0 || llm.errors > 0) parts.push(`${llm.retries} retries, ${llm.errors} errors`);
  if (llm.pace && llm.sent > 0) parts.push(llm.pace);
  return ` · ${parts.join(' · ')}`;
}

/** "annotate (SynCSE)" rather than "annotate annotate (SynCSE)"; "clean: dedupe" where the label is not the node. */
function progressName(line: ProgressLine): string {
  return line.label.startsWith(line.node) ? line.label : `${line.node}: ${line.label}`;
}

function progressText(line: ProgressLine, bar: string): string {
  return `  ${progressName(line)} ${bar}${line.done}/${line.total} ${rateAndEta(line)}${llmText(line.llm)}`;
}

function nodeEndText(event: Extract<EngineEvent, { type: 'node-end' }>, colour: boolean): string {
  return `${paint(STATE_MARK[event.state], STATE_COLOUR[event.state], colour)} ${event.node} (${event.nodeType}) ${formatDuration(event.ms)}${itemText(event.items)}${event.message ? `\n    ${event.message}` : ''}`;
}

/** The run's last line: how it ended, what was spent, sent and reused. */
function runEndText(event: Extract<EngineEvent, { type: 'run-end' }>): string {
  const parts = [`synthcse: ${event.status === 'ok' ? 'done' : event.status} in ${formatDuration(event.ms)}`];
  if (event.llm) {
    const llm = event.llm;
    parts.push(`LLM: ${llm.sent} requests sent ($${llm.costUsd.toFixed(4)}, ${count(llm.inputTokens)} in/${count(llm.outputTokens)} out tokens), ${llm.reused} answers reused${llm.retries > 0 ? `, ${llm.retries} retries` : ''}`);
  }
  if (event.items && event.items.cached + event.items.ran + event.items.failed > 0) {
    parts.push(`items: ${event.items.cached} cached, ${event.items.ran} ran, ${event.items.failed} failed`);
  }
  return parts.join('; ');
}

function lineFor(lines: Map<string, ProgressLine>, event: Extract<EngineEvent, { type: 'progress' }>): ProgressLine {
  const id = `${event.node}\u0000${event.label}`;
  let line = lines.get(id);
  if (!line) {
    line = { node: event.node, label: event.label, done: event.done, total: event.total, startedAt: Date.now(), startDone: event.done };
    lines.set(id, line);
  }
  line.done = event.done;
  line.total = event.total;
  if (event.llm) line.llm = event.llm;
  return line;
}

/** Live progress bars on a terminal (stderr), redrawn at most 10 times a second. */
export function ttyReporter(stream: NodeJS.WriteStream = process.stderr, colour = useColour(stream)): Reporter {
  const lines = new Map<string, ProgressLine>();
  let drawn = 0;
  let lastDraw = 0;
  const clear = () => {
    if (drawn > 0) stream.write(`\x1b[${drawn}A\x1b[0J`);
    drawn = 0;
  };
  const draw = (force = false) => {
    if (!force && Date.now() - lastDraw < 100) return;
    lastDraw = Date.now();
    clear();
    const width = Math.max(10, Math.min(30, (stream.columns ?? 80) - 60));
    for (const line of lines.values()) {
      const frac = line.total > 0 ? Math.min(1, line.done / line.total) : 0;
      const filled = Math.round(frac * width);
      stream.write(progressText(line, `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] `) + '\n');
      drawn++;
    }
  };
  return collapsingCached((event) => {
    switch (event.type) {
      case 'progress': {
        lineFor(lines, event);
        if (event.done >= event.total) lines.delete(`${event.node}\u0000${event.label}`);
        draw();
        return;
      }
      case 'node-end':
        for (const id of [...lines.keys()]) if (id.startsWith(event.node + '\u0000')) lines.delete(id);
        clear();
        stream.write(nodeEndText(event, colour) + '\n');
        draw(true);
        return;
      default:
        plainText(event, (text) => {
          clear();
          stream.write(text + '\n');
          draw(true);
        });
    }
  }, (text) => {
    clear();
    stream.write(text + '\n');
  });
}

/** Above this many nodes, cache hits are counted in one line at the end instead of one line each. */
const LIST_CACHED_UP_TO = 30;

/** Wraps a reporter so that a large, mostly cached pipeline prints "998 nodes cached" rather than 998 lines. */
function collapsingCached(inner: Reporter, write: (text: string) => void): Reporter {
  let collapse = false;
  let cached = 0;
  return (event) => {
    if (event.type === 'run-start') collapse = event.nodes > LIST_CACHED_UP_TO;
    if (collapse && event.type === 'node-end' && event.state === 'cached') {
      cached++;
      return;
    }
    if (event.type === 'run-end' && cached > 0) write(`${STATE_MARK.cached} ${cached} nodes`);
    inner(event);
  };
}

/** Plain lines for logs and CI: node ends, warnings, and each progress line at most every 10 seconds. */
export function plainReporter(stream: NodeJS.WritableStream = process.stderr, intervalMs = 10_000): Reporter {
  const lastPrinted = new Map<string, number>();
  const lines = new Map<string, ProgressLine>();
  return collapsingCached((event) => {
    if (event.type === 'progress') {
      const id = `${event.node}\u0000${event.label}`;
      if (!lines.has(id)) lastPrinted.set(id, Date.now()); // short work never prints a progress line
      const line = lineFor(lines, event);
      const last = lastPrinted.get(id) ?? 0;
      if (Date.now() - last >= intervalMs && event.done < event.total) {
        lastPrinted.set(id, Date.now());
        stream.write(progressText(line, '') + '\n');
      }
      return;
    }
    if (event.type === 'node-end') {
      stream.write(nodeEndText(event, false) + '\n');
      return;
    }
    plainText(event, (text) => stream.write(text + '\n'));
  }, (text) => stream.write(text + '\n'));
}

/** -q: warnings, failures and the final line only. */
export function quietReporter(inner: Reporter): Reporter {
  return (event) => {
    if (event.type === 'progress' || event.type === 'node-start' || event.type === 'run-start') return;
    if (event.type === 'log' && event.level === 'info') return;
    if (event.type === 'node-end' && ['cached', 'ran'].includes(event.state)) return;
    inner(event);
  };
}

function plainText(event: EngineEvent, write: (text: string) => void): void {
  switch (event.type) {
    case 'run-start':
      write(`synthcse: ${event.pipeline}${event.variant ? ` (variant ${event.variant})` : ''}: ${event.nodes} nodes`);
      return;
    case 'log':
      write(`${event.level === 'warn' ? '⚠️  ' : '  '}${event.node}: ${event.message}`);
      return;
    case 'run-end':
      write(runEndText(event));
      return;
    default:
      return;
  }
}

export function jsonReporter(stream: NodeJS.WritableStream = process.stdout): Reporter {
  return (event) => {
    stream.write(JSON.stringify(event) + '\n');
  };
}

export { formatDuration };
