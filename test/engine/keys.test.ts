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
  listings: [],
  llm: { provider: 'anthropic', model: 'claude-haiku-4-5', base_url: null },
  code: null,
};

test('node key of a fixed record', () => {
  assert.equal(KEY_FORMAT, 2);
  assert.equal(nodeKey(record), '045be82e5ed42c60144656b0cc1b3b4575fb576b4fe8013d5a2e913674bdc832');
});

test('item key of a fixed item', () => {
  const scope = { type: 'annotate', version: 1, llm: { provider: 'anthropic' as const, model: 'claude-haiku-4-5', base_url: null }, code: null };
  assert.equal(itemKey(scope, 'annotate/syncse@1', { text: 'A man plays a guitar.', sample: 0 }), '0263e86739102971d8424e5bc0facedecfcc4214a0757e25ca9352a059b84c96');
});

test('canonical JSON sorts keys by code unit and is insensitive to key order', () => {
  assert.equal(canonicalJson({ b: [1, { d: 'x', c: null }], a: 'é', Z: true }), '{"Z":true,"a":"é","b":[1,{"c":null,"d":"x"}]}');
  assert.equal(nodeKey({ ...record, params: { n: 1, recipe: 'syncse-positive', temperature: 1 } }), nodeKey(record));
  assert.throws(() => canonicalJson({ x: Number.NaN }), /non-finite/);
});

/** Canonical JSON as it was first written (keys joined in JavaScript): the fast path must give the same text. */
function referenceCanonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return '[' + value.map((v) => (v === undefined ? 'null' : referenceCanonical(v))).join(',') + ']';
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + referenceCanonical(obj[k])).join(',') + '}';
}

test('canonical JSON is the same text for index keys, __proto__, undefined members and nested values', () => {
  const protoKey = JSON.parse('{"__proto__": {"z": 1}, "a": 2}') as unknown;
  const values: unknown[] = [
    { 10: 'ten', 2: 'two', b: [undefined, 1.5, -0, 'x\u0000"é\ud800'], a: { y: null, x: false } },
    { '01': 1, '1': 2, '4294967295': 3, '': 4, 'é': 5, 'Z': 6 },
    protoKey,
    { nested: [protoKey, { 3: [{ b: 1, a: undefined }] }] },
    [[], {}, '', 0, true],
    { model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8, top_p: undefined },
  ];
  for (const value of values) assert.equal(canonicalJson(value), referenceCanonical(value), JSON.stringify(value));
  assert.equal(canonicalJson(protoKey), '{"__proto__":{"z":1},"a":2}');
  assert.throws(() => canonicalJson({ a: [Number.POSITIVE_INFINITY] }), /non-finite/);
  assert.throws(() => canonicalJson({ a: () => 1 }), /type function/);
  assert.throws(() => canonicalJson({ 1: { f: 1n } }), /type bigint/);
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

test('explainChange names an added file by folder, a changed plugin module, a package upgrade and a new base_url', () => {
  const before: NodeKeyRecord = {
    ...record,
    files: ['b'.repeat(64) as never],
    llm: { provider: 'anthropic', model: 'claude-haiku-4-5', base_url: 'http://a.example/' },
    code: { modules: { 'index.mjs': '1'.repeat(64) as never, 'impl.mjs': '2'.repeat(64) as never }, packages: { zod: '4.1.0' } },
  };
  const after: NodeKeyRecord = {
    ...before,
    files: ['b'.repeat(64) as never, 'e'.repeat(64) as never],
    llm: { ...before.llm!, base_url: 'http://b.example/' },
    code: { modules: { 'index.mjs': '1'.repeat(64) as never, 'impl.mjs': '3'.repeat(64) as never }, packages: { zod: '4.2.0' } },
  };
  assert.deepEqual(explainChange(before, after, ['data/stsb/dev.tsv', 'data/sts14/news.txt'], ['data/stsb/dev.tsv']), [
    'file added under data/sts14: news.txt',
    'base_url changed (http://a.example/ → http://b.example/)',
    'plugin module impl.mjs changed',
    'package zod 4.1.0 → 4.2.0',
  ]);
});
