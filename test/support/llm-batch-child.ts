/**
 * A separate process for the batch resume test: sends N batch-mode requests through the LLM service and prints one
 * JSON line when all are answered. The test kills it with SIGKILL while its batch is in flight, then runs it again.
 * Usage: node llm-batch-child.js <mock url> <cache dir> <count> [batch|online]
 */
import { Store } from '../../cache/store.js';
import { paraphraseRequest, testService } from './llm-fixtures.js';

const [url, cacheDir, countText, mode = 'batch'] = process.argv.slice(2) as [string, string, string, string?];
const store = new Store(cacheDir);
const service = testService(url, store, { log: { info: (m) => process.stderr.write(`${m}\n`), warn: (m) => process.stderr.write(`${m}\n`) } });
const client = service.client('batch-node', { mode: mode === 'online' ? 'online' : 'batch' });
const requests = Array.from({ length: Number(countText) }, (_, i) => paraphraseRequest(`Batch sentence number ${i} is here.`));
const answers = await Promise.all(requests.map((request) => client.complete(request, { sample: 0 })));
process.stdout.write(JSON.stringify({ answered: answers.length, modes: [...new Set(answers.map((a) => a.mode))], paid: answers.filter((a) => !a.cached).length }) + '\n');
await service.close();
store.close();
