/** The files of a checkpoint folder that change what training produces (the node's key uses their digests). */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DependencyProbe } from '../../engine/node-type.js';

const TOP_LEVEL = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'modules.json', 'sentence_bert_config.json'];
const MODULE_FOLDERS = ['1_Pooling', '2_Dense'];

/** The file system as checkpointFiles looks at it: directly, or through a node's recording probe (in files()). */
type Look = Pick<DependencyProbe, 'exists' | 'isDirectory' | 'list'>;
const direct: Look = {
  exists: existsSync,
  isDirectory: (path) => existsSync(path) && statSync(path).isDirectory(),
  list: (path) => readdirSync(path).sort(),
};

export function checkpointFiles(folder: string, look: Look = direct): string[] {
  if (!look.isDirectory(folder)) return [];
  const files = TOP_LEVEL.map((f) => join(folder, f)).filter((f) => look.exists(f));
  for (const dir of MODULE_FOLDERS) {
    const path = join(folder, dir);
    if (look.isDirectory(path)) for (const f of look.list(path)) files.push(join(path, f));
  }
  return files;
}
