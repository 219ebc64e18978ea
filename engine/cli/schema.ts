import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { LlmConfigSchema } from '../llm/config.js';
import type { NodeRegistry } from '../registry.js';
import { parseCommandArgs } from './args.js';
import { builtinRegistry } from './registry.js';

const USAGE = 'synthcse schema [--out FILE]';

const MAX_FAILED = {
  description: "Share of this node's items allowed to fail before the nodes that read it are held back and the run exits 4 (0 to 1, or \"5%\"; default 0, or run --max-failed).",
  anyOf: [{ type: 'number', minimum: 0, maximum: 1 }, { type: 'string', pattern: '^\\s*\\d+(\\.\\d+)?\\s*%\\s*$' }],
};

/** The JSON Schema of pipeline files, generated from the node types' own parameter schemas (never hand-kept). */
export function pipelineJsonSchema(registry: NodeRegistry): Record<string, unknown> {
  const nodeSchemas = registry.allTypes().map((type) => {
    const params = z.toJSONSchema(type.params, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
    const options = type.options ? (z.toJSONSchema(type.options, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>) : undefined;
    const withSchema = {
      type: 'object',
      description: `Parameters of ${type.type}`,
      properties: { ...((params.properties as object) ?? {}), ...((options?.properties as object) ?? {}) },
      additionalProperties: false,
    };
    return {
      if: { properties: { type: { const: type.type } }, required: ['type'] },
      then: {
        properties: {
          type: { const: type.type, description: type.description },
          inputs: {
            type: 'object',
            properties: Object.fromEntries(Object.entries(type.inputs).map(([port, spec]) => [port, { type: 'string', description: `${[spec.kind].flat().join(' | ')}${spec.optional ? ' (optional)' : ''}: "node" or "node.port"` }])),
            additionalProperties: false,
          },
          with: withSchema,
          description: { type: 'string' },
          max_failed: MAX_FAILED,
        },
      },
    };
  });
  const nodeSchema = {
    type: 'object',
    required: ['type'],
    properties: { type: { enum: registry.typeNames() }, inputs: { type: 'object' }, with: { type: 'object' }, description: { type: 'string' }, max_failed: MAX_FAILED },
    additionalProperties: false,
    allOf: nodeSchemas,
  };
  const body = {
    name: { type: 'string' },
    description: { type: 'string' },
    extends: { type: 'string', description: 'A pipeline file this one is built on (relative path).' },
    params: { type: 'object', description: 'Pipeline parameters with defaults; use as ${params.NAME}.' },
    llm: z.toJSONSchema(LlmConfigSchema, { io: 'input' }),
    plugins: { type: 'array', items: { type: 'string' }, description: 'Modules exporting extra node types.' },
    nodes: { type: 'object', additionalProperties: nodeSchema },
  };
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'synthcse pipeline',
    type: 'object',
    required: ['nodes'],
    additionalProperties: false,
    properties: {
      ...body,
      variants: {
        type: 'object',
        description: 'Named overlays: --variant NAME merges one over the pipeline (null deletes a key).',
        additionalProperties: { type: 'object', properties: { params: { type: 'object' }, llm: { type: 'object' }, nodes: { type: 'object' } } },
      },
    },
  };
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('schema', argv, { out: { type: 'string' } }, USAGE);
  const text = JSON.stringify(pipelineJsonSchema(await builtinRegistry()), null, 2) + '\n';
  if (values.out) writeFileSync(values.out, text);
  else process.stdout.write(text);
  return 0;
}
