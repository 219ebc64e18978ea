/**
 * Prompt material (instruction pools, exemplar pools, genre and topic lists, templates) lives in versioned files
 * beside the pipelines. Nodes name them in params, declare them in `files(params)` so their content joins the node
 * key, and read them here. Readers validate the shape and report problems as NodeUserError with the param path.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { NodeUserError } from '../../engine/node-type.js';

type ParamPath = readonly (string | number)[];

function readText(absPath: string, param: ParamPath): string {
  try {
    return readFileSync(absPath, 'utf8');
  } catch (error) {
    throw new NodeUserError(`cannot read prompt file ${absPath}: ${(error as Error).message}`, param);
  }
}

/**
 * A list of strings: a .txt file with one entry per line (blank lines and lines starting with # are ignored), or a
 * .yaml/.json file holding a list of strings or an object with an `items` list.
 */
export function readStringList(absPath: string, param: ParamPath): string[] {
  const text = readText(absPath, param);
  let items: string[];
  if (/\.(ya?ml|json)$/i.test(absPath)) {
    const parsed = z.union([z.array(z.string()), z.object({ items: z.array(z.string()) })]).safeParse(parseYaml(text));
    if (!parsed.success) throw new NodeUserError(`${absPath} must hold a list of strings (or {items: [...]})`, param);
    items = Array.isArray(parsed.data) ? parsed.data : parsed.data.items;
  } else {
    items = text.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
  }
  items = items.map((s) => s.trim());
  if (items.length === 0) throw new NodeUserError(`${absPath} holds no entries`, param);
  return items;
}

/** A YAML (or JSON) file validated against `schema`. */
export function readYamlFile<S extends z.ZodType>(absPath: string, schema: S, param: ParamPath): z.output<S> {
  const text = readText(absPath, param);
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw new NodeUserError(`${absPath} is not valid YAML: ${(error as Error).message}`, param);
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new NodeUserError(`${absPath}${where}: ${issue?.message ?? 'invalid content'}`, param);
  }
  return parsed.data;
}

/** Replaces {name} placeholders; an unknown placeholder is a user error (a typo in a template file). */
export function renderTemplate(template: string, values: Record<string, string>, where: string, param: ParamPath): string {
  return template.replace(/\{([a-z_]+)\}/g, (match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new NodeUserError(`${where}: unknown placeholder ${match} (known: ${Object.keys(values).join(', ')})`, param);
    return value;
  });
}
