/**
 * Every pipeline error a user can make, with the exact position and message the CLI prints. Nothing runs when a
 * pipeline is invalid.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Workspace } from './support.js';

const HEAD = `name: bad
plugins: [$PLUGIN]
params:
  n: 3
`;

interface Case {
  name: string;
  yaml: string;
  args?: string[];
  /** Expected `file:line:col message` fragment (or origin) and the hint fragment. */
  expect: RegExp[];
}

const CASES: Case[] = [
  {
    name: 'unknown node type, with a suggestion',
    yaml: HEAD + `nodes:\n  src:\n    type: emitt\n    with:\n      count: 3\n`,
    expect: [/p\.yaml:7:11 Node "src" has unknown type "emitt"\. Did you mean "emit"\?/, /Known types: .*emit/],
  },
  {
    name: 'unknown parameter, with a suggestion',
    yaml: HEAD + `nodes:\n  src:\n    type: emit\n    with:\n      cuont: 3\n`,
    expect: [/p\.yaml:9:7 Node "src" \(emit\) has no parameter "cuont"\. Did you mean "count"\?/],
  },
  {
    name: 'unknown parameter of a node type whose parameters depend on a recipe',
    yaml: HEAD + `nodes:\n  src:\n    type: load\n    with:\n      path: x.txt\n  annotate:\n    type: annotate\n    inputs:\n      sentences: src.sentences\n    with:\n      recipe: syncse\n      temprature: 0.7\n`,
    expect: [/p\.yaml:16:7 Node "annotate" \(annotate\) has no parameter "temprature"\. Did you mean "temperature"\?/, /Parameters of annotate: recipe, .*top_p_positive/],
  },
  {
    name: 'mistyped parameter',
    yaml: HEAD + `nodes:\n  src:\n    type: emit\n    with:\n      count: many\n`,
    expect: [/p\.yaml:9:14 Node "src" \(emit\): parameter "count": Invalid input: expected number, received string/],
  },
  {
    name: 'missing input',
    yaml: HEAD + `nodes:\n  up:\n    type: upper\n`,
    expect: [/p\.yaml:6:3 Node "up" \(upper\) is missing its input "words" \(words\)/, /inputs: \{ words: OTHER_NODE\.PORT \}/],
  },
  {
    name: 'input from a node that does not exist',
    yaml: HEAD + `nodes:\n  src:\n    type: emit\n    with:\n      count: 3\n  up:\n    type: upper\n    inputs:\n      words: sr\n`,
    expect: [/p\.yaml:13:14 Input "words" of node "up" refers to "sr", which is not a node\. Did you mean "src"\?/],
  },
  {
    name: 'unknown input port',
    yaml: HEAD + `nodes:\n  src:\n    type: emit\n    with:\n      count: 3\n  up:\n    type: upper\n    inputs:\n      word: src\n`,
    expect: [/p\.yaml:13:7 Node "up" \(upper\) has no input port "word"\. Did you mean "words"\?/],
  },
  {
    name: 'port kind mismatch',
    yaml: HEAD + `nodes:\n  src:\n    type: emit\n    with:\n      count: 3\n  n:\n    type: count\n    inputs:\n      words: src\n  up:\n    type: upper\n    inputs:\n      words: n\n`,
    expect: [/p\.yaml:17:14 Input "words" of node "up" takes words, but "n\.n" produces number\./],
  },
  {
    name: 'cycle, naming the nodes on it',
    yaml: HEAD + `nodes:\n  a:\n    type: join\n    inputs:\n      a: b\n  b:\n    type: join\n    inputs:\n      a: a\n`,
    expect: [/The nodes form a cycle: a → b → a\./, /"b" takes its input from the node before it \(.*p\.yaml:12:5\)/],
  },
  {
    name: 'unknown variant',
    yaml: HEAD + `nodes:\n  src:\n    type: emit\n    with:\n      count: 3\nvariants:\n  scratch: {}\n`,
    args: ['--variant', 'scrach'],
    expect: [/Unknown variant "scrach"\. Did you mean "scratch"\?/, /Use one of: scratch/],
  },
  {
    name: 'bad --set path',
    yaml: HEAD + `nodes:\n  src:\n    type: emit\n    with:\n      count: 3\n`,
    args: ['--set', 'params.m=4'],
    expect: [/--set params\.m=4: Cannot set "params\.m": the pipeline declares no parameter "m"\. Did you mean "n"\?/],
  },
  {
    name: 'YAML syntax error',
    yaml: HEAD + `nodes:\n  src:\n    type: emit\n    with: { count: \${params.n} }\n`,
    expect: [/p\.yaml:8:21 YAML syntax error/, /quote a reference/],
  },
  {
    name: 'undeclared parameter reference',
    yaml: HEAD + `nodes:\n  src:\n    type: emit\n    with:\n      count: \${params.m}\n`,
    expect: [/p\.yaml:9:14 \$\{params\.m\} refers to an undeclared parameter\. Did you mean "n"\?/],
  },
  {
    name: 'unset environment variable',
    yaml: HEAD + `nodes:\n  src:\n    type: emit\n    with:\n      count: 3\n      prefix: \${env.SYNTHCSE_TEST_UNSET}\n`,
    expect: [/p\.yaml:10:15 Environment variable SYNTHCSE_TEST_UNSET is not set\./, /\$\{env\.SYNTHCSE_TEST_UNSET:-value\}/],
  },
  {
    name: 'unknown top-level key',
    yaml: HEAD + `node:\n  src:\n    type: emit\n`,
    expect: [/p\.yaml:5:1 Unknown top-level key "node"\. Did you mean "nodes"\?/],
  },
];

for (const c of CASES) {
  test(`pipeline error: ${c.name}`, () => {
    const ws = new Workspace();
    const file = ws.write('p.yaml', c.yaml);
    const r = ws.run(['run', 'p.yaml', ...(c.args ?? [])]);
    assert.equal(r.code, 2, `exit code 2 for an invalid pipeline; stderr:\n${r.stderr}`);
    for (const pattern of c.expect) assert.match(r.stderr, pattern);
    assert.doesNotMatch(r.stderr, /\n\s+at .*\.js:\d+/, 'no stack trace');
    assert.deepEqual(ws.takeLog(), [], 'nothing ran');
    void file;
  });
}

test('all errors in a file are reported in one go', () => {
  const ws = new Workspace();
  ws.write('p.yaml', HEAD + `nodes:\n  src:\n    type: emitt\n  up:\n    type: upper\n    with:\n      sufix: x\n`);
  const r = ws.run(['run', 'p.yaml']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown type "emitt"/);
  assert.match(r.stderr, /has no parameter "sufix"\. Did you mean "suffix"\?/);
});
