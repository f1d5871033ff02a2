/** Shared test helpers: example cells at small sizes, seeded inputs, float comparisons. */
import { expect } from 'vitest';
import type { Graph } from '../ir/graph.ts';
import { randomInputs, relError, rng } from '../ir/gradcheck.ts';
import { evaluate } from '../ir/interpret.ts';
import { differentiate } from '../ir/passes/differentiate.ts';
import { sizeOf, tensor, type Tensor } from '../ir/tensor.ts';
import { verifyGraph } from '../ir/verify.ts';
import type { CellDef } from '../src/dsl/cell.ts';
import { traceCell, type TracedCell } from '../src/dsl/trace.ts';
import elman from '../examples/cells/elman.ts';
import gru from '../examples/cells/gru.ts';
import irnn from '../examples/cells/irnn.ts';
import lstm from '../examples/cells/lstm.ts';
import mgu from '../examples/cells/mgu.ts';

export const cells: Readonly<Record<string, CellDef>> = { elman, irnn, lstm, gru, mgu };
export const cellNames = Object.keys(cells) as readonly string[];

/** Small sizes: every coordinate of every gradient can be checked quickly. */
export const SMALL = { X: 2, H: 3, Y: 4 } as const;

export function traceSmall(name: string, opts: { batch?: number; lossOn?: 'every' | 'last' } = {}): TracedCell {
  return traceCell(cells[name]!, { sizes: SMALL, batch: opts.batch ?? 3, lossOn: opts.lossOn });
}

/** Seeded inputs for every graph input; integer inputs (class targets) in [0, Y). */
export function inputsFor(g: Graph, seed: number, classes: number = SMALL.Y): Record<string, Tensor> {
  return randomInputs(g, seed, () => classes);
}

export function copyEnv(env: Readonly<Record<string, Tensor>>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(env)) out[k] = { dtype: t.dtype, shape: t.shape, data: new Float64Array(t.data) };
  return out;
}

/** Largest |a - b| / max(1, |a|, |b|) over two arrays of the same length (the gradcheck's measure). */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!, y = b[i]!;
    const e = Math.abs(x - y) / Math.max(1, Math.abs(x), Math.abs(y));
    if (Number.isNaN(e)) return Infinity; // a NaN anywhere is a failure
    if (e > worst) worst = e;
  }
  return worst;
}

/** Two evaluations agree output by output: same shape, values within `tol` (relative, as above). */
export function expectSameValues(a: Record<string, Tensor>, b: Record<string, Tensor>, tol: number, names?: readonly string[]): void {
  for (const k of names ?? Object.keys(a)) {
    expect(b[k], `output '${k}'`).toBeDefined();
    expect(b[k]!.shape, `shape of '${k}'`).toEqual(a[k]!.shape);
    expect(maxRelDiff(a[k]!.data, b[k]!.data), `output '${k}'`).toBeLessThan(tol);
  }
}

const dot = (a: ArrayLike<number>, c: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * c[i]!;
  return s;
};
/**
 * Gradient check of several (non-scalar) outputs at once, in float64: with random cotangents v on
 * `outputs`, compares Jᵀv from `differentiate(g, { cotangents })` against central differences of
 * <v, f(x)> coordinate by coordinate, and checks <v, J u> = <Jᵀ v, u> along a random direction u.
 * Returns the largest relative error (`relError`: relative to the larger magnitude, floored at 1e-4).
 */
export function vjpCheck(g: Graph, outputs: readonly string[], wrt: readonly string[], env: Record<string, Tensor>, seed: number, eps = 1e-5): number {
  const d = differentiate(g, { cotangents: outputs, wrt });
  verifyGraph(d);
  const rand = rng(seed);
  const vs = Object.fromEntries(outputs.map((o) => {
    const n = g.outputs[o]!;
    return [o, tensor(n.dtype, n.shape, Array.from({ length: sizeOf(n.shape) }, () => 2 * rand() - 1))];
  }));
  const cots = Object.fromEntries(outputs.map((o) => [`cot_${o}`, vs[o]!]));
  const jtv = evaluate(d, { ...env, ...cots });
  const phi = (e: Record<string, Tensor>) => {
    const r = evaluate(g, e);
    return outputs.reduce((s, o) => s + dot(vs[o]!.data, r[o]!.data), 0);
  };
  let worst = 0;
  for (const name of wrt) {
    const x = env[name]!.data, grad = jtv[`grad_${name}`]!.data;
    expect(grad.length).toBe(x.length);
    for (let i = 0; i < x.length; i++) {
      const saved = x[i]!;
      x[i] = saved + eps;
      const up = phi(env);
      x[i] = saved - eps;
      const down = phi(env);
      x[i] = saved;
      worst = Math.max(worst, relError(grad[i]!, (up - down) / (2 * eps)));
    }
  }
  const u = Object.fromEntries(wrt.map((name) => [name, Array.from(env[name]!.data, () => 2 * rand() - 1)]));
  const shifted = (sign: number) => {
    const e = { ...env };
    for (const name of wrt) e[name] = tensor(env[name]!.dtype, env[name]!.shape, env[name]!.data.map((x, i) => x + sign * eps * u[name]![i]!));
    return phi(e);
  };
  // <v, J u> by central differences of <v, f> along u
  const lhs = (shifted(1) - shifted(-1)) / (2 * eps);
  const rhs = wrt.reduce((s, name) => s + dot(jtv[`grad_${name}`]!.data, u[name]!), 0);
  return Math.max(worst, relError(rhs, lhs));
}
