/**
 * From a pipeline file to one resolved pipeline: follow `extends`, apply a variant overlay and `--set` overrides,
 * then interpolate `${params.x}` and `${env.X}`. Every value keeps the source location it came from.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { parse as parseYamlValue } from 'yaml';
import { DiagnosticError, didYouMean, type Diagnostic, type SourceRange } from '../diagnostics.js';
import { isJsonObject, type Json, type JsonObject } from '../json.js';
import { parseFailureShare } from './failure-share.js';
import { LocationMap, parseLocatedYaml, type Locator, type ValuePath } from './located.js';

export interface NodeSpec {
  type: string;
  /** Input port → "nodeId.port" (or "nodeId" for a node's only output). */
  inputs: Record<string, string>;
  /** Parameters and options as written (after interpolation). */
  with: JsonObject;
  /** Share of this node's items allowed to fail before its dependents are held back and the run fails (0 to 1). */
  maxFailed?: number;
}

export interface ResolvedPipeline {
  /** Absolute path of the file that was run. */
  file: string;
  dir: string;
  name: string;
  variant?: string;
  variantNames: string[];
  params: JsonObject;
  /** The `llm:` section, validated later by the LLM service's schema. */
  llm?: JsonObject;
  /** Modules with extra node types, resolved to absolute paths. */
  plugins: string[];
  nodes: Record<string, NodeSpec>;
  locations: Locator;
  /** Every file read to resolve it (the file and its `extends` chain). */
  sources: string[];
  /** The environment variables it read, with the values they had (null: unset). */
  envUsed: Record<string, string | null>;
  /** The working directory, when a variable held a relative path (./x, ../x) resolved against it. */
  cwd?: string;
}

export interface ResolveOptions {
  variant?: string;
  /** `path=value` overrides from the command line. */
  set?: readonly string[];
  env?: NodeJS.ProcessEnv;
}

const TOP_LEVEL_KEYS = ['name', 'description', 'extends', 'params', 'llm', 'nodes', 'variants', 'plugins'] as const;
const NODE_KEYS = ['type', 'inputs', 'with', 'description', 'max_failed'] as const;

interface Layer {
  value: JsonObject;
  locations: LocationMap;
}

export function resolvePipeline(file: string, options: ResolveOptions = {}): ResolvedPipeline {
  const absolute = resolvePath(file);
  const diagnostics: Diagnostic[] = [];
  const sources: string[] = [];
  const layer = loadWithExtends(absolute, [], diagnostics, undefined, sources);
  if (diagnostics.length > 0 || layer === undefined) throw new DiagnosticError(diagnostics);

  const variantNames = isJsonObject(layer.value.variants) ? Object.keys(layer.value.variants) : [];
  let merged = layer;
  if (options.variant !== undefined) {
    const variants = isJsonObject(layer.value.variants) ? layer.value.variants : {};
    const overlay = variants[options.variant];
    if (!isJsonObject(overlay)) {
      throw new DiagnosticError([
        {
          severity: 'error',
          reason: 'unknown-variant',
          message: `Unknown variant "${options.variant}".${didYouMean(options.variant, variantNames)}`,
          location: layer.locations.findKey(['variants']) ?? layer.locations.find([]),
          hint: variantNames.length > 0 ? `Use one of: ${variantNames.join(', ')}.` : 'This pipeline defines no `variants:` section.',
        },
      ]);
    }
    merged = mergeLayers(layer, { value: overlay, locations: layer.locations.rebase(['variants', options.variant], []) });
  }
  for (const assignment of options.set ?? []) {
    merged = applySet(merged, assignment, diagnostics);
  }
  if (diagnostics.length > 0) throw new DiagnosticError(diagnostics);

  const envUsed: Record<string, string | null> = {};
  const env = options.env ?? process.env;
  let cwd: string | undefined;
  const recordingEnv = new Proxy(env, {
    get(target, name) {
      const value = target[name as string];
      if (typeof name === 'string') envUsed[name] = value ?? null;
      // A relative path in the environment means the directory the command runs in, not the pipeline's folder
      // (the same rule as nodes' own SYNTHCSE_DATA fallback), so it is made absolute here.
      if (typeof value === 'string' && RELATIVE_PATH.test(value)) {
        cwd = process.cwd();
        return resolvePath(cwd, value);
      }
      return value;
    },
  });
  const interpolated = interpolate(merged, recordingEnv, diagnostics);
  if (diagnostics.length > 0) throw new DiagnosticError(diagnostics);
  const pipeline = toResolved(absolute, interpolated, variantNames, options.variant, diagnostics);
  if (diagnostics.length > 0) throw new DiagnosticError(diagnostics);
  return { ...pipeline, sources, envUsed, ...(cwd !== undefined ? { cwd } : {}) };
}

function loadWithExtends(file: string, chain: string[], diagnostics: Diagnostic[], from: SourceRange | undefined, sources: string[]): Layer | undefined {
  if (chain.includes(file)) {
    diagnostics.push({
      severity: 'error',
      reason: 'extends-failed',
      message: `"extends" forms a loop: ${[...chain, file].join(' → ')}`,
      location: from,
      hint: 'Remove one of the `extends:` lines so the files form a chain.',
    });
    return undefined;
  }
  if (!existsSync(file)) {
    diagnostics.push({
      severity: 'error',
      reason: chain.length === 0 ? 'missing-file' : 'extends-failed',
      message: `Pipeline file ${file} does not exist.`,
      location: from,
      hint: chain.length === 0 ? 'Check the path.' : 'Fix the `extends:` path; it is relative to the file that contains it.',
    });
    return undefined;
  }
  sources.push(file);
  const doc = parseLocatedYaml(file, readFileSync(file, 'utf8'));
  if (doc.diagnostics.length > 0) {
    diagnostics.push(...doc.diagnostics);
    return undefined;
  }
  if (!isJsonObject(doc.value)) {
    diagnostics.push({
      severity: 'error',
      reason: 'not-a-mapping',
      message: 'A pipeline file must be a mapping with `name:` and `nodes:`.',
      location: doc.locations.find([]) ?? { file: doc.file, start: 0, end: 1 },
    });
    return undefined;
  }
  for (const key of Object.keys(doc.value)) {
    if (!(TOP_LEVEL_KEYS as readonly string[]).includes(key)) {
      diagnostics.push({
        severity: 'error',
        reason: 'unknown-top-level-key',
        message: `Unknown top-level key "${key}".${didYouMean(key, TOP_LEVEL_KEYS)}`,
        location: doc.locations.findKey([key]),
        hint: `A pipeline has: ${TOP_LEVEL_KEYS.join(', ')}.`,
      });
    }
  }
  const own: Layer = { value: doc.value, locations: doc.locations };
  const parent = doc.value.extends;
  if (parent === undefined || parent === null) return own;
  if (typeof parent !== 'string') {
    diagnostics.push({ severity: 'error', reason: 'extends-failed', message: '`extends` must be a file path.', location: doc.locations.find(['extends']) });
    return undefined;
  }
  const base = loadWithExtends(resolvePath(dirname(file), parent), [...chain, file], diagnostics, doc.locations.find(['extends']), sources);
  if (base === undefined) return undefined;
  const { extends: _dropped, ...rest } = own.value;
  return mergeLayers(base, { value: rest, locations: own.locations });
}

/**
 * Overlay semantics: mappings merge key by key, `null` deletes a key, anything else replaces. A node whose overlay
 * names a different `type` is replaced whole, since the old type's parameters mean nothing to the new one.
 */
function mergeLayers(base: Layer, overlay: Layer): Layer {
  const locations = base.locations.clone();
  const value = mergeValue(base.value, overlay.value, [], overlay.locations, locations) as JsonObject;
  return { value, locations };
}

function mergeValue(base: Json, over: Json, path: ValuePath, overLocations: LocationMap, locations: LocationMap): Json {
  const isNode = path.length === 2 && path[0] === 'nodes';
  const replacesNode = isNode && isJsonObject(base) && isJsonObject(over) && over.type !== undefined && over.type !== base.type;
  if (isJsonObject(base) && isJsonObject(over) && !replacesNode) {
    const out: JsonObject = { ...base };
    for (const [key, value] of Object.entries(over)) {
      if (value === null) {
        delete out[key];
        continue;
      }
      out[key] = key in base ? mergeValue(base[key]!, value, [...path, key], overLocations, locations) : value;
      if (!(key in base)) locations.overlay(overLocations, [...path, key]);
    }
    return out;
  }
  locations.overlay(overLocations, path);
  return over;
}

function applySet(layer: Layer, assignment: string, diagnostics: Diagnostic[]): Layer {
  const eq = assignment.indexOf('=');
  const origin = `--set ${assignment}`;
  if (eq <= 0) {
    diagnostics.push({ severity: 'error', reason: 'bad-set-path', message: `"${assignment}" is not of the form path=value.`, origin, hint: 'Write e.g. --set params.premises=200' });
    return layer;
  }
  const path = assignment.slice(0, eq).split('.');
  const raw = assignment.slice(eq + 1);
  let value: Json;
  try {
    value = (parseYamlValue(raw) ?? null) as Json;
  } catch {
    value = raw;
  }
  const problem = checkSetPath(layer.value, path);
  if (problem !== undefined) {
    diagnostics.push({ severity: 'error', reason: 'bad-set-path', message: problem.message, origin, hint: problem.hint });
    return layer;
  }
  const root: JsonObject = structuredClone(layer.value);
  let cursor: JsonObject = root;
  for (const segment of path.slice(0, -1)) {
    const next = cursor[segment];
    if (!isJsonObject(next)) cursor[segment] = {};
    cursor = cursor[segment] as JsonObject;
  }
  cursor[path[path.length - 1]!] = value;
  return { value: root, locations: layer.locations };
}

function checkSetPath(root: JsonObject, path: string[]): { message: string; hint: string } | undefined {
  const [section, name, field] = path;
  const settable = ['params', 'llm', 'nodes', 'name'];
  if (section === undefined || !settable.includes(section)) {
    return {
      message: `Cannot set "${path.join('.')}": the path must start with params, llm or nodes.${didYouMean(section ?? '', settable)}`,
      hint: 'e.g. --set params.premises=200, --set llm.provider=openai-compatible, --set nodes.train.with.epochs=3',
    };
  }
  if (section === 'params') {
    const params = isJsonObject(root.params) ? root.params : {};
    if (name === undefined || !(name in params)) {
      return {
        message: `Cannot set "${path.join('.')}": the pipeline declares no parameter "${name ?? ''}".${didYouMean(name ?? '', Object.keys(params))}`,
        hint: `Declared parameters: ${Object.keys(params).join(', ') || '(none)'}.`,
      };
    }
  }
  if (section === 'nodes') {
    const nodes = isJsonObject(root.nodes) ? root.nodes : {};
    if (name === undefined || !(name in nodes)) {
      return {
        message: `Cannot set "${path.join('.')}": there is no node "${name ?? ''}".${didYouMean(name ?? '', Object.keys(nodes))}`,
        hint: `Nodes: ${Object.keys(nodes).join(', ')}.`,
      };
    }
    const scalarField = field === 'max_failed' && path.length === 3;
    if (!scalarField && (field === undefined || !(NODE_KEYS as readonly string[]).includes(field) || path.length < 4)) {
      return {
        message: `Cannot set "${path.join('.')}": set a node's parameter, input or max_failed, as nodes.${name}.with.NAME, nodes.${name}.inputs.PORT or nodes.${name}.max_failed.`,
        hint: `e.g. --set nodes.${name}.with.seed=2`,
      };
    }
  }
  if (section === 'llm' && path.length !== 2) {
    return { message: `Cannot set "${path.join('.')}": write llm.FIELD, e.g. llm.provider.`, hint: 'e.g. --set llm.model=claude-haiku-4-5' };
  }
  return undefined;
}

const RELATIVE_PATH = /^\.\.?(\/|\\|$)/;
const REFERENCE = /\$\{(params|env)\.([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

function interpolate(layer: Layer, env: NodeJS.ProcessEnv, diagnostics: Diagnostic[]): Layer {
  const root = layer.value;
  const rawParams = isJsonObject(root.params) ? root.params : {};
  // Parameters may use the environment but not each other: one pass, no ordering puzzles.
  const params = substitute(rawParams, ['params'], { params: {}, env }, layer.locations, diagnostics, false) as JsonObject;
  const out: JsonObject = { ...root, params };
  for (const section of ['llm', 'nodes', 'name', 'plugins'] as const) {
    if (root[section] !== undefined) out[section] = substitute(root[section]!, [section], { params, env }, layer.locations, diagnostics, true);
  }
  return { value: out, locations: layer.locations };
}

function substitute(
  value: Json,
  path: ValuePath,
  scope: { params: JsonObject; env: NodeJS.ProcessEnv },
  locations: LocationMap,
  diagnostics: Diagnostic[],
  paramsAllowed: boolean,
): Json {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    const lookup = (kind: string, name: string, fallback: string | undefined): Json | undefined => {
      if (kind === 'env') {
        const v = scope.env[name];
        if (v !== undefined && v !== '') return v;
        if (fallback !== undefined) return fallback;
        diagnostics.push({
          severity: 'error',
          reason: 'missing-env',
          message: `Environment variable ${name} is not set.`,
          location: locations.find(path),
          hint: `Set ${name} (e.g. export ${name}=...), or give a default: \${env.${name}:-value}.`,
        });
        return undefined;
      }
      if (!paramsAllowed) {
        diagnostics.push({ severity: 'error', reason: 'bad-interpolation', message: 'Parameters cannot refer to other parameters.', location: locations.find(path), hint: 'Use ${env.X} or a literal here.' });
        return undefined;
      }
      if (!(name in scope.params)) {
        diagnostics.push({
          severity: 'error',
          reason: 'bad-interpolation',
          message: `\${params.${name}} refers to an undeclared parameter.${didYouMean(name, Object.keys(scope.params))}`,
          location: locations.find(path),
          hint: `Declare it under params:, or use one of: ${Object.keys(scope.params).join(', ') || '(none)'}.`,
        });
        return undefined;
      }
      return scope.params[name];
    };
    const whole = /^\$\{(params|env)\.([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$/.exec(value);
    if (whole) return lookup(whole[1]!, whole[2]!, whole[3]) ?? null;
    return value.replace(REFERENCE, (_m, kind: string, name: string, fallback: string | undefined) => {
      const v = lookup(kind, name, fallback);
      return v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, [...path, i], scope, locations, diagnostics, paramsAllowed));
  if (isJsonObject(value)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) out[k] = substitute(v, [...path, k], scope, locations, diagnostics, paramsAllowed);
    return out;
  }
  return value;
}

function toResolved(file: string, layer: Layer, variantNames: string[], variant: string | undefined, diagnostics: Diagnostic[]): Omit<ResolvedPipeline, 'sources' | 'envUsed'> {
  const root = layer.value;
  const loc = layer.locations;
  const nodes: Record<string, NodeSpec> = {};
  const rawNodes = root.nodes;
  if (!isJsonObject(rawNodes) || Object.keys(rawNodes).length === 0) {
    diagnostics.push({
      severity: 'error',
      reason: 'not-a-mapping',
      message: 'The pipeline has no nodes: `nodes:` must map node ids to {type, inputs, with}.',
      location: loc.findKey(['nodes']) ?? loc.find([]),
    });
  } else {
    for (const [id, raw] of Object.entries(rawNodes)) {
      if (!isJsonObject(raw)) {
        diagnostics.push({ severity: 'error', reason: 'not-a-mapping', message: `Node "${id}" must be a mapping with a \`type:\`.`, location: loc.find(['nodes', id]) });
        continue;
      }
      for (const key of Object.keys(raw)) {
        if (!(NODE_KEYS as readonly string[]).includes(key)) {
          diagnostics.push({
            severity: 'error',
            reason: 'unknown-top-level-key',
            message: `Node "${id}" has an unknown key "${key}".${didYouMean(key, NODE_KEYS)}`,
            location: loc.findKey(['nodes', id, key]),
            hint: 'A node has type, inputs, with (its parameters), and optionally description and max_failed.',
          });
        }
      }
      if (typeof raw.type !== 'string') {
        diagnostics.push({ severity: 'error', reason: 'unknown-node-type', message: `Node "${id}" needs a \`type:\`.`, location: loc.findKey(['nodes', id]) });
        continue;
      }
      const inputs: Record<string, string> = {};
      if (raw.inputs !== undefined && raw.inputs !== null) {
        if (!isJsonObject(raw.inputs)) {
          diagnostics.push({ severity: 'error', reason: 'not-a-mapping', message: `Node "${id}": \`inputs:\` must map ports to "node.port".`, location: loc.find(['nodes', id, 'inputs']) });
        } else {
          for (const [port, ref] of Object.entries(raw.inputs)) {
            if (typeof ref !== 'string') {
              diagnostics.push({ severity: 'error', reason: 'missing-input', message: `Input "${port}" of node "${id}" must be written "node" or "node.port".`, location: loc.find(['nodes', id, 'inputs', port]) });
            } else inputs[port] = ref;
          }
        }
      }
      const withValue = raw.with ?? {};
      if (!isJsonObject(withValue)) {
        diagnostics.push({ severity: 'error', reason: 'not-a-mapping', message: `Node "${id}": \`with:\` must be a mapping of parameters.`, location: loc.find(['nodes', id, 'with']) });
        continue;
      }
      let maxFailed: number | undefined;
      if (raw.max_failed !== undefined && raw.max_failed !== null) {
        maxFailed = parseFailureShare(raw.max_failed);
        if (maxFailed === undefined) {
          diagnostics.push({
            severity: 'error',
            reason: 'invalid-param',
            message: `Node "${id}": max_failed must be a share of its items, from 0 to 1 or a percentage ("5%"), not ${JSON.stringify(raw.max_failed)}.`,
            location: loc.find(['nodes', id, 'max_failed']),
          });
        }
      }
      nodes[id] = { type: raw.type, inputs, with: withValue, ...(maxFailed === undefined ? {} : { maxFailed }) };
    }
  }
  const plugins = Array.isArray(root.plugins) ? root.plugins.filter((p): p is string => typeof p === 'string').map((p) => resolvePath(dirname(file), p)) : [];
  return {
    file,
    dir: dirname(file),
    name: typeof root.name === 'string' ? root.name : file.replace(/^.*\//, '').replace(/\.ya?ml$/, ''),
    variant,
    variantNames,
    params: isJsonObject(root.params) ? root.params : {},
    llm: isJsonObject(root.llm) ? root.llm : undefined,
    plugins,
    nodes,
    locations: loc,
  };
}

