/** The node-side of hub downloads: progress bars and log lines through the node context. */
import type { NodeContext } from '../../engine/node-type.js';
import { downloadHubModel, parseHubModel } from './hub.js';

type AnyContext = NodeContext<unknown>;

/** A local folder as given, or an hf: model downloaded (once, resumably) into the cache. */
export async function checkpointFolder(spec: string, ctx: AnyContext): Promise<string> {
  const hub = parseHubModel(spec);
  if (!hub) return ctx.resolvePath(spec);
  let progress: ReturnType<AnyContext['progress']> | undefined;
  let current = '';
  let reported = 0;
  try {
    return await downloadHubModel(hub, ctx.cacheDir, {
      signal: ctx.signal,
      log: (message) => ctx.log.info(message),
      warn: (message) => ctx.log.warn(message),
      onProgress: (file, bytes, total) => {
        if (file !== current) {
          progress?.done();
          progress = ctx.progress(`downloading ${file} (bytes)`, total ?? 0);
          current = file;
          reported = 0;
        }
        progress!.tick(bytes - reported);
        reported = bytes;
      },
    });
  } finally {
    progress?.done();
  }
}

