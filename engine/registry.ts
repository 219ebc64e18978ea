import { register } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { z } from 'zod';
import { declaredPackages, pluginCode, type CodeProbe, type CodeRecord } from './code-deps.js';
import { digestJson } from './json.js';
import type { AnyNodeType, PortKind, PortKindSpec } from './node-type.js';

export interface TypeCode {
  record: CodeRecord;
  probes: CodeProbe[];
}

const ENGINE_DIR = dirname(fileURLToPath(import.meta.url));
let hooksRegistered = false;

/** The node types and port kinds a run can use: the built-in ones plus those of the pipeline's plugins. */
export class NodeRegistry {
  private readonly types = new Map<string, AnyNodeType>();
  private readonly kinds = new Map<PortKind, PortKindSpec>();
  private readonly code = new Map<string, TypeCode>();
  /** Every loaded plugin's code, whether or not it exports node types (it may export only kinds). */
  private readonly pluginCode: TypeCode[] = [];

  constructor(types: readonly AnyNodeType[] = [], kinds: readonly PortKindSpec[] = []) {
    for (const kind of kinds) this.addKind(kind);
    for (const type of types) this.addType(type);
  }

  addKind(kind: PortKindSpec): void {
    this.kinds.set(kind.name, kind);
  }

  addType(type: AnyNodeType): void {
    if (this.types.has(type.type) && this.types.get(type.type) !== type) {
      throw new Error(`Two node types are both named "${type.type}".`);
    }
    this.types.set(type.type, type);
  }

  type(name: string): AnyNodeType | undefined {
    return this.types.get(name);
  }

  typeNames(): string[] {
    return [...this.types.keys()];
  }

  allTypes(): AnyNodeType[] {
    return [...this.types.values()];
  }

  kind(name: PortKind): PortKindSpec | undefined {
    return this.kinds.get(name);
  }

  allKinds(): PortKindSpec[] {
    return [...this.kinds.values()];
  }

  /** Whether a value of kind `from` may feed an input accepting `to` (same kind, or `from` extends it). */
  isAssignable(from: PortKind, to: PortKind): boolean {
    let current: PortKind | undefined = from;
    const seen = new Set<PortKind>();
    while (current !== undefined && !seen.has(current)) {
      if (current === to) return true;
      seen.add(current);
      current = this.kinds.get(current)?.extends;
    }
    return false;
  }

  formOf(kind: PortKind): 'rows' | 'file' {
    return this.kinds.get(kind)?.form ?? 'rows';
  }

  /**
   * The code a node type's output depends on: its plugin's module graph and imported package versions, or the
   * packages a built-in type declares; undefined when there is none.
   */
  codeOf(name: string): TypeCode | undefined {
    const known = this.code.get(name);
    if (known) return known;
    const packages = this.types.get(name)?.packages;
    if (!packages || packages.length === 0) return undefined;
    const code = declaredPackages(packages, ENGINE_DIR);
    this.code.set(name, code);
    return code;
  }

  /** What revalidates the code of the given types and of every loaded plugin, each file once. */
  codeProbes(typeNames: Iterable<string>): CodeProbe[] {
    const probes = new Map<string, CodeProbe>();
    const codes = [...this.pluginCode, ...[...typeNames].map((name) => this.codeOf(name))];
    for (const code of codes) for (const probe of code?.probes ?? []) probes.set(probe.path, probe);
    return [...probes.values()];
  }

  /** Loads plugin modules: each exports `nodeTypes` (and optionally `portKinds`) or a default array of node types. */
  async loadPlugins(paths: readonly string[]): Promise<void> {
    if (paths.length > 0 && !hooksRegistered) {
      register('./plugin-hooks.js', import.meta.url);
      hooksRegistered = true;
    }
    for (const path of paths) {
      const code = pluginCode(path);
      this.pluginCode.push(code);
      // The graph's digest in the URL: an edited plugin is imported afresh even in a process that loaded it before.
      const mod = (await import(`${pathToFileURL(path).href}?synthcse-v=${digestJson(code.record as never).slice(0, 16)}`)) as {
        nodeTypes?: AnyNodeType[];
        portKinds?: PortKindSpec[];
        default?: AnyNodeType[] | AnyNodeType;
      };
      for (const kind of mod.portKinds ?? []) this.addKind(kind);
      const types = mod.nodeTypes ?? (Array.isArray(mod.default) ? mod.default : mod.default ? [mod.default] : []);
      for (const type of types) {
        this.addType(type);
        this.code.set(type.type, code);
      }
    }
  }
}

interface SchemaParts {
  shape?: Record<string, { values?: Set<unknown> }>;
  options?: SchemaParts[];
  def?: { discriminator?: string };
}

/**
 * The top-level field names of an object schema, used to split `with:` into params and options and for "did you
 * mean" hints. For a discriminated union (e.g. annotate's `recipe`), the fields of the variant the input selects,
 * or of all variants when it selects none. Duck-typed, so that loading the registry does not load zod.
 */
export function objectKeys(schema: z.ZodType | undefined, input?: Record<string, unknown>): string[] {
  const parts = schema as SchemaParts | undefined;
  if (parts?.shape !== undefined && parts.shape !== null && typeof parts.shape === 'object') return Object.keys(parts.shape);
  if (!Array.isArray(parts?.options)) return [];
  const discriminator = parts.def?.discriminator;
  const chosen =
    discriminator !== undefined && input?.[discriminator] !== undefined
      ? parts.options.filter((option) => option.shape?.[discriminator]?.values?.has(input[discriminator]))
      : [];
  const options = chosen.length > 0 ? chosen : parts.options;
  return [...new Set(options.flatMap((option) => objectKeys(option as z.ZodType, input)))];
}
