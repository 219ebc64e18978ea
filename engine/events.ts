/**
 * The engine reports what happens as typed events; the terminal display, the plain log and `--json` NDJSON are
 * consumers of the same stream.
 */
import type { ItemTotals } from './items.js';
import type { NodeState } from './run-store.js';

export type EngineEvent =
  | { type: 'run-start'; runId: string; pipeline: string; variant: string; nodes: number }
  | { type: 'node-start'; node: string; nodeType: string; key: string }
  | { type: 'node-end'; node: string; nodeType: string; key: string; state: NodeState; ms: number; items: ItemTotals; message?: string }
  | { type: 'progress'; node: string; label: string; done: number; total: number }
  | { type: 'log'; node: string; level: 'info' | 'warn'; message: string }
  | { type: 'run-end'; runId: string; status: 'ok' | 'failed' | 'interrupted'; ms: number };

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

interface ProgressLine {
  label: string;
  done: number;
  total: number;
  startedAt: number;
  startDone: number;
}

function rateAndEta(line: ProgressLine): string {
  const elapsed = (Date.now() - line.startedAt) / 1000;
  const rate = elapsed > 0 ? (line.done - line.startDone) / elapsed : 0;
  const left = line.total - line.done;
  const eta = rate > 0 ? formatDuration(Math.round((left / rate) * 1000)) : '?';
  return `${rate.toFixed(rate < 10 ? 1 : 0)}/s, ETA ${eta}`;
}

/** Live progress bars on a terminal (stderr), redrawn at most 10 times a second. */
export function ttyReporter(stream: NodeJS.WriteStream = process.stderr): Reporter {
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
    for (const [node, line] of lines) {
      const frac = line.total > 0 ? Math.min(1, line.done / line.total) : 0;
      const filled = Math.round(frac * width);
      stream.write(`  ${node} ${line.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${line.done}/${line.total} ${rateAndEta(line)}\n`);
      drawn++;
    }
  };
  return collapsingCached((event) => {
    switch (event.type) {
      case 'progress': {
        const id = `${event.node}\u0000${event.label}`;
        const line = lines.get(id);
        if (line) {
          line.done = event.done;
          line.total = event.total;
        } else lines.set(id, { label: event.label, done: event.done, total: event.total, startedAt: Date.now(), startDone: event.done });
        if (event.done >= event.total) lines.delete(id);
        draw();
        return;
      }
      case 'node-end':
        for (const id of [...lines.keys()]) if (id.startsWith(event.node + '\u0000')) lines.delete(id);
        clear();
        stream.write(`${STATE_MARK[event.state]} ${event.node} (${event.nodeType}) ${formatDuration(event.ms)}${itemText(event.items)}${event.message ? `\n    ${event.message}` : ''}\n`);
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
  const started = new Map<string, ProgressLine>();
  return collapsingCached((event) => {
    if (event.type === 'progress') {
      const id = `${event.node}\u0000${event.label}`;
      let line = started.get(id);
      if (!line) {
        line = { label: event.label, done: event.done, total: event.total, startedAt: Date.now(), startDone: event.done };
        started.set(id, line);
        lastPrinted.set(id, Date.now()); // short work never prints a progress line
      }
      line.done = event.done;
      line.total = event.total;
      const last = lastPrinted.get(id) ?? 0;
      if (Date.now() - last >= intervalMs && event.done < event.total) {
        lastPrinted.set(id, Date.now());
        stream.write(`  ${event.node} ${event.label}: ${event.done}/${event.total} (${rateAndEta(line)})\n`);
      }
      return;
    }
    if (event.type === 'node-end') {
      stream.write(`${STATE_MARK[event.state]} ${event.node} (${event.nodeType}) ${formatDuration(event.ms)}${itemText(event.items)}${event.message ? `\n    ${event.message}` : ''}\n`);
      return;
    }
    plainText(event, (text) => stream.write(text + '\n'));
  }, (text) => stream.write(text + '\n'));
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
      write(`synthcse: ${event.status === 'ok' ? 'done' : event.status} in ${formatDuration(event.ms)}`);
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
