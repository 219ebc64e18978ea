/** Runs an exported glove-avg ONNX model with onnxruntime-node, tokenizing with the spec stored in its metadata. */
import * as ort from 'onnxruntime-node';
import { META_ENCODER, META_TOKENIZER, META_VOCAB, GLOVE_ENCODER_NAME, type GloveTokenizerSpec } from '../onnx/export-glove.js';
import { buildIndex } from './glove-avg.js';
import { compileTokenPattern } from './tokenizer.js';
import type { SentenceEncoder } from './types.js';

export function isGloveOnnx(metadata: Record<string, string>): boolean {
  return metadata[META_ENCODER] === GLOVE_ENCODER_NAME;
}

export async function loadGloveOnnx(bytes: Uint8Array, metadata: Record<string, string>, source: string, batchSize = 1024): Promise<SentenceEncoder> {
  const tokenizerJson = metadata[META_TOKENIZER];
  const vocabText = metadata[META_VOCAB];
  if (tokenizerJson === undefined || vocabText === undefined) throw new Error(`${source}: glove-avg model without tokenizer or vocabulary metadata`);
  const spec = JSON.parse(tokenizerJson) as GloveTokenizerSpec;
  const pattern = compileTokenPattern(spec.pattern, spec.flags);
  const index = buildIndex(vocabText.split('\n'));
  const session = await ort.InferenceSession.create(bytes);
  const outputName = session.outputNames[0]!;

  const ids = (sentence: string): number[] => {
    const text = spec.lowercase ? sentence.toLowerCase() : sentence;
    const out: number[] = [];
    for (const token of text.match(pattern) ?? []) {
      const id = index.get(token);
      if (id !== undefined) out.push(id);
    }
    return out;
  };

  /** Runs one batch of token-id lists; returns one vector per list. */
  const runBatch = async (tokenized: readonly number[][]): Promise<Float32Array[]> => {
    const n = tokenized.length;
    const seq = Math.max(1, ...tokenized.map((t) => t.length));
    const inputIds = new BigInt64Array(n * seq);
    const mask = new BigInt64Array(n * seq);
    // Filled through int32 views (low word first: little-endian, as on every platform onnxruntime-node supports);
    // creating a BigInt per token is the slowest part of encoding otherwise.
    const idWords = new Int32Array(inputIds.buffer);
    const maskWords = new Int32Array(mask.buffer);
    tokenized.forEach((t, i) => {
      for (let j = 0; j < t.length; j++) {
        idWords[2 * (i * seq + j)] = t[j]!;
        maskWords[2 * (i * seq + j)] = 1;
      }
    });
    const result = await session.run({
      input_ids: new ort.Tensor('int64', inputIds, [n, seq]),
      attention_mask: new ort.Tensor('int64', mask, [n, seq]),
    });
    const output = result[outputName]!;
    const data = output.data as Float32Array;
    const width = Number(output.dims[1]);
    return Array.from({ length: n }, (_, i) => data.slice(i * width, (i + 1) * width));
  };

  const dim = (await runBatch([ids('a')]))[0]!.length;
  return {
    kind: 'glove-avg',
    dim,
    async encode(sentences) {
      const tokenized = sentences.map(ids);
      // Batches of similar length waste little on padding; results go back to the callers' order.
      const order = tokenized.map((_, i) => i).sort((x, y) => tokenized[x]!.length - tokenized[y]!.length);
      const out: Float32Array[] = new Array<Float32Array>(sentences.length);
      for (let start = 0; start < order.length; start += batchSize) {
        const slice = order.slice(start, start + batchSize);
        const vectors = await runBatch(slice.map((i) => tokenized[i]!));
        slice.forEach((i, k) => (out[i] = vectors[k]!));
      }
      return out;
    },
    async close() {
      await session.release();
    },
  };
}
