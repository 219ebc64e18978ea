/**
 * YAML read into plain values plus a map from value paths to source ranges, so every later stage (merging
 * `extends` and variants, interpolation, schema validation) can point at the line and column a value came from.
 */
import { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { Diagnostic, SourceFile, SourceRange } from '../diagnostics.js';
import type { Json, JsonObject } from '../json.js';

export type ValuePath = readonly (string | number)[];

export function pathId(path: ValuePath): string {
  return path.join('\u0000');
}

/** Finds where a value of the resolved pipeline was written. */
export interface Locator {
  /** The range of the value at `path`, or of the nearest ancestor that has one. */
  find(path: ValuePath): SourceRange | undefined;
  /** The range of the key naming the value at `path`, else of the value itself. */
  findKey(path: ValuePath): SourceRange | undefined;
  /** Loads positions that are read lazily (a cached plan re-reads its files only when a diagnostic needs them). */
  ready?(): Promise<void>;
}

/** Source ranges of values, by path; merged documents keep the range of whichever file supplied a value. */
export class LocationMap implements Locator {
  private readonly ranges = new Map<string, SourceRange>();
  private readonly keyRanges = new Map<string, SourceRange>();

  set(path: ValuePath, range: SourceRange, keyRange?: SourceRange): void {
    this.ranges.set(pathId(path), range);
    if (keyRange) this.keyRanges.set(pathId(path), keyRange);
  }

  /** The range of the value at `path`, or of the nearest ancestor that has one. */
  find(path: ValuePath): SourceRange | undefined {
    for (let n = path.length; n >= 0; n--) {
      const range = this.ranges.get(pathId(path.slice(0, n)));
      if (range) return range;
    }
    return undefined;
  }

  /** The range of the key naming the value at `path`, else of the value itself; undefined when neither exists. */
  findKey(path: ValuePath): SourceRange | undefined {
    return this.keyRanges.get(pathId(path)) ?? this.ranges.get(pathId(path));
  }

  /** Copies every location under `from` (another map) to the same paths here, replacing what was there. */
  overlay(other: LocationMap, under: ValuePath = []): void {
    const prefix = under.length === 0 ? '' : pathId(under) + '\u0000';
    for (const [id, range] of other.ranges) if (id.startsWith(prefix) || id === pathId(under)) this.ranges.set(id, range);
    for (const [id, range] of other.keyRanges) if (id.startsWith(prefix) || id === pathId(under)) this.keyRanges.set(id, range);
  }

  /** A map holding only the locations under `from`, moved to live under `to` (a variant's overlay → the pipeline). */
  rebase(from: ValuePath, to: ValuePath): LocationMap {
    const moved = new LocationMap();
    const fromId = pathId(from);
    const toId = pathId(to);
    const move = (source: Map<string, SourceRange>, target: Map<string, SourceRange>) => {
      for (const [id, range] of source) {
        if (id === fromId) target.set(toId, range);
        else if (id.startsWith(fromId + '\u0000')) {
          const rest = id.slice(fromId.length + 1);
          target.set(toId === '' ? rest : toId + '\u0000' + rest, range);
        }
      }
    };
    move(this.ranges, moved.ranges);
    move(this.keyRanges, moved.keyRanges);
    return moved;
  }

  clone(): LocationMap {
    const copy = new LocationMap();
    copy.overlay(this);
    return copy;
  }
}

export interface LocatedDocument {
  file: SourceFile;
  value: Json;
  locations: LocationMap;
  diagnostics: Diagnostic[];
}

export function parseLocatedYaml(path: string, text: string): LocatedDocument {
  const lines = new LineCounter();
  const file: SourceFile = { path, text, lines };
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const diagnostics: Diagnostic[] = [];
  // One syntax error usually sets off a cascade; the first is the one to fix.
  for (const error of doc.errors.slice(0, 1)) {
    const [start, end] = error.pos;
    const line = text.slice(text.lastIndexOf('\n', start) + 1, text.indexOf('\n', start) < 0 ? text.length : text.indexOf('\n', start));
    const unquotedReference = /[{[,]\s*[^"'\s]*\$\{/.test(line) || /:\s*\$\{[^}]*\}\s*[}\]]/.test(line);
    diagnostics.push({
      severity: 'error',
      reason: 'yaml-syntax',
      message: `YAML syntax error: ${error.message.split('\n')[0]}`,
      location: { file, start, end: Math.max(end, start + 1) },
      hint: unquotedReference
        ? 'Inside { } or [ ], quote a reference: count: "${params.n}" (the value keeps its type).'
        : 'Fix the YAML syntax (indentation, quoting, a missing colon).',
    });
  }
  const locations = new LocationMap();
  if (diagnostics.length > 0) return { file, value: null, locations, diagnostics };
  const value = toValueAt(doc.contents as YamlNode | null, [], file, locations, doc);
  return { file, value, locations, diagnostics };
}

function rangeOf(node: YamlNode | null | undefined, file: SourceFile): SourceRange | undefined {
  const r = node?.range;
  if (!r) return undefined;
  return { file, start: r[0], end: Math.max(r[1], r[0] + 1) };
}

/**
 * The JSON value of a YAML node, recording where each path came from. An alias (`*name`) takes its anchor's value,
 * located at the alias, and a merge key (`<<: *name`, or a list of them) copies the anchored map's entries that the
 * map does not set itself, as YAML 1.1 merge keys do.
 */
function toValueAt(node: YamlNode | null, path: (string | number)[], file: SourceFile, locations: LocationMap, doc: Document): Json {
  if (node === null || node === undefined) return null;
  const range = rangeOf(node, file);
  if (range) locations.set(path, range);
  if (isAlias(node)) {
    const target = node.resolve(doc) as YamlNode | undefined;
    return target ? structuredClone(toValueAt(target, [], file, new LocationMap(), doc)) : null;
  }
  if (isScalar(node)) {
    const v = node.value;
    if (v === null || v === undefined) return null;
    if (typeof v === 'string' || typeof v === 'boolean') return v;
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') return Number(v);
    return String(v);
  }
  if (isSeq(node)) {
    return node.items.map((item, i) => toValueAt(item as YamlNode, [...path, i], file, locations, doc));
  }
  if (isMap(node)) {
    const out: JsonObject = {};
    const merged: JsonObject[] = [];
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const keyNode = pair.key as YamlNode | null;
      const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
      const childPath = [...path, key];
      if (key === '<<' && (isAlias(pair.value) || isSeq(pair.value))) {
        const sources = isSeq(pair.value) ? (pair.value.items as YamlNode[]) : [pair.value as YamlNode];
        for (const source of sources) {
          const value = toValueAt(source, [], file, new LocationMap(), doc);
          if (value !== null && typeof value === 'object' && !Array.isArray(value)) merged.push(value);
        }
        continue;
      }
      const child = toValueAt(pair.value as YamlNode | null, childPath, file, locations, doc);
      const keyRange = rangeOf(keyNode, file);
      if (keyRange) locations.set(childPath, rangeOf(pair.value as YamlNode, file) ?? keyRange, keyRange);
      out[key] = child;
    }
    // Earlier merge sources win over later ones, and the map's own keys over all of them.
    for (const source of merged) for (const [key, value] of Object.entries(source)) if (!(key in out)) out[key] = value;
    return out;
  }
  return null;
}
