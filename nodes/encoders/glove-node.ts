/** Shared by the encoder and train nodes: the converted GloVe vectors through the cache, loaded once per process. */
import type { NodeContext } from '../../engine/node-type.js';
import { buildGloveBinary, gloveArtifactKey, loadWordVectors, type WordVectors } from './glove-store.js';

const loaded = new Map<string, WordVectors>();

/** The word vectors (callers must not modify them; createGloveAvg copies what it trains). */
export async function gloveVectorsFor(ctx: NodeContext<unknown>): Promise<WordVectors> {
  const path = await ctx.memoFile(gloveArtifactKey(), buildGloveBinary);
  let wv = loaded.get(path);
  if (!wv) {
    wv = loadWordVectors(path);
    loaded.set(path, wv);
  }
  return wv;
}
