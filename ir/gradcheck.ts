/** Gradient checks in float64 against the reference interpreter: the oracle for autodiff. */
import type { Graph } from './graph.ts';
import { evaluate } from './interpret.ts';
import { differentiate } from './passes/differentiate.ts';
import { tensor, type Tensor } from './tensor.ts';
import { verifiedPass } from './verify.ts';

/** A small seeded generator (mulberry32): tests and checks are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random values for every input of `g`: floats in [-1, 1], integers in [0, bound) from `intBound`. */
export function randomInputs(g: Graph, seed: number, intBound: (name: string) => number = () => 2): Record<string, Tensor> {
  const rand = rng(seed);
  const env: Record<string, Tensor> = {};
  for (const n of g.inputs) {
    const name = n.attr<string>('name');
    const t = tensor(n.dtype, n.shape);
    for (let i = 0; i < t.data.length; i++) t.data[i] = n.dtype === 'i32' ? Math.floor(rand() * intBound(name)) : 2 * rand() - 1;
    env[name] = t;
  }
  return env;
}

/**
 * Central differences in float64 with a step of 1e-5 on values of order 1 carry an absolute error
 * of about 1e-11 (rounding, ε·|f|/step) plus step²·|f'''|/6 (truncation), so a relative error
 * means something only down to gradients of about this size; smaller magnitudes are measured
 * against it.
 */
export const GRAD_FLOOR = 1e-4;

/** |a - b| relative to the larger magnitude, or to `floor` when both are smaller. */
export function relError(a: number, b: number, floor = GRAD_FLOOR): number {
  const e = Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), floor);
  return Number.isNaN(e) ? Infinity : e;
}

export interface GradcheckResult {
  /** Largest relative error (`relError`) of analytic against numeric over the checked coordinates. */
  readonly maxRelError: number;
  readonly worst: string;
  readonly checked: number;
}

/**
 * Central differences of the scalar output `loss` with respect to each `wrt` input, on up to
 * `perInput` coordinates of each, against the gradient graph's values.
 */
export function gradcheck(g: Graph, loss: string, wrt: readonly string[], env: Record<string, Tensor>, opts: { eps?: number; perInput?: number; seed?: number } = {}): GradcheckResult {
  const eps = opts.eps ?? 1e-5;
  const grads = evaluate(verifiedPass('differentiate', differentiate, g, { loss, wrt }), env);
  const rand = rng(opts.seed ?? 7);
  let worst = 0, where = '', checked = 0;
  for (const name of wrt) {
    const x = env[name]!;
    const n = x.data.length;
    const picks = n <= (opts.perInput ?? 24) ? [...Array(n).keys()] : Array.from({ length: opts.perInput ?? 24 }, () => Math.floor(rand() * n));
    for (const i of picks) {
      const saved = x.data[i]!;
      x.data[i] = saved + eps;
      const up = evaluate(g, env)[loss]!.data[0]!;
      x.data[i] = saved - eps;
      const down = evaluate(g, env)[loss]!.data[0]!;
      x.data[i] = saved;
      const numeric = (up - down) / (2 * eps);
      const analytic = grads[`grad_${name}`]!.data[i]!;
      const err = relError(analytic, numeric);
      checked++;
      if (err > worst) [worst, where] = [err, `${name}[${i}]: analytic ${analytic}, numeric ${numeric}`];
    }
  }
  return { maxRelError: worst, worst: where, checked };
}
