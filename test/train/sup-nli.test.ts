/** End to end through the engine: pipelines/sup-nli.yaml on a tiny generated data folder. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runPipeline } from '../../engine/api.js';
import { builtinRegistry } from '../../engine/cli/registry.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function tinyData(): string {
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-supnli-'));
  mkdirSync(join(dir, 'nli'));
  mkdirSync(join(dir, 'stsb'));
  const subjects = ['man', 'woman', 'child', 'dog', 'cat', 'boy', 'girl', 'horse'];
  const nli = ['premise\tentailment\tcontradiction'];
  const dev = ['sentence1\tsentence2\tscore'];
  subjects.forEach((s, i) => {
    nli.push(`A ${s} is running in the park.\tThe ${s} runs outside.\tA ${s} is sleeping at home.`);
    nli.push(`A ${s} is playing a guitar.\tThe ${s} plays music.\tA ${s} is reading a book.`);
    dev.push(`A ${s} is running.\tA ${s} runs.\t${4 + (i % 2) * 0.5}`);
    dev.push(`A ${s} plays a guitar.\tA ${s} is sleeping.\t${1 + (i % 3) * 0.5}`);
  });
  writeFileSync(join(dir, 'nli', 'snli_triplets.tsv'), nli.join('\n') + '\n');
  writeFileSync(join(dir, 'stsb', 'dev.tsv'), dev.join('\n') + '\n');
  return dir;
}

test('sup-nli.yaml runs end to end: load → encoder baseline + train → eval with both rows', async () => {
  const data = tinyData();
  const cacheDir = mkdtempSync(join(tmpdir(), 'synthcse-supnli-cache-'));
  const outcome = await runPipeline({
    file: join(repoRoot, 'pipelines', 'sup-nli.yaml'),
    registry: await builtinRegistry(),
    env: { ...process.env, SYNTHCSE_DATA: data },
    // A 20k-word vocabulary keeps the two exported models small (the full one is 141 MB each).
    set: ['params.senteval=false', 'params.epochs=1', 'nodes.train.with.max_vocab=20000', 'nodes.baseline.with.max_vocab=20000'],
    cacheDir,
  });
  outcome.prepared.store.close();
  assert.equal(outcome.status, 'ok', JSON.stringify([...outcome.outcomes.values()].map((o) => [o.id, o.state, o.diagnostic?.message])));
  const evalOutcome = outcome.outcomes.get('eval')!;
  const table = evalOutcome.stats?.values?.table;
  assert.equal(typeof table, 'string');
  assert.match(table as string, /\| GloVe SIF\+PC \|.*\n\| glove-avg simcse-sup \|/);
  assert.equal(typeof outcome.outcomes.get('train')!.stats?.values?.backend, 'string');
});
