/**
 * pretrained: a BERT/RoBERTa checkpoint for the train node, from a local Hugging Face folder or from the hub
 * (`hf:ORG/NAME[@REVISION]`, downloaded once into the cache). Its output is the folder's files in one bundle, so a
 * train node fed by it is keyed by the checkpoint's content, never by its name: the same files under another name
 * train nothing again, and a revision that moved retrains.
 */
import { join } from 'node:path';
import { z } from 'zod';
import type { JsonObject } from '../engine/json.js';
import { defineNode, NodeUserError } from '../engine/node-type.js';
import { writeFileDurably } from '../cache/store.js';
import { packFolder } from './transformer/bundle.js';
import { CheckpointError, loadCheckpoint } from './transformer/checkpoint.js';
import { checkpointFiles } from './transformer/checkpoint-files.js';
import { HubError, parseHubModel } from './transformer/hub.js';
import { checkpointFolder } from './transformer/hub-node.js';

export const PretrainedParams = z.strictObject({
  /** A Hugging Face model folder (config.json, model.safetensors, tokenizer.json), or hf:ORG/NAME[@REVISION]. */
  model: z.string().min(1),
});

export const pretrained = defineNode({
  type: 'pretrained',
  version: 1,
  description: 'A BERT/RoBERTa checkpoint (local folder or hf:ORG/NAME[@REV], downloaded once) for train, keyed downstream by its files.',
  params: PretrainedParams,
  inputs: {},
  outputs: {
    checkpoint: { kind: 'checkpoint', description: 'the checkpoint folder (config, weights, tokenizer, sentence-transformers modules) as one file' },
  },
  files(p, _options, probe) {
    return parseHubModel(p.model) === undefined ? checkpointFiles(probe.resolve(p.model), probe) : [];
  },
  async run(_inputs, p, ctx) {
    let folder: string;
    let meta: JsonObject;
    try {
      folder = await checkpointFolder(p.model, ctx);
      const c = loadCheckpoint(folder);
      // Only what the files say: the output's digest covers its metadata, and the name must not reach the key.
      meta = { architecture: c.config.architecture, hidden: c.config.hidden, layers: c.config.layers, vocab: c.config.vocabSize, files: c.files };
    } catch (error) {
      if (error instanceof CheckpointError || error instanceof HubError) throw new NodeUserError(error.message, ['model']);
      throw error;
    }
    const out = join(ctx.tempDir(), 'checkpoint.bundle');
    writeFileDurably(out, packFolder(folder, checkpointFiles(folder)));
    return { checkpoint: { file: out, meta } };
  },
});
