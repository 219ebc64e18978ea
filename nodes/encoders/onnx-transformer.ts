/** Any ONNX sentence encoder with a Hugging Face tokenizer.json, run with onnxruntime-node and mean or CLS pooling. */
import * as ort from 'onnxruntime-node';
import type { TransformerTokenizer } from '../transformer/tokenize.js';
import type { SentenceEncoder } from './types.js';

export type Pooling = 'mean' | 'cls';

export async function loadTransformerOnnx(
  model: Uint8Array | string,
  tokenizer: TransformerTokenizer,
  pooling: Pooling,
  batchSize = 64,
): Promise<SentenceEncoder> {
  const session = typeof model === 'string' ? await ort.InferenceSession.create(model) : await ort.InferenceSession.create(model);
  const inputs = new Set(session.inputNames);
  // A model that already pools (sentence-transformers exports) names its output sentence_embedding.
  const pooledOutput = session.outputNames.find((n) => n === 'sentence_embedding');
  const tokenOutput = session.outputNames.find((n) => n === 'last_hidden_state' || n === 'token_embeddings') ?? session.outputNames[0]!;

  const encodeBatch = async (encoded: readonly Int32Array[]): Promise<Float32Array[]> => {
    const seq = Math.max(1, ...encoded.map((e) => e.length));
    const n = encoded.length;
    const ids = new BigInt64Array(n * seq);
    const mask = new BigInt64Array(n * seq);
    encoded.forEach((e, i) =>
      e.forEach((id, j) => {
        ids[i * seq + j] = BigInt(id);
        mask[i * seq + j] = 1n;
      }),
    );
    const feeds: Record<string, ort.Tensor> = {};
    if (inputs.has('input_ids')) feeds.input_ids = new ort.Tensor('int64', ids, [n, seq]);
    if (inputs.has('attention_mask')) feeds.attention_mask = new ort.Tensor('int64', mask, [n, seq]);
    if (inputs.has('token_type_ids')) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(n * seq), [n, seq]);
    const result = await session.run(feeds);
    if (pooledOutput) {
      const out = result[pooledOutput]!;
      const width = Number(out.dims[1]);
      const data = out.data as Float32Array;
      return Array.from({ length: n }, (_, i) => data.slice(i * width, (i + 1) * width));
    }
    const out = result[tokenOutput]!;
    if (out.dims.length !== 3) throw new Error(`ONNX output ${tokenOutput} has shape [${out.dims.join(', ')}]; expected [batch, sequence, hidden]`);
    const hidden = Number(out.dims[2]);
    const outSeq = Number(out.dims[1]);
    const data = out.data as Float32Array;
    return encoded.map((e, i) => {
      const v = new Float32Array(hidden);
      const base = i * outSeq * hidden;
      if (pooling === 'cls') {
        v.set(data.subarray(base, base + hidden));
        return v;
      }
      const len = Math.min(e.length, outSeq);
      for (let j = 0; j < len; j++) for (let k = 0; k < hidden; k++) v[k]! += data[base + j * hidden + k]!;
      if (len > 0) for (let k = 0; k < hidden; k++) v[k]! /= len;
      return v;
    });
  };

  const dim = (await encodeBatch([tokenizer.encode('a')]))[0]!.length;
  return {
    kind: 'onnx',
    dim,
    async encode(sentences) {
      const encoded = sentences.map((s) => tokenizer.encode(s));
      // Batches of similar length waste little on padding; results go back to the callers' order.
      const order = encoded.map((_, i) => i).sort((x, y) => encoded[x]!.length - encoded[y]!.length);
      const out = new Array<Float32Array>(sentences.length);
      for (let start = 0; start < order.length; start += batchSize) {
        const slice = order.slice(start, start + batchSize);
        const vectors = await encodeBatch(slice.map((i) => encoded[i]!));
        slice.forEach((i, k) => (out[i] = vectors[k]!));
      }
      return out;
    },
    async close() {
      await session.release();
    },
  };
}
