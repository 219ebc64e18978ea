/** YAML anchors, aliases and merge keys in a pipeline file resolve to the anchored values, never to null. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLocatedYaml } from '../../engine/pipeline/located.js';

test('an alias takes its anchor\'s value, and a merge key copies the entries the map does not set', () => {
  const text = `nodes:
  human:
    type: train
    with: &settings
      epochs: 2
      batch_size: 64
      lr: 0.001
  llm:
    type: train
    with: *settings
  tuned:
    type: train
    with:
      <<: *settings
      lr: 0.01
  listed:
    tags: [&first a, *first]
`;
  const doc = parseLocatedYaml('p.yaml', text);
  assert.deepEqual(doc.diagnostics, []);
  const nodes = (doc.value as { nodes: Record<string, { with?: unknown; tags?: unknown }> }).nodes;
  assert.deepEqual(nodes.llm!.with, { epochs: 2, batch_size: 64, lr: 0.001 });
  assert.deepEqual(nodes.tuned!.with, { lr: 0.01, epochs: 2, batch_size: 64 });
  assert.deepEqual(nodes.listed!.tags, ['a', 'a']);
  // The alias is located where it is written, so an error in an aliased value points at the alias.
  const at = doc.locations.find(['nodes', 'llm', 'with']);
  assert.ok(at && text.slice(at.start, at.end) === '*settings');
});

test('with several merge sources, the first one that sets a key wins', () => {
  const doc = parseLocatedYaml('p.yaml', `a: &a { x: 1, y: 1 }\nb: &b { y: 2, z: 2 }\nc:\n  <<: [*a, *b]\n`);
  assert.deepEqual((doc.value as { c: unknown }).c, { x: 1, y: 1, z: 2 });
});
