/**
 * The world a differential sequence edits: a project folder with a pipeline (load → tag1 → … → tagN → merge ←
 * listing, and optionally load → annotate → filter), a data folder, a plugin whose entry imports a local module and
 * a package, prompt files, and the environment and LLM endpoint the runs see. `State` is the model; `writeWorld`
 * makes the files say it, `pipelineNodes` says what each node depends on.
 */
import { cpSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

export interface State {
  /** The shape of the graph: how many tag stages are chained, whether the LLM branch exists. */
  tagStages: number;
  withAnnotate: boolean;
  sentences: string[];
  sample: number;
  listed: Record<string, string>;
  /** Bumped with `touch`-like edits that change nothing but the file's mtime. */
  listedTouches: number;
  implVariant: number;
  pluginVersion: number;
  packageVersion: string;
  suffixEnv: string;
  unrelatedEnv: string;
  endpoint: 'a' | 'b';
  model: string;
  temperature: number;
  filterMaxWords: number;
  /** Operational settings and formatting: must never rerun anything. */
  tagConcurrency: number;
  annotateConcurrency: number;
  jobs: number;
  comment: string;
  reorder: boolean;
}

export function initialState(shape: { tagStages: number; withAnnotate: boolean }): State {
  return {
    ...shape,
    sentences: ['A man plays a guitar.', 'Two dogs run in a park.', 'The sky is blue today.', 'A woman reads a book.'],
    sample: 3,
    listed: { 'one.txt': 'first listed line' },
    listedTouches: 0,
    implVariant: 0,
    pluginVersion: 1,
    packageVersion: '1.0.0',
    suffixEnv: 'x',
    unrelatedEnv: 'u0',
    endpoint: 'a',
    model: 'claude-haiku-4-5',
    temperature: 1,
    filterMaxWords: 32,
    tagConcurrency: 2,
    annotateConcurrency: 4,
    jobs: 2,
    comment: '',
    reorder: false,
  };
}

const IMPLS = [
  'export function transform(text) { return text.toUpperCase(); }',
  'export function transform(text) { return text.toLowerCase(); }',
  'export function transform(text) { return [...text].reverse().join(""); }',
  'export function transform(text) { return text.replace(/ /g, "_"); }',
];

export function implCount(): number {
  return IMPLS.length;
}

function pluginEntry(version: number): string {
  return `import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { transform } from './impl.mjs';
import { mark } from 'fakepkg';

export const VERSION = ${version};
const words = (value) => (value && value.form === 'rows' ? value.rows : []);
// files() gets a DependencyProbe; older engines passed a resolvePath function (kept so the test runs against them).
const probeOf = (probe) => typeof probe === 'function' ? { resolve: probe, list: (dir) => { try { return readdirSync(dir).sort(); } catch { return []; } } } : probe;

const tag = {
  type: 'tag', version: VERSION, description: 'Transforms each sentence (item-level cache).',
  params: z.strictObject({ suffix: z.string().default('') }),
  options: z.strictObject({ concurrency: z.number().int().positive().default(2) }),
  inputs: { sentences: { kind: 'sentences' } },
  outputs: { sentences: { kind: 'sentences' } },
  async run(inputs, params, ctx) {
    const result = await ctx.mapItems(words(inputs.sentences), {
      namespace: 'tag',
      key: (row) => ({ text: row.text, suffix: params.suffix }),
      concurrency: ctx.options.concurrency,
      run: async (row) => ({ text: transform(row.text) + params.suffix + mark() }),
    });
    return { sentences: result.results.filter((r) => r !== undefined) };
  },
};

const listing = {
  type: 'listing', version: 1, description: 'One sentence per .txt file of a folder.',
  params: z.strictObject({ dir: z.string() }),
  inputs: {},
  outputs: { sentences: { kind: 'sentences' } },
  cheap: true,
  files(params, _options, probe) {
    const p = probeOf(probe);
    const dir = p.resolve(params.dir);
    return p.list(dir).filter((name) => name.endsWith('.txt')).map((name) => join(dir, name));
  },
  async run(_inputs, params, ctx) {
    const dir = ctx.resolvePath(params.dir);
    const names = readdirSync(dir).filter((name) => name.endsWith('.txt')).sort();
    return { sentences: names.map((name) => ({ text: name + ': ' + readFileSync(join(dir, name), 'utf8') })) };
  },
};

const merge = {
  type: 'merge', version: 1, description: 'Concatenates two sentence lists.',
  params: z.strictObject({}),
  inputs: { a: { kind: 'sentences' }, b: { kind: 'sentences' } },
  outputs: { sentences: { kind: 'sentences' } },
  async run(inputs) {
    return { sentences: [...words(inputs.a), ...words(inputs.b)] };
  },
};

export const nodeTypes = [tag, listing, merge];
`;
}

function fakePackage(version: string): { manifest: string; index: string } {
  return {
    manifest: JSON.stringify({ name: 'fakepkg', version, type: 'module', main: 'index.mjs' }),
    // Reads its version at call time, so a new version changes the output even in a process that imported it before.
    index: `import { readFileSync } from 'node:fs';\nexport function mark() { return '#' + JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')).version; }\n`,
  };
}

export interface Endpoints {
  a: string;
  b: string;
}

/** The pipeline YAML; `reorder` and `comment` change only formatting. */
export function pipelineYaml(state: State, endpoints: Endpoints): string {
  const c = state.comment ? `  # ${state.comment}\n` : '';
  const nodes: Record<string, string> = {
    src: `  src:\n    type: load\n    with:\n      path: data/sentences.txt\n      sample: ${state.sample}\n      seed: 7\n`,
  };
  for (let k = 1; k <= state.tagStages; k++) {
    nodes[`tag${k}`] =
      `  tag${k}:\n    type: tag\n    inputs:\n      sentences: ${k === 1 ? 'src' : `tag${k - 1}`}.sentences\n` +
      `    with:\n      suffix: "-\${env.DIFF_SUFFIX:-none}${k}"\n      concurrency: ${state.tagConcurrency}\n`;
  }
  nodes.listed = `  listed:\n    type: listing\n    with:\n      dir: data/listed\n`;
  nodes.merged = `  merged:\n    type: merge\n    inputs:\n      a: tag${state.tagStages}.sentences\n      b: listed.sentences\n`;
  if (state.withAnnotate) {
    nodes.annotate = `  annotate:\n    type: annotate\n    inputs:\n      sentences: src.sentences\n    with:\n      recipe: syncse\n      shots: 1\n      temperature: ${state.temperature}\n      top_p_positive: null\n      top_p_negative: null\n      concurrency: ${state.annotateConcurrency}\n`;
    nodes.clean = `  clean:\n    type: filter\n    inputs:\n      triplets: annotate.triplets\n    with:\n      rules: [{ rule: trim }, { rule: words, max: ${state.filterMaxWords} }]\n`;
  }
  const order = state.reorder ? Object.keys(nodes).reverse() : Object.keys(nodes);
  const llm = state.reorder
    ? `llm:\n  anthropic_version: '2023-06-01'\n  requests_per_minute: 60000\n  model: ${state.model}\n  base_url: ${endpoints[state.endpoint]}\n  provider: anthropic\n`
    : `llm:\n  provider: anthropic\n  model: ${state.model}\n  base_url: ${endpoints[state.endpoint]}\n  requests_per_minute: 60000\n  anthropic_version: '2023-06-01'\n`;
  const head = `name: differential\nplugins: [plugin/index.mjs]\n`;
  const body = `nodes:\n${c}${order.map((id) => nodes[id]).join('')}`;
  return state.reorder ? `${body}${llm}${head}` : `${head}${llm}${body}`;
}

/** Writes the whole world for `state` into `dir` (files whose content is unchanged are rewritten all the same). */
export function writeWorld(dir: string, state: State, endpoints: Endpoints, previous?: State): void {
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  if (previous === undefined) {
    cpSync(join(REPO, 'pipelines/prompts/syncse/v1'), join(dir, 'prompts/syncse/v1'), { recursive: true });
    mkdirSync(join(dir, 'plugin/node_modules'), { recursive: true });
    symlinkSync(join(REPO, 'node_modules/zod'), join(dir, 'plugin/node_modules/zod'), 'dir');
  }
  const changed = <K extends keyof State>(key: K) => previous === undefined || JSON.stringify(previous[key]) !== JSON.stringify(state[key]);
  if (changed('sentences')) write('data/sentences.txt', state.sentences.join('\n') + '\n');
  if (changed('listed') || changed('listedTouches')) {
    rmSync(join(dir, 'data/listed'), { recursive: true, force: true });
    for (const [name, text] of Object.entries(state.listed)) write(`data/listed/${name}`, text);
  }
  if (changed('implVariant')) write('plugin/impl.mjs', IMPLS[state.implVariant]! + '\n');
  if (changed('pluginVersion')) write('plugin/index.mjs', pluginEntry(state.pluginVersion));
  if (changed('packageVersion')) {
    const pkg = fakePackage(state.packageVersion);
    write('plugin/node_modules/fakepkg/package.json', pkg.manifest);
    write('plugin/node_modules/fakepkg/index.mjs', pkg.index);
  }
  write('pipeline.yaml', pipelineYaml(state, endpoints));
}

const PLUGIN_CODE = ['implVariant', 'pluginVersion', 'packageVersion'] as const;

/** The nodes of the pipeline for `state`: the parts of the state each depends on (besides its inputs), and its inputs. */
export function pipelineNodes(state: State): Record<string, { depends: readonly (keyof State)[]; inputs: readonly string[] }> {
  const nodes: Record<string, { depends: readonly (keyof State)[]; inputs: readonly string[] }> = {
    src: { depends: ['sentences', 'sample'], inputs: [] },
  };
  for (let k = 1; k <= state.tagStages; k++) nodes[`tag${k}`] = { depends: [...PLUGIN_CODE, 'suffixEnv'], inputs: [k === 1 ? 'src' : `tag${k - 1}`] };
  nodes.listed = { depends: [...PLUGIN_CODE, 'listed'], inputs: [] };
  nodes.merged = { depends: [...PLUGIN_CODE], inputs: [`tag${state.tagStages}`, 'listed'] };
  if (state.withAnnotate) {
    nodes.annotate = { depends: ['endpoint', 'model', 'temperature'], inputs: ['src'] };
    nodes.clean = { depends: ['filterMaxWords'], inputs: ['annotate'] };
  }
  return nodes;
}

export function envOf(state: State): NodeJS.ProcessEnv {
  return { ...process.env, ANTHROPIC_API_KEY: 'sk-ant-test-differential', DIFF_SUFFIX: state.suffixEnv, DIFF_UNRELATED: state.unrelatedEnv };
}
