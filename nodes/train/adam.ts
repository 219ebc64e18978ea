/**
 * Adam in plain JS. Word vectors use the lazy (sparse) variant: only rows present in the batch get their moments and
 * values updated, with bias correction from the global step, as TensorFlow's LazyAdam does.
 */
export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

export const DEFAULT_ADAM: Omit<AdamConfig, 'lr'> = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

/** Updates params[i] for all i. `step` is 1-based. */
export function adamDense(params: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, step: number, cfg: AdamConfig): void {
  const c1 = 1 - cfg.beta1 ** step;
  const c2 = 1 - cfg.beta2 ** step;
  for (let i = 0; i < params.length; i++) {
    const g = grad[i]!;
    const mi = cfg.beta1 * m[i]! + (1 - cfg.beta1) * g;
    const vi = cfg.beta2 * v[i]! + (1 - cfg.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    params[i]! -= (cfg.lr * (mi / c1)) / (Math.sqrt(vi / c2) + cfg.epsilon);
  }
}

/** Updates rows `rows` of a rows×dim matrix from a same-shaped gradient buffer (only those rows are read). */
export function adamRows(
  params: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  v: Float32Array,
  rows: ArrayLike<number>,
  dim: number,
  step: number,
  cfg: AdamConfig,
): void {
  // Hot loop: constants hoisted into locals (this runs over every touched row on every step).
  const b1 = cfg.beta1;
  const b2 = cfg.beta2;
  const ob1 = 1 - b1;
  const ob2 = 1 - b2;
  const stepSize = cfg.lr / (1 - b1 ** step);
  const invC2 = 1 / (1 - b2 ** step);
  const eps = cfg.epsilon;
  for (let r = 0; r < rows.length; r++) {
    const base = rows[r]! * dim;
    const end = base + dim;
    for (let k = base; k < end; k++) {
      const g = grad[k]!;
      const mi = b1 * m[k]! + ob1 * g;
      const vi = b2 * v[k]! + ob2 * g * g;
      m[k] = mi;
      v[k] = vi;
      params[k]! -= (stepSize * mi) / (Math.sqrt(vi * invC2) + eps);
    }
  }
}

/**
 * PyTorch's AdamW step (torch.optim.AdamW, the optimizer of transformers' Trainer): decoupled weight decay
 * p ← p·(1 − lr·wd), then Adam with bias correction. `step` is 1-based.
 */
export function adamW(params: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, step: number, cfg: AdamConfig & { weightDecay: number }): void {
  const b1 = cfg.beta1;
  const b2 = cfg.beta2;
  const stepSize = cfg.lr / (1 - b1 ** step);
  const sqrtC2 = Math.sqrt(1 - b2 ** step);
  const decay = 1 - cfg.lr * cfg.weightDecay;
  const eps = cfg.epsilon;
  for (let i = 0; i < params.length; i++) {
    const g = grad[i]!;
    const mi = b1 * m[i]! + (1 - b1) * g;
    const vi = b2 * v[i]! + (1 - b2) * g * g;
    m[i] = mi;
    v[i] = vi;
    params[i] = params[i]! * decay - (stepSize * mi) / (Math.sqrt(vi) / sqrtC2 + eps);
  }
}

/**
 * transformers' get_linear_schedule_with_warmup: the factor for optimizer step `index` (0-based) rises linearly
 * from 0 over `warmup` steps, then falls linearly to 0 at `total`.
 */
export function linearScheduleFactor(index: number, warmup: number, total: number): number {
  if (index < warmup) return index / Math.max(1, warmup);
  return Math.max(0, (total - index) / Math.max(1, total - warmup));
}
