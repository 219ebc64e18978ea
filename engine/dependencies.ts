/**
 * The file system and environment as a node type's `files()` sees them: every existence check, directory listing
 * and environment variable it reads is recorded as a probe, so the plan cache can tell later, cheaply, whether
 * `files()` would answer differently (a file added to a listed folder, a data folder that appeared, a changed
 * variable) instead of freezing its first answer.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { statSignature } from './code-deps.js';
import type { DependencyProbe } from './node-type.js';

/** One observation `files()` made; revalidated by looking again. */
export type Probe =
  | { kind: 'exists'; path: string; exists: boolean }
  | { kind: 'directory'; path: string; directory: boolean }
  /** Names in the folder, sorted; [] when it is not a folder. `signature` is its stat, to skip the listing when unchanged. */
  | { kind: 'listing'; path: string; names: string[]; signature: string }
  | { kind: 'env'; name: string; value: string | null };

function listNames(path: string): string[] {
  try {
    return readdirSync(path).sort();
  } catch {
    return [];
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** A DependencyProbe rooted at the pipeline's folder, and the probes it recorded. */
export function recordingProbe(pipelineDir: string, env: NodeJS.ProcessEnv): { probe: DependencyProbe; probes: () => Probe[] } {
  const recorded = new Map<string, Probe>();
  const record = (id: string, make: () => Probe): Probe => {
    let probe = recorded.get(id);
    if (probe === undefined) {
      probe = make();
      recorded.set(id, probe);
    }
    return probe;
  };
  const probe: DependencyProbe = {
    resolve: (path) => resolvePath(pipelineDir, path),
    exists: (path) => (record(`exists\0${path}`, () => ({ kind: 'exists', path, exists: existsSync(path) })) as { exists: boolean }).exists,
    isDirectory: (path) => (record(`directory\0${path}`, () => ({ kind: 'directory', path, directory: isDirectory(path) })) as { directory: boolean }).directory,
    list: (path) => [
      ...(record(`listing\0${path}`, () => ({ kind: 'listing', path, signature: statSignature(path), names: listNames(path) })) as { names: string[] }).names,
    ],
    env: (name) => (record(`env\0${name}`, () => ({ kind: 'env', name, value: env[name] ?? null })) as { value: string | null }).value ?? undefined,
  };
  return { probe, probes: () => [...recorded.values()] };
}

/** The first probe that would now answer differently, in words; undefined when every probe still holds. */
export function staleProbe(probes: readonly Probe[], env: NodeJS.ProcessEnv): string | undefined {
  for (const p of probes) {
    switch (p.kind) {
      case 'exists':
        if (existsSync(p.path) !== p.exists) return p.exists ? `${p.path} was removed` : `${p.path} appeared`;
        break;
      case 'directory':
        if (isDirectory(p.path) !== p.directory) return `${p.path} ${p.directory ? 'is no longer' : 'became'} a folder`;
        break;
      case 'listing': {
        if (statSignature(p.path) === p.signature) break;
        const names = listNames(p.path);
        const added = names.filter((n) => !p.names.includes(n));
        const removed = p.names.filter((n) => !names.includes(n));
        if (added.length > 0) return `file added under ${p.path}: ${added.join(', ')}`;
        if (removed.length > 0) return `file removed under ${p.path}: ${removed.join(', ')}`;
        break;
      }
      case 'env':
        if ((env[p.name] ?? null) !== p.value) return `environment variable ${p.name} changed`;
        break;
    }
  }
  return undefined;
}
