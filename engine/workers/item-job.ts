/**
 * Item work of a node type as a BullMQ job: the node type named by its item scope (type, version, code digest) and
 * the plugins of the pipeline, which the worker loads itself, and the item's canonical data. The job id is the item
 * key, so an item is one job however often it is queued. Nothing else travels: no closure, no file of this machine's
 * cache (a worker may be on another machine).
 */
import type { Json } from '../json.js';
import type { ItemScope } from '../keys.js';

export const ITEM_QUEUE = 'synthcse-items';

export interface ItemJobData {
  /** The node type whose itemWork runs, as the coordinator keyed it. */
  scope: ItemScope;
  /** The pipeline's plugin modules (absolute paths; the same paths must hold the same code on every worker). */
  plugins: string[];
  /** The name of the item map (itemWork's key). */
  namespace: string;
  data: Json;
}

export interface ItemJobResult {
  value: Json;
  /** Which worker did it (host:pid). */
  worker: string;
}
