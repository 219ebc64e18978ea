import type { PortKindSpec } from '../engine/node-type.js';

/**
 * The port kinds of the built-in node types and the row fields each one promises. Field names are the contract
 * between nodes: a triplet is always {anchor, positive, negative}, whatever file it came from.
 */
export const portKinds: readonly PortKindSpec[] = [
  { name: 'sentences', form: 'rows', fields: ['text'], description: 'rows with a `text` field (more fields may ride along)' },
  { name: 'pairs', form: 'rows', fields: ['text_a', 'text_b', 'label'], description: 'rows {text_a, text_b, label}: a sentence pair with a similarity label in [0, 1]' },
  { name: 'triplets', form: 'rows', fields: ['anchor', 'positive', 'negative'], description: 'rows {anchor, positive, negative}: an anchor, a positive and a hard negative' },
  {
    name: 'scored-triplets',
    form: 'rows',
    extends: 'triplets',
    fields: ['anchor', 'positive', 'negative', 'positive_score', 'negative_score'],
    description: 'triplets with LLM-judge scores {positive_score, negative_score} on a 0-5 scale',
  },
  { name: 'sts-pairs', form: 'rows', fields: ['sentence1', 'sentence2', 'score'], description: 'rows {sentence1, sentence2, score}: gold-scored STS pairs for evaluation' },
  {
    name: 'model',
    form: 'file',
    description: 'a sentence encoder exported to ONNX, with its vocabulary or tokenizer inside',
    async exportFolder(file, _meta, folder) {
      const { exportModelFolder } = await import('./transformer/sentence-transformers.js');
      exportModelFolder(file, folder);
    },
  },
  { name: 'checkpoint', form: 'file', description: 'a BERT/RoBERTa checkpoint folder (config, safetensors weights, tokenizer) packed into one file' },
  { name: 'metrics', form: 'rows', fields: ['task', 'spearman', 'pairs', 'model'], description: 'rows {task, spearman, pairs, model}: STS evaluation results' },
];
