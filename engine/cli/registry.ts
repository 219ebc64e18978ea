import { builtinNodeTypes } from '../../nodes/index.js';
import { portKinds } from '../../nodes/kinds.js';
import { NodeRegistry } from '../registry.js';

/** The composition root: the built-in node types and kinds, as any plugin would provide them. */
export async function builtinRegistry(): Promise<NodeRegistry> {
  return new NodeRegistry(builtinNodeTypes, portKinds);
}
