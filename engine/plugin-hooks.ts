/**
 * Module resolution hooks (registered with node:module `register` before plugins load): a plugin entry is imported
 * with a `synthcse-v` query naming the digest of its whole module graph, and every local module it reaches inherits
 * that query. A process that loads a plugin again after an edit (tests, a long-lived API user) so gets the new code
 * instead of the module cache's old copy. Packages (node_modules) and synthcse's own modules are left alone, so
 * they stay one instance each.
 */
const MARK = 'synthcse-v=';
const OWN_ROOT = new URL('../', import.meta.url).href;
const OWN_DIRS = ['engine/', 'nodes/', 'cache/'].map((dir) => OWN_ROOT + dir);

interface ResolveResult {
  url: string;
  format?: string | null;
  shortCircuit?: boolean;
}
type NextResolve = (specifier: string, context: { parentURL?: string }) => Promise<ResolveResult>;

export async function resolve(specifier: string, context: { parentURL?: string }, nextResolve: NextResolve): Promise<ResolveResult> {
  const result = await nextResolve(specifier, context);
  const parent = context.parentURL;
  const at = parent?.indexOf(MARK) ?? -1;
  if (parent === undefined || at < 0) return result;
  const url = result.url;
  if (!url.startsWith('file:') || url.includes('/node_modules/') || url.includes('?') || OWN_DIRS.some((dir) => url.startsWith(dir))) return result;
  const version = parent.slice(at + MARK.length).split('&')[0]!;
  return { ...result, url: `${url}?${MARK}${version}` };
}
