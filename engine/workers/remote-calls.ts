/**
 * Online LLM calls as jobs for `synthcse worker` processes (job id = request key); the LLM client commits each
 * answer in this process and then says so, and the job goes.
 */
import type { ItemKey } from '../json.js';
import { LlmCallError } from '../llm/types.js';
import { connectJobQueue } from './job-queue.js';
import { failureFromMessage, LLM_QUEUE, type LlmJobData, type LlmJobResult } from './llm-job.js';

export interface RemoteLlm {
  call(data: LlmJobData, signal?: AbortSignal): Promise<LlmJobResult>;
  /** The answer is committed: its job can go. */
  committed(key: ItemKey): void;
  close(): Promise<void>;
}

export async function connectRemoteLlm(redisUrl: string, warn: (message: string) => void): Promise<RemoteLlm> {
  const jobs = await connectJobQueue<LlmJobData, LlmJobResult>({
    redisUrl,
    queue: LLM_QUEUE,
    aborted: (message) => new LlmCallError('aborted', message),
    failure: failureFromMessage,
    warn,
  });
  return {
    call: (data, signal) => jobs.run(data.requestKey, data, signal),
    committed: (key) => jobs.committed(key),
    close: () => jobs.close(),
  };
}
