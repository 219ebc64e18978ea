/** The sentence-encoder interface shared by eval, the embedding filter and MultiCSR's frozen model. */
export interface SentenceEncoder {
  /** "glove-avg" (our exported models) or "onnx" (any transformer encoder with a tokenizer.json). */
  readonly kind: 'glove-avg' | 'onnx';
  /** Width of the sentence vectors. */
  readonly dim: number;
  /** One vector per sentence, in order. Vectors are not normalised; compare them with cosine. */
  encode(sentences: readonly string[]): Promise<Float32Array[]>;
  /** Frees the runtime session. */
  close(): Promise<void>;
}
