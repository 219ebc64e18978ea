/**
 * One loopback endpoint in a process of its own, for `bench:scale --workers`: each worker's endpoint gets its own
 * event loop, as a GPU server would, instead of all of them sharing the bench's (whose timers then fire late and
 * lengthen every call of the larger worker counts). Arguments: latency in ms, requests served at once. It sends
 * `{url}` over IPC when listening; on "stats" it answers with what the bench needs; on "close" it exits.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startMockLlmServer } from '../test/support/mock-llm-server.js';

export interface EndpointStats {
  received: number;
  answered: number;
  /** Digests of the distinct calls answered (a call answered twice, by two workers, appears once here). */
  succeeded: string[];
  /** Date.now() of the first call and of the last answer (sampled every 10 ms); 0 when none. */
  firstCallAt: number;
  lastAnswerAt: number;
  cpuSeconds: number;
  loopDelayP99Ms: number;
}

const server = await startMockLlmServer({ latencyMs: Number(process.argv[2]), serveConcurrency: Number(process.argv[3]) });
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const received = () => server.stats.byRoute['POST /v1/messages'] ?? 0;
const answered = () => server.stats.byStatus[200] ?? 0;
let firstCallAt = 0;
let lastAnswerAt = 0;
let lastAnswered = 0;
setInterval(() => {
  if (firstCallAt === 0 && received() > 0) firstCallAt = Date.now();
  if (answered() > lastAnswered) {
    lastAnswered = answered();
    lastAnswerAt = Date.now();
  }
}, 10);

process.on('message', (message) => {
  if (message === 'stats') {
    const cpu = process.cpuUsage();
    const stats: EndpointStats = {
      received: received(),
      answered: answered(),
      succeeded: [...server.stats.succeeded],
      firstCallAt,
      lastAnswerAt,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    };
    process.send!(stats);
  } else if (message === 'close') {
    void server.close().then(() => process.exit(0));
  }
});
process.send!({ url: server.url });
