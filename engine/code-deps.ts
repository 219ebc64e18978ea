/**
 * What a node type's code is, as dependencies: for a plugin, every local module reachable from its entry file (by
 * content) and the installed packages those modules import (by version); for a built-in type, the packages it
 * declares. Each is recorded with a stat signature so the plan cache revalidates it without reading unchanged files.
 */
import { readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve as resolvePath, sep } from 'node:path';
import { sha256, type Digest } from './json.js';

/** The keyed part: joins the key of every node of the type. */
export interface CodeRecord {
  /** Local modules by path relative to the plugin entry's folder, with their content digests. */
  modules: Record<string, Digest>;
  /** Installed packages by name, with their versions (null: not installed). */
  packages: Record<string, string | null>;
}

/** How to tell later, cheaply, whether a CodeRecord still holds. */
export interface CodeProbe {
  path: string;
  signature: string;
  /** Module content digest, or the package version read from this package.json. */
  value: string | null;
  kind: 'module' | 'package';
}

const IMPORT = /(?:^|[^.\w$])(?:import|export)\s*(?:[\w$*{}\s,]+from\s*)?['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g;
const BUILTINS = new Set(builtinModules);

export function statSignature(path: string): string {
  try {
    const stat = statSync(path);
    return `${stat.size}:${stat.mtimeMs}:${stat.ino}`;
  } catch {
    return 'absent';
  }
}

function packageName(specifier: string): string | undefined {
  if (specifier.startsWith('node:') || BUILTINS.has(specifier.split('/')[0]!)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** The package.json of `name` as Node would find it from `fromDir`, or undefined. */
function findManifest(name: string, fromDir: string): string | undefined {
  let dir = fromDir;
  for (;;) {
    const candidate = join(dir, 'node_modules', name, 'package.json');
    try {
      statSync(candidate);
      return candidate;
    } catch {
      // keep looking upwards
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

function manifestVersion(path: string): string | null {
  try {
    const version = (JSON.parse(readFileSync(path, 'utf8')) as { version?: unknown }).version;
    return typeof version === 'string' ? version : null;
  } catch {
    return null;
  }
}

function resolveLocal(specifier: string, fromFile: string): string | undefined {
  const base = resolvePath(dirname(fromFile), specifier);
  for (const candidate of [base, `${base}.js`, `${base}.mjs`, join(base, 'index.js')]) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // next candidate
    }
  }
  return undefined;
}

function addPackage(name: string, fromDir: string, record: CodeRecord, probes: CodeProbe[]): void {
  if (name in record.packages) return;
  const manifest = findManifest(name, fromDir);
  const version = manifest ? manifestVersion(manifest) : null;
  record.packages[name] = version;
  probes.push({ kind: 'package', path: manifest ?? join(fromDir, 'node_modules', name, 'package.json'), signature: manifest ? statSignature(manifest) : 'absent', value: version });
}

/** The module graph of a plugin entry file: local modules (not under node_modules) by content, packages by version. */
export function pluginCode(entry: string): { record: CodeRecord; probes: CodeProbe[] } {
  const record: CodeRecord = { modules: {}, packages: {} };
  const probes: CodeProbe[] = [];
  const root = dirname(entry);
  const queue = [entry];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const bytes = readFileSync(file);
    const digest = sha256(bytes);
    record.modules[relative(root, file).split(sep).join('/')] = digest;
    probes.push({ kind: 'module', path: file, signature: statSignature(file), value: digest });
    for (const match of bytes.toString('utf8').matchAll(IMPORT)) {
      const specifier = match[1] ?? match[2] ?? match[3]!;
      if (specifier.startsWith('.') || specifier.startsWith('/')) {
        const local = resolveLocal(specifier, file);
        if (local === undefined) continue;
        if (local.split(sep).includes('node_modules')) continue;
        queue.push(local);
      } else if (!specifier.startsWith('file:')) {
        const name = packageName(specifier);
        if (name !== undefined) addPackage(name, dirname(file), record, probes);
      }
    }
  }
  return { record, probes };
}

/** The declared packages of a built-in node type, found from `fromDir` (the engine's own folder). */
export function declaredPackages(names: readonly string[], fromDir: string): { record: CodeRecord; probes: CodeProbe[] } {
  const record: CodeRecord = { modules: {}, packages: {} };
  const probes: CodeProbe[] = [];
  for (const name of names) addPackage(name, fromDir, record, probes);
  return { record, probes };
}

/** The first probe that no longer holds, in words (`plan --explain` style); undefined when all hold. */
export function staleCode(probes: readonly CodeProbe[]): string | undefined {
  for (const p of probes) {
    const signature = statSignature(p.path);
    if (signature === p.signature) continue;
    if (p.kind === 'module') {
      let digest: string | null = null;
      try {
        digest = sha256(readFileSync(p.path));
      } catch {
        return `plugin module ${p.path} was removed`;
      }
      if (digest !== p.value) return `plugin module ${p.path} changed`;
    } else {
      const version = signature === 'absent' ? null : manifestVersion(p.path);
      if (version !== p.value) return `package ${p.path} ${p.value ?? 'absent'} → ${version ?? 'absent'}`;
    }
  }
  return undefined;
}
