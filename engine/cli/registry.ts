import { NodeRegistry } from '../registry.js';

/**
 * The composition root: the built-in node types and kinds, provided exactly as a plugin would provide them.
 * Imported on demand, so a run whose nodes are all cached never loads a node type.
 */
export async function builtinRegistry(): Promise<NodeRegistry> {
  const [{ builtinNodeTypes }, { portKinds }] = await Promise.all([import('../../nodes/index.js'), import('../../nodes/kinds.js')]);
  return new NodeRegistry(builtinNodeTypes, portKinds);
}
