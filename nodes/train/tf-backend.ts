/**
 * Loads TensorFlow.js, best backend first:
 *   1. @tensorflow/tfjs-node (native libtensorflow) when installed. Never a dependency: its install script downloads
 *      libtensorflow from the internet, which fails on machines that reach only the npm registry.
 *   2. @tensorflow/tfjs with @tensorflow/tfjs-backend-wasm (XNNPACK kernels shipped inside the npm package, so it
 *      works offline). It has no gradient for gather, which training never asks of it (embedding updates are sparse
 *      and done in JS).
 *   3. @tensorflow/tfjs on the pure-JS cpu backend (its matMul is ~10× slower than wasm here).
 * SYNTHCSE_TF_BACKEND=cpu|wasm|tensorflow forces one (for comparisons and tests).
 */
import type * as TfModule from '@tensorflow/tfjs';

export type Tf = typeof TfModule;

export interface LoadedTf {
  tf: Tf;
  /** "tensorflow" (tfjs-node), "wasm" or "cpu": what ran, for the run report. */
  backend: string;
  package: string;
}

let loaded: Promise<LoadedTf> | undefined;

export function loadTf(): Promise<LoadedTf> {
  loaded ??= load(process.env.SYNTHCSE_TF_BACKEND);
  return loaded;
}

async function load(forced: string | undefined): Promise<LoadedTf> {
  if (forced !== undefined && !['cpu', 'wasm', 'tensorflow'].includes(forced)) {
    throw new Error(`SYNTHCSE_TF_BACKEND=${forced} is not one of cpu, wasm, tensorflow`);
  }
  if (forced === undefined || forced === 'tensorflow') {
    const nodePackage = '@tensorflow/tfjs-node';
    try {
      const tf = (await import(nodePackage)) as Tf;
      await tf.ready();
      return { tf, backend: tf.getBackend(), package: nodePackage };
    } catch (error) {
      if (forced === 'tensorflow') throw new Error(`SYNTHCSE_TF_BACKEND=tensorflow but ${nodePackage} does not load: ${(error as Error).message}`);
    }
  }
  const tf = await import('@tensorflow/tfjs');
  if (forced === undefined || forced === 'wasm') {
    const wasmPackage = '@tensorflow/tfjs-backend-wasm';
    try {
      await import(wasmPackage);
      if (await tf.setBackend('wasm')) {
        await tf.ready();
        return { tf, backend: tf.getBackend(), package: `@tensorflow/tfjs + ${wasmPackage}` };
      }
    } catch (error) {
      if (forced === 'wasm') throw new Error(`SYNTHCSE_TF_BACKEND=wasm but ${wasmPackage} does not load: ${(error as Error).message}`);
    }
  }
  // The package registers webgl too; it cannot initialise under Node, so pick cpu explicitly.
  await tf.setBackend('cpu');
  await tf.ready();
  return { tf, backend: tf.getBackend(), package: '@tensorflow/tfjs' };
}
