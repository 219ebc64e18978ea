/** A DependencyProbe for calling a node type's files() directly in tests: paths as written, or resolved against `dir`. */
import { recordingProbe } from '../../engine/dependencies.js';
import type { DependencyProbe } from '../../engine/node-type.js';

export function testProbe(dir?: string, env: NodeJS.ProcessEnv = process.env): DependencyProbe {
  const { probe } = recordingProbe(dir ?? '.', env);
  return dir === undefined ? { ...probe, resolve: (path) => path } : probe;
}
