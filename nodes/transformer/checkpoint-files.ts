/** The files of a checkpoint folder that change what training produces (the node's key uses their digests). */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const TOP_LEVEL = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'modules.json', 'sentence_bert_config.json'];
const MODULE_FOLDERS = ['1_Pooling', '2_Dense'];

export function checkpointFiles(folder: string): string[] {
  if (!existsSync(folder) || !statSync(folder).isDirectory()) return [];
  const files = TOP_LEVEL.map((f) => join(folder, f)).filter((f) => existsSync(f));
  for (const dir of MODULE_FOLDERS) {
    const path = join(folder, dir);
    if (existsSync(path) && statSync(path).isDirectory()) for (const f of readdirSync(path).sort()) files.push(join(path, f));
  }
  return files;
}
