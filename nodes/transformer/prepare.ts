/** Builds a transformer encoder and a Trainer from a checkpoint and a training set: the library entry point. */
import type { SentenceEncoder } from '../encoders/types.js';
import type { TrainingSet } from '../train/data.js';
import { loadTf } from '../train/tf-backend.js';
import type { SelectionSet } from '../train/selection.js';
import { Trainer, type TokenizedSet, type TrainOptions } from '../train/trainer.js';
import type { TransformerCheckpoint } from './checkpoint.js';
import { embedIds, modelFromCheckpoint, type PoolingChoice, type TransformerModel } from './model.js';
import { TransformerTrainable, type TransformerOptimizer } from './trainable.js';

export interface TransformerSpec {
  pooling: PoolingChoice;
  maxSeqLength: number;
}

export interface PreparedTransformerTraining {
  trainer: Trainer;
  encoder: TransformerTrainable;
  model: TransformerModel;
  backend: string;
}

function normalise(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n);
  return n > 0 ? v.map((x) => x / n) : v;
}

export async function prepareTransformerTraining(
  checkpoint: TransformerCheckpoint,
  set: TrainingSet,
  /** The sets that pick the kept step (none: the last). */
  selection: readonly SelectionSet[] | undefined,
  spec: TransformerSpec,
  options: TrainOptions,
  optimizer: TransformerOptimizer,
  frozenEncoder?: SentenceEncoder,
): Promise<PreparedTransformerTraining> {
  const tfx = await loadTf();
  const model = modelFromCheckpoint(checkpoint, spec.pooling, spec.maxSeqLength, options.seed);
  const encode = (texts: readonly string[]): Int32Array[] => texts.map((t) => model.tokenizer.encode(t));
  const tokenized: TokenizedSet = { sides: set.texts.map(encode), views: set.views };
  if (set.labels) tokenized.labels = set.labels;
  if (options.objective === 'multicsr-masked') {
    // The frozen encoder: the given one, else this checkpoint before training (without SimCSE's MLP, which is new
    // and random at this point).
    tokenized.frozen = [];
    const untrained = { ...model, mlpTest: false };
    for (let s = 0; s < set.texts.length; s++) {
      const vectors = frozenEncoder ? await frozenEncoder.encode(set.texts[s]!) : embedIds(tfx, untrained, tokenized.sides[s]!);
      tokenized.frozen.push(vectors.map(normalise));
    }
  }
  const encoder = new TransformerTrainable(tfx, model, optimizer, checkpoint.files);
  const trainer = new Trainer(tfx, encoder, tokenized, selection, options);
  return { trainer, encoder, model, backend: tfx.backend };
}
