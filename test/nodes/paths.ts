import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from dist/test/nodes/*.js or test/nodes/*.ts alike. */
export const repoRoot = (() => {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.includes(`${'/'}dist${'/'}`) ? resolve(here, '../../..') : resolve(here, '../..');
})();
export const pipelinesDir = resolve(repoRoot, 'pipelines');
/** ../shared/data beside the clone (CI layout), or SYNTHCSE_DATA. */
export const sharedData = process.env['SYNTHCSE_DATA'] ?? resolve(repoRoot, '../shared/data');
