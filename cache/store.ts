/**
 * The cache: one SQLite database (WAL) under the cache directory, plus large artifacts as files named by digest.
 * Every table lives here so that one file (plus artifacts/) is the whole state of a project's runs.
 */
import Database from 'better-sqlite3';
import { createHash, type Hash } from 'node:crypto';
import { accessSync, closeSync, constants, copyFileSync, createReadStream, existsSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { sha256, type Digest } from '../engine/json.js';

/** Bump when the meaning of stored keys or tables changes incompatibly; older caches are reported, never used as hits. */
export const STORE_SCHEMA_VERSION = 1;
/** Artifacts at or above this size are files under artifacts/ rather than blobs in the database. */
const FILE_ARTIFACT_BYTES = 256 * 1024;

export type SqliteDatabase = Database.Database;

export interface ArtifactRecord {
  digest: Digest;
  size: number;
  /** Absolute path when stored as a file, otherwise undefined (bytes live in the database). */
  path?: string;
}

export class StoreError extends Error {
  constructor(
    readonly reason: 'corrupt-database' | 'read-only' | 'old-schema' | 'newer-schema' | 'missing-artifact' | 'artifact-mismatch' | 'write-failed',
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

/** Whether this process may write the file or folder, or create it when it does not exist yet. */
export function isWritable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch (error) {
    const parent = dirname(path);
    return (error as NodeJS.ErrnoException).code === 'ENOENT' && parent !== path ? isWritable(parent) : false;
  }
}

function readOnlyError(dir: string): StoreError {
  return new StoreError(
    'read-only',
    `The cache ${dir} is read-only for this user: nothing can be run with it (status, show, export and report can still read it).`,
    `Make it writable (chmod -R u+w ${dir}), or run with --cache pointing at a writable folder.`,
  );
}

/**
 * A store for commands that only read (status, show, export, report). A cache this user cannot write is read from a
 * private snapshot of its database: SQLite cannot open a WAL database read-only without writing its -shm file.
 */
export function openReadable(dir: string): { store: Store; readOnly: boolean } {
  const file = join(dir, 'cache.db');
  if (isWritable(dir) && isWritable(file)) return { store: new Store(dir), readOnly: false };
  const copy = mkdtempSync(join(tmpdir(), 'synthcse-readonly-'));
  process.once('exit', () => rmSync(copy, { recursive: true, force: true }));
  copyFileSync(file, join(copy, 'cache.db'));
  if (existsSync(`${file}-wal`)) copyFileSync(`${file}-wal`, join(copy, 'cache.db-wal'));
  return { store: new Store(dir, { readonly: true, databaseFile: join(copy, 'cache.db') }), readOnly: true };
}

export class Store {
  readonly db: SqliteDatabase;
  readonly dir: string;
  readonly artifactDir: string;
  private readonly tablesEnsured = new Set<string>();
  private readonly statements = new Map<string, Database.Statement>();
  private readonly verifiedFiles = new Set<string>();

  /**
   * `databaseFile`: read the database from another file than dir/cache.db (a snapshot of a read-only cache; see
   * openReadable), artifacts still from dir.
   */
  constructor(dir: string, opts: { readonly?: boolean; databaseFile?: string } = {}) {
    this.dir = dir;
    this.artifactDir = join(dir, 'artifacts');
    if (!opts.readonly) {
      if (!isWritable(dir)) throw readOnlyError(dir);
      mkdirSync(this.artifactDir, { recursive: true });
    }
    const file = opts.databaseFile ?? join(dir, 'cache.db');
    try {
      // A snapshot (databaseFile) is this process's private copy: writable, so tables a reader expects can be created.
      const readonlyFile = opts.readonly === true && opts.databaseFile === undefined;
      this.db = new Database(file, { readonly: readonlyFile, fileMustExist: opts.readonly === true });
      this.db.pragma('busy_timeout = 30000');
      if (!opts.readonly) {
        this.db.pragma('journal_mode = WAL');
        this.db.pragma('synchronous = NORMAL');
        // Item keys are random, so inserts touch pages all over the index: a larger page cache keeps them in memory.
        this.db.pragma('cache_size = -65536');
      }
      this.db.pragma('foreign_keys = OFF');
      // Touch the schema so a damaged file fails here, with a clear message, not in the middle of a run.
      this.db.prepare('SELECT count(*) FROM sqlite_master').get();
    } catch (error) {
      if (!opts.readonly && !isWritable(file)) throw readOnlyError(dir);
      throw new StoreError(
        'corrupt-database',
        `The cache database ${file} cannot be opened: ${(error as Error).message}`,
        `Run "synthcse doctor --cache ${dir}" to check it, or move it away to start with an empty cache.`,
      );
    }
    if (!opts.readonly) this.migrate(file);
  }

  private migrate(file: string): void {
    this.db.exec(`CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    const row = this.db.prepare(`SELECT value FROM meta WHERE name = 'schema_version'`).get() as { value: string } | undefined;
    if (row === undefined) {
      this.db.prepare(`INSERT OR IGNORE INTO meta (name, value) VALUES ('schema_version', ?)`).run(String(STORE_SCHEMA_VERSION));
    } else if (Number(row.value) > STORE_SCHEMA_VERSION) {
      throw new StoreError(
        'newer-schema',
        `The cache ${file} was written by a newer synthcse (schema ${row.value}, this one knows ${STORE_SCHEMA_VERSION}).`,
        'Upgrade synthcse, or point --cache at another directory.',
      );
    } else if (Number(row.value) < STORE_SCHEMA_VERSION) {
      throw new StoreError(
        'old-schema',
        `The cache ${file} was written by an older synthcse (schema ${row.value}); its entries cannot be trusted as hits.`,
        `Move ${this.dir} away (or run "synthcse doctor --repair") to start a fresh cache.`,
      );
    }
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS artifacts (
        digest TEXT PRIMARY KEY, size INTEGER NOT NULL, data BLOB, in_file INTEGER NOT NULL, created INTEGER NOT NULL
      );
    `);
  }

  /** A prepared statement, prepared once per store: preparing is most of the cost of a cheap query. */
  sql(text: string): Database.Statement {
    let stmt = this.statements.get(text);
    if (!stmt) {
      stmt = this.db.prepare(text);
      this.statements.set(text, stmt);
    }
    return stmt;
  }

  /** Idempotently creates the tables a module owns (the engine, the LLM layer). */
  ensureTables(owner: string, ddl: string): void {
    if (this.tablesEnsured.has(owner)) return;
    this.db.exec(ddl);
    this.tablesEnsured.add(owner);
  }

  /** Runs fn in one IMMEDIATE transaction (so concurrent writers queue on the busy timeout instead of failing). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  hasArtifact(digest: Digest): boolean {
    return this.sql('SELECT 1 FROM artifacts WHERE digest = ?').get(digest) !== undefined;
  }

  artifactPath(digest: Digest): string {
    return join(this.artifactDir, digest.slice(0, 2), digest);
  }

  /** Stores bytes by their digest; returns the digest. Files are written to a temp name, fsynced, then renamed. */
  putBytes(bytes: Uint8Array): Digest {
    const digest = sha256(bytes);
    if (this.hasArtifact(digest) && this.artifactIntact(digest, bytes.byteLength)) return digest;
    if (bytes.byteLength >= FILE_ARTIFACT_BYTES) {
      writeFileDurably(this.artifactPath(digest), bytes);
      this.sql('INSERT OR REPLACE INTO artifacts (digest, size, data, in_file, created) VALUES (?, ?, NULL, 1, ?)')
        .run(digest, bytes.byteLength, Date.now());
    } else {
      this.sql('INSERT OR REPLACE INTO artifacts (digest, size, data, in_file, created) VALUES (?, ?, ?, 0, ?)')
        .run(digest, bytes.byteLength, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), Date.now());
    }
    return digest;
  }

  /**
   * A writer that streams bytes into a new artifact: the bytes go to `tempFile` (under a folder the caller owns)
   * while their digest is computed, so an artifact of any size is stored without holding it in memory. The digest
   * is that of the bytes, exactly as putBytes would compute it.
   */
  artifactWriter(tempFile: string): ArtifactWriter {
    return new ArtifactWriter(this, tempFile);
  }

  /** Registers a finished writer's file under its digest (small artifacts become blobs, as putBytes stores them). */
  commitArtifactFile(path: string, digest: Digest, size: number): void {
    if (size >= FILE_ARTIFACT_BYTES) {
      this.putFile(path, digest);
      return;
    }
    this.putBytes(readFileSync(path));
    rmSync(path, { force: true });
  }

  /**
   * An artifact's bytes in chunks, checked against its digest as they are read: a damaged artifact ends the stream
   * with a StoreError after its last chunk (callers that must not act on damaged bytes buffer what they derive).
   */
  async *readArtifact(digest: Digest, chunkBytes = 1 << 20): AsyncGenerator<Buffer> {
    const row = this.sql('SELECT in_file FROM artifacts WHERE digest = ?').get(digest) as { in_file: number } | undefined;
    if (row === undefined || row.in_file === 0) {
      yield this.getBytes(digest);
      return;
    }
    const path = this.artifactPath(digest);
    if (!existsSync(path)) {
      throw new StoreError('missing-artifact', `Artifact file ${path} is missing.`, 'Run "synthcse doctor --repair", then run the pipeline again to recompute it.');
    }
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path, { highWaterMark: chunkBytes }) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      yield chunk;
    }
    if (hash.digest('hex') !== digest) {
      throw new StoreError('artifact-mismatch', `Artifact ${digest.slice(0, 12)} no longer matches its digest (the file was changed or damaged).`, 'Run "synthcse doctor --repair" to drop it; the next run recomputes it.');
    }
  }

  /** Moves an existing file into the store (for large outputs such as models) and returns its digest. */
  putFile(path: string, digest: Digest): Digest {
    const target = this.artifactPath(digest);
    if (!(this.hasArtifact(digest) && this.artifactIntact(digest, statSync(path).size))) {
      mkdirSync(join(this.artifactDir, digest.slice(0, 2)), { recursive: true });
      renameSync(path, target);
      this.sql('INSERT OR REPLACE INTO artifacts (digest, size, data, in_file, created) VALUES (?, ?, NULL, 1, ?)')
        .run(digest, statSync(target).size, Date.now());
    } else {
      rmSync(path, { force: true });
    }
    return digest;
  }

  /** Whether an artifact is stored and, when it lives in a file, that file exists with its recorded size. */
  artifactPresent(digest: Digest): boolean {
    const row = this.sql('SELECT in_file, size FROM artifacts WHERE digest = ?').get(digest) as { in_file: number; size: number } | undefined;
    if (row === undefined) return false;
    return row.in_file === 0 || this.artifactIntact(digest, row.size);
  }

  private artifactIntact(digest: Digest, size: number): boolean {
    const row = this.sql('SELECT in_file, size FROM artifacts WHERE digest = ?').get(digest) as
      | { in_file: number; size: number }
      | undefined;
    if (row === undefined) return false;
    if (row.in_file === 0) return true;
    const path = this.artifactPath(digest);
    return existsSync(path) && statSync(path).size === size;
  }

  /** Reads an artifact's bytes, verifying its digest; a damaged or missing artifact is an error, never a hit. */
  getBytes(digest: Digest): Buffer {
    const row = this.sql('SELECT data, in_file FROM artifacts WHERE digest = ?').get(digest) as
      | { data: Buffer | null; in_file: number }
      | undefined;
    if (row === undefined) {
      throw new StoreError('missing-artifact', `Artifact ${digest.slice(0, 12)} is not in the cache.`, 'Run "synthcse doctor --repair", then run the pipeline again to recompute it.');
    }
    let bytes: Buffer;
    if (row.in_file === 1) {
      const path = this.artifactPath(digest);
      if (!existsSync(path)) {
        throw new StoreError('missing-artifact', `Artifact file ${path} is missing.`, 'Run "synthcse doctor --repair", then run the pipeline again to recompute it.');
      }
      bytes = readFileSync(path);
    } else {
      bytes = row.data ?? Buffer.alloc(0);
    }
    if (sha256(bytes) !== digest) {
      throw new StoreError('artifact-mismatch', `Artifact ${digest.slice(0, 12)} no longer matches its digest (the file was changed or damaged).`, 'Run "synthcse doctor --repair" to drop it; the next run recomputes it.');
    }
    return bytes;
  }

  /** Path of a file artifact after checking it exists and has the recorded size (full digest check: verifyArtifact). */
  getFilePath(digest: Digest): string {
    const row = this.sql('SELECT size, in_file FROM artifacts WHERE digest = ?').get(digest) as
      | { size: number; in_file: number }
      | undefined;
    if (row === undefined || row.in_file !== 1) {
      throw new StoreError('missing-artifact', `File artifact ${digest.slice(0, 12)} is not in the cache.`, 'Run the pipeline again to recompute it.');
    }
    const path = this.artifactPath(digest);
    if (!existsSync(path) || statSync(path).size !== row.size) {
      throw new StoreError('missing-artifact', `Artifact file ${path} is missing or truncated.`, 'Run "synthcse doctor --repair", then run the pipeline again to recompute it.');
    }
    return path;
  }

  /**
   * Path of a file artifact whose bytes were checked against its digest. A file is hashed once per process and
   * (size, mtime), so a large model is not re-read for every use; a damaged file is an error, never used.
   */
  verifiedFilePath(digest: Digest): string {
    const path = this.getFilePath(digest);
    const stat = statSync(path);
    const stamp = `${path}\u0000${stat.size}\u0000${stat.mtimeMs}`;
    if (!this.verifiedFiles.has(stamp)) {
      if (sha256(readFileSync(path)) !== digest) {
        throw new StoreError('artifact-mismatch', `Artifact file ${path} no longer matches its digest (it was changed or damaged).`, 'Run "synthcse doctor --repair" to drop it; the next run recomputes it.');
      }
      this.verifiedFiles.add(stamp);
    }
    return path;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** See Store.artifactWriter. Writes are buffered and synchronous: the writer's memory is one buffer, whatever the size. */
export class ArtifactWriter {
  private static readonly BUFFER_BYTES = 1 << 20;
  private readonly hash: Hash = createHash('sha256');
  private fd: number;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private size = 0;

  constructor(
    private readonly store: Store,
    private readonly tempFile: string,
  ) {
    mkdirSync(dirname(tempFile), { recursive: true });
    this.fd = openSync(tempFile, 'w');
  }

  write(data: string | Buffer): void {
    const chunk = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    this.hash.update(chunk);
    this.chunks.push(chunk);
    this.buffered += chunk.byteLength;
    this.size += chunk.byteLength;
    if (this.buffered >= ArtifactWriter.BUFFER_BYTES) this.drain();
  }

  /** Ends the file (fsynced) and returns its digest; nothing is in the store until commit(). */
  finish(): { digest: Digest; size: number; commit(): void; discard(): void } {
    this.drain();
    // A small artifact is read back into an SQLite blob: only a file that stays one needs to be durable.
    if (this.size >= FILE_ARTIFACT_BYTES) fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
    const digest = this.hash.digest('hex') as Digest;
    const size = this.size;
    return {
      digest,
      size,
      commit: () => this.store.commitArtifactFile(this.tempFile, digest, size),
      discard: () => rmSync(this.tempFile, { force: true }),
    };
  }

  /** Drops the unfinished file (the node failed or stopped). */
  abandon(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    rmSync(this.tempFile, { force: true });
  }

  private drain(): void {
    if (this.buffered === 0) return;
    const bytes = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    let offset = 0;
    while (offset < bytes.byteLength) offset += writeSync(this.fd, bytes, offset, bytes.byteLength - offset);
    this.chunks = [];
    this.buffered = 0;
  }
}

export function writeFileDurably(path: string, bytes: Uint8Array): void {
  const dir = path.slice(0, path.lastIndexOf('/'));
  mkdirSync(dir, { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const fd = openSync(tmp, 'w');
  try {
    let offset = 0;
    while (offset < bytes.byteLength) offset += writeSync(fd, bytes, offset, bytes.byteLength - offset);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
