/**
 * The public contract between the engine and a node type. A node type is one module exporting one
 * `defineNode({...})` object; the engine reads its metadata (schemas, ports, version) and calls `run`.
 * The engine knows nothing about what the node computes.
 */
import type { z } from 'zod';
import type { Digest, ItemKey, Json, JsonObject, Row } from './json.js';
import type { CallMode, LlmClient } from './llm/types.js';

/** The name of a port kind, e.g. "sentences", "triplets", "model". Kinds are declared by node packages (see PortKindSpec). */
export type PortKind = string;

export interface PortKindSpec {
  name: PortKind;
  /** "rows": a dataset of JSON rows; "file": one file (a model, an archive) with JSON metadata. */
  form: 'rows' | 'file';
  /** A kind that this kind may be used as (scored-triplets may feed a triplets input). */
  extends?: PortKind;
  /** Fields every row of a rows-form kind has; the engine checks node outputs against them. */
  fields?: readonly string[];
  description: string;
  /**
   * File-form kinds: write the file as a folder, for `synthcse export NODE --out DIR/` (e.g. a model as a
   * sentence-transformers folder). Throws an Error whose message tells the user what to do when it cannot.
   */
  exportFolder?(file: string, meta: { [key: string]: Json }, folder: string): Promise<void>;
}

export interface InputPortSpec {
  /** One kind, or the kinds this input accepts. */
  kind: PortKind | readonly PortKind[];
  optional?: boolean;
  description?: string;
}
export interface OutputPortSpec {
  kind: PortKind;
  description?: string;
}

/** A file-form value: an immutable file in the artifact store plus its metadata. */
export interface FileValue {
  form: 'file';
  /** Absolute path of the stored file; read-only. */
  path: string;
  meta: JsonObject;
  digest: Digest;
}
/**
 * A rows-form value. `stream()` reads the rows one at a time, in bounded memory whatever their number; `rows` holds
 * them all (parsed on first use), for nodes that need every row at once (training, deduplication).
 */
export interface RowsValue {
  form: 'rows';
  readonly rows: Row[];
  /** The rows in order, read as they are consumed; each call starts from the first row. */
  stream(): AsyncIterable<Row>;
  /** How many rows there are (known without reading them). */
  count: number;
  digest: Digest;
}
export type PortValue = RowsValue | FileValue;

/** What a node returns for a file-form output: a file it wrote (under ctx.tempDir()) and metadata. */
export interface FileOutput {
  file: string;
  meta: JsonObject;
}
/**
 * A rows output is an array, or an async iterable the engine drains after `run` returns, writing each row as it
 * comes: a node that produces rows from a stream (ctx.streamItems over its input's stream()) never holds them all.
 * Outputs are drained one port after the other, in the order the node type declares them.
 */
export type RowsOutput = Row[] | AsyncIterable<Row>;
export type OutputValue = RowsOutput | FileOutput;

export type InputValues<I> = { [K in keyof I]: I[K] extends { optional: true } ? PortValue | undefined : PortValue };
export type OutputValues<O> = { [K in keyof O]: OutputValue };

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

export interface ProgressHandle {
  /** Adds `n` completed units. */
  tick(n?: number): void;
  /** Changes the total once it is known. */
  setTotal(total: number): void;
  done(): void;
}

/** A problem the user can fix, raised by a node. The engine adds node id, type and pipeline location. */
/** A table in a report section. */
export interface ReportSectionTable {
  caption?: string;
  header: string[];
  rows: string[][];
  /** Mark the largest number of each column (results tables). */
  bestPerColumn?: boolean;
  /** Rows shown muted (baselines). */
  mutedRows?: number[];
}

/** A part of the run report that a node type contributes (the eval node its results table, a filter its removals). */
export interface ReportSection {
  title: string;
  text?: string;
  tables?: ReportSectionTable[];
}

/** What a node type's report() sees of a finished node: its parameters, its stats and its outputs' rows. */
export interface NodeReportView {
  params: Json;
  stats: NodeStats;
  /** The first `n` rows of a rows output; undefined when it is no longer in the cache. */
  rows(port: string, n: number): Row[] | undefined;
}

/** Thrown by a cheap node while planning when running it would do real work; `plan` shows the message as its note. */
export class PlanDeferred extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanDeferred';
  }
}

export class NodeUserError extends Error {
  constructor(
    message: string,
    /** The parameter path under the node's `with:` that caused it, for the location. */
    readonly param?: readonly (string | number)[],
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'NodeUserError';
  }
}

export interface ItemMapSpec<I, R extends Json> {
  /**
   * Names the map within the node type (a node type may map several things). The engine keys every item by the node
   * type and its `version`, the LLM service for nodes that use one (provider, model, base_url), this name and the
   * key record: two maps share results, across nodes, variants and pipelines, only when all of these are equal.
   * Bumping the node type's version therefore recomputes its items too; recipe and parser versions belong in `key`.
   */
  namespace: string;
  /**
   * The canonical record identifying one item's computation: everything its result depends on. `attempt` > 0 is a
   * fresh try of an item whose earlier attempts failed for a reason a rerun would repeat (see `attempts`).
   */
  key(item: I, index: number, attempt: number): Json;
  run(item: I, index: number, signal: AbortSignal, attempt: number): Promise<R>;
  /**
   * Tries per item (default 1). When an attempt fails with an error other than an LlmCallError (which a rerun
   * retries anyway), the next attempt runs under its own key: e.g. a refused LLM answer, re-drawn as a new sample.
   */
  attempts?: number;
  /** Items run at once (default 1). Batch-mode LLM nodes pass a large number so requests can be collected. */
  concurrency?: number;
  /** Label for the progress display. */
  label?: string;
  /** How many items there are, when the items come as a stream (for progress and the count of skipped items). */
  total?: number;
}

/** One item's end in ctx.streamItems, given in input order. */
export interface ItemOutcome<I, R> {
  index: number;
  item: I;
  /** Undefined when the item failed (see failure). */
  result: R | undefined;
  failure?: ItemFailure;
}

/** Counts of a finished (or stopped) item map; they also join the node's totals. */
export interface ItemCounts {
  cached: number;
  ran: number;
  failed: number;
  /** Items not attempted because the run is draining (Ctrl-C) or over budget. */
  skipped: number;
}

/** The outcomes of ctx.streamItems, in input order; `counts` is final once the iteration has ended. */
export interface ItemStream<I, R> extends AsyncIterable<ItemOutcome<I, R>> {
  readonly counts: ItemCounts;
}

/**
 * A map whose items are the node type's own `itemWork[namespace]` applied to each item's canonical data: the engine
 * runs it in this process, or, with `run --redis`, on `synthcse worker` processes (which load the node type by name,
 * version and code, plugins included); either way this process keys and commits every item.
 */
export interface ItemWorkSpec<I> extends Omit<ItemMapSpec<I, Json>, 'run'> {
  /** Everything the item's work needs, as JSON (no closure, no local file: a worker may be on another machine). */
  data(item: I, index: number, attempt: number): Json;
}

/**
 * An item function of a node type: a pure function of the item's data, so it gives the same result wherever it runs.
 * Used through ctx.mapItemWork; it may run on a worker, so it must not reach for the run's cache or files.
 */
export type ItemWork = (data: Json, signal: AbortSignal) => Promise<Json>;

export interface ItemFailure {
  index: number;
  key: ItemKey;
  /** Short, user-facing reason. */
  reason: string;
}

export interface ItemMapResult<R> {
  /** One entry per input item, undefined where the item failed or was not run (drain/abort). */
  results: (R | undefined)[];
  failures: ItemFailure[];
  cached: number;
  ran: number;
  /** Items not attempted because the run is draining (Ctrl-C) or over budget. */
  skipped: number;
}

/** Durable scratch state for long nodes (training checkpoints), scoped to the node's key. */
export interface CheckpointStore {
  load(name: string): Buffer | undefined;
  /** Replaces the named checkpoint atomically. */
  save(name: string, data: Uint8Array): void;
}

/** Numbers a node wants in the run report: counters, removal reasons, curves. Stored with the node run. */
export interface NodeStats {
  /** Rows removed per reason (filters). */
  removed?: Record<string, number>;
  /** Named series of [x, y] points (loss, dev Spearman). */
  curves?: Record<string, [number, number][]>;
  /** Anything else worth showing: counts, the backend that ran, a markdown table. */
  values?: Record<string, Json>;
}

export interface NodeContext<Options> {
  nodeId: string;
  options: Options;
  /** Aborted when the run drains (first Ctrl-C) or aborts: stop starting new work. */
  signal: AbortSignal;
  log: Logger;
  progress(label: string, total: number): ProgressHandle;
  /** Absolute path for a path written in the pipeline file (relative to that file). */
  resolvePath(path: string): string;
  /** A fresh private directory for files this run writes (file outputs are moved out of it). */
  tempDir(): string;
  /** Root of the cache directory; nodes may keep derived artifacts under cacheDir/artifacts-by-name. */
  cacheDir: string;
  /** Item-level memoization: one durable result per item key, committed as items finish. */
  mapItems<I, R extends Json>(items: readonly I[], spec: ItemMapSpec<I, R>): Promise<ItemMapResult<R>>;
  /**
   * mapItems for the node type's `itemWork[spec.namespace]`: each missing item's data goes to that function, here or
   * (with `run --redis`) on a worker; results are keyed and committed here as with mapItems.
   */
  mapItemWork<I>(items: readonly I[], spec: ItemWorkSpec<I>): Promise<ItemMapResult<Json>>;
  /**
   * mapItems over items that come one at a time (e.g. built from an input's stream()): items are keyed, looked up,
   * run and committed a window at a time and their outcomes given in input order, so memory does not grow with the
   * number of items. Consume the stream (a rows output may be built from it); stopping early stops the work.
   */
  streamItems<I, R extends Json>(items: Iterable<I> | AsyncIterable<I>, spec: ItemMapSpec<I, R>): ItemStream<I, R>;
  /** Cached content-addressed computation of a whole value by key (e.g. the GloVe binary conversion). */
  memoFile(key: Json, build: (outPath: string) => Promise<void>): Promise<string>;
  /** Whether memoFile(key) would be served from the cache without building. */
  memoFileExists(key: Json): boolean;
  /**
   * True while `synthcse plan` runs a cheap node to see its output. A cheap node that would do real work first (a
   * download) throws PlanDeferred instead, saying what it will do.
   */
  planning: boolean;
  /**
   * The LLM client for this node, from the pipeline's `llm:` section (throws a NodeUserError if none is configured).
   * `mode` and `model` come from the node's own options/params when it sets them.
   */
  llm(overrides?: { mode?: CallMode; model?: string }): LlmClient;
  checkpoints: CheckpointStore;
  stats: NodeStats;
}

export interface NodeTypeDefinition<
  P extends z.ZodType = z.ZodType,
  O extends z.ZodType = z.ZodType,
  I extends Record<string, InputPortSpec> = Record<string, InputPortSpec>,
  Out extends Record<string, OutputPortSpec> = Record<string, OutputPortSpec>,
> {
  type: string;
  /** Bump when the output for the same inputs and parameters changes (it is part of the node key). */
  version: number;
  description: string;
  /** Keyed parameters: every field changes the output. Use z.strictObject so unknown keys are errors. */
  params: P;
  /** Operational settings that never change the output (concurrency, rate limits, mode, timeouts): not keyed. */
  options?: O;
  inputs: I;
  outputs: Out;
  /**
   * Files whose content changes the output (prompt pools, data files), relative to the pipeline file. Their content
   * digests join the key; a path given as an option (not a param) therefore keys on content only, not location.
   * Look at the file system and the environment only through `probe` (it resolves paths the way the engine does,
   * lists folders, checks existence, reads variables): each answer is recorded and checked again on every run, so a
   * file added to a listed folder is noticed without any edit to the pipeline.
   */
  files?(params: z.output<P>, options: z.output<O>, probe: DependencyProbe): string[];
  /**
   * Files the node will fetch over the network into the cache (not there locally), each with the memoFile key it
   * is kept under: `plan` lists them with their size and whether they are cached already.
   */
  downloads?(params: z.output<P>, probe: DependencyProbe): { url: string; memoKey: Json }[];
  /** Sections of the run report about a finished node of this type (the engine's report knows no node type). */
  report?(view: NodeReportView): ReportSection[];
  /** Titles of the curves the node records in stats.curves, by curve name, for the report's charts. */
  curveTitles?: Record<string, string>;
  /** Services the node uses; their keyed configuration (e.g. LLM provider, model, base_url) joins the node key. */
  uses?: { llm?: boolean };
  /**
   * Installed packages whose content changes the output (e.g. pretrained vectors shipped as a package): their
   * installed versions join the node key. Plugin node types need not list the packages their modules import: the
   * engine finds those itself.
   */
  packages?: readonly string[];
  /** Cheap and side-effect free (e.g. load, filter): `plan` may run it to see how many items downstream will need. */
  cheap?: boolean;
  /** Estimate work for `plan` given available inputs: items total/cached and LLM cost. */
  estimate?(inputs: InputValues<I>, params: z.output<P>, ctx: NodeContext<z.output<O>>): Promise<NodeEstimate>;
  run(inputs: InputValues<I>, params: z.output<P>, ctx: NodeContext<z.output<O>>): Promise<OutputValues<Out>>;
  /**
   * Item functions by map namespace, for ctx.mapItemWork: what `synthcse worker` processes may run for this type.
   * A change to what one computes is a version bump, like any change to the output.
   */
  itemWork?: Record<string, ItemWork>;
}

/** The file system and environment as `files()` may look at them; every answer is recorded as a dependency. */
export interface DependencyProbe {
  /** Absolute path for a path written in the pipeline file (relative to that file). */
  resolve(path: string): string;
  exists(path: string): boolean;
  isDirectory(path: string): boolean;
  /** Names in a folder, sorted; [] when it does not exist. */
  list(path: string): string[];
  /** An environment variable (undefined when unset). */
  env(name: string): string | undefined;
}

export interface NodeEstimate {
  items: number;
  cachedItems: number;
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: number;
  /** LLM requests the node will send (for `plan`'s time estimate). */
  requests?: number;
  note?: string;
}

/** A node type whose generic parameters have been erased, as the engine's registry holds it. */
export type AnyNodeType = NodeTypeDefinition<z.ZodType, z.ZodType, Record<string, InputPortSpec>, Record<string, OutputPortSpec>>;

export function defineNode<
  P extends z.ZodType,
  O extends z.ZodType,
  I extends Record<string, InputPortSpec>,
  Out extends Record<string, OutputPortSpec>,
>(definition: NodeTypeDefinition<P, O, I, Out>): AnyNodeType {
  return definition as unknown as AnyNodeType;
}

