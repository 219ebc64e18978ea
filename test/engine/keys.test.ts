/**
 * Golden keys. If one of these literals has to change, the way keys are built changed: bump KEY_FORMAT (or the item
 * format) on purpose, since every user's cache stops matching.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson } from '../../engine/json.js';
import { explainChange, itemKey, KEY_FORMAT, nodeKey, type NodeKeyRecord } from '../../engine/keys.js';

const record: NodeKeyRecord = {
  keyFormat: KEY_FORMAT,
  type: 'annotate',
  version: 2,
  params: { temperature: 1, recipe: 'syncse-positive', n: 1 },
  inputs: { sentences: 'a'.repeat(64) as never },
  files: ['b'.repeat(64) as never],
  llm: { provider: 'anthropic', model: 'claude-haiku-4-5' },
};

test('node key of a fixed record', () => {
  assert.equal(KEY_FORMAT, 1);
  assert.equal(nodeKey(record), '1b60b10e9f9cf62b7494e3d477999d5bc17435464d112095a70c606e2bff2d9f');
});

test('item key of a fixed item', () => {
  assert.equal(itemKey('annotate/syncse@1', { text: 'A man plays a guitar.', sample: 0 }), '33ca93f3d948db4310297142ad3eb323d5592a5236942fa621d864bfc07370fb');
});

test('canonical JSON sorts keys by code unit and is insensitive to key order', () => {
  assert.equal(canonicalJson({ b: [1, { d: 'x', c: null }], a: 'é', Z: true }), '{"Z":true,"a":"é","b":[1,{"c":null,"d":"x"}]}');
  assert.equal(nodeKey({ ...record, params: { n: 1, recipe: 'syncse-positive', temperature: 1 } }), nodeKey(record));
  assert.throws(() => canonicalJson({ x: Number.NaN }), /non-finite/);
});

test('explainChange names the parameter, input, file and version that changed', () => {
  const next: NodeKeyRecord = { ...record, version: 3, params: { temperature: 0.7, recipe: 'syncse-positive', n: 1 }, inputs: { sentences: 'c'.repeat(64) as never }, files: ['d'.repeat(64) as never] };
  assert.deepEqual(explainChange(record, next, ['prompts/positive.yaml']), [
    'implementation version 2 → 3',
    'params.temperature 1 → 0.7',
    'input sentences changed (aaaaaaaa → cccccccc)',
    'file prompts/positive.yaml changed (bbbbbbbb → dddddddd)',
  ]);
  assert.deepEqual(explainChange(undefined, record), ['never ran before']);
});
