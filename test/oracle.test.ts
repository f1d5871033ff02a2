/**
 * The compiled Elman sequence graph (reference interpreter, float64) against the hand-written
 * BPTT oracle: loss, final state, every parameter gradient and the gradient of h0, for full BPTT,
 * TBPTT with windows of k, and the general k1:k2 form.
 */
import { describe, expect, it } from 'vitest';
import elman from '../examples/cells/elman.ts';
import { rng } from '../ir/gradcheck.ts';
import { evaluate } from '../ir/interpret.ts';
import { differentiate } from '../ir/passes/differentiate.ts';
import type { Tensor } from '../ir/tensor.ts';
import { traceCell } from '../src/dsl/trace.ts';
import { parseTruncation, sequenceGraph, windowsOf } from '../src/layout.ts';
import {
  lossAndGrad, lossAndGradK1K2, PARAM_NAMES, tbpttWindows, windowSteps,
  type ElmanGrads, type ElmanParams, type OracleResult,
} from './oracle/elman-bptt.ts';
import { relErr } from './trainer-helpers.ts';

const X = 4, H = 5, Y = 3, B = 3, T = 7;
const TOL = 1e-9;

const rand = rng(20240611);
const uniform = (n: number, bound: number) => Float64Array.from({ length: n }, () => (2 * rand() - 1) * bound);
// large enough that tanh is well inside its nonlinear range and gradients reach far back in time
const params: ElmanParams = {
  weight_ih: uniform(H * X, 0.9),
  weight_hh: uniform(H * H, 0.9),
  bias_ih: uniform(H, 0.5),
  bias_hh: uniform(H, 0.5),
  out_weight: uniform(Y * H, 0.9),
  out_bias: uniform(Y, 0.5),
};
const x = uniform(T * B * X, 1);
const targets = Int32Array.from({ length: T * B }, () => Math.floor(rand() * Y));
const h0 = uniform(B * H, 0.5);

const traced = traceCell(elman, { sizes: { X, H, Y }, batch: B });

const t = (shape: number[], data: ArrayLike<number>, dtype: 'f32' | 'i32' = 'f32'): Tensor => ({ dtype, shape, data: Float64Array.from(data) });

interface Compiled { loss: number; h: Float64Array; grads: ElmanGrads; dh0: Float64Array }

/** Build, differentiate and interpret the sequence graph of `seq` steps under truncation `spec`. */
function compiled(spec: string | number | undefined, p: ElmanParams = params, opts: { x?: Float64Array; targets?: ArrayLike<number>; h0?: Float64Array; seq?: number } = {}): Compiled {
  const seq = opts.seq ?? T;
  const g = differentiate(sequenceGraph(traced, seq, parseTruncation(spec, seq)), { loss: 'loss', wrt: [...PARAM_NAMES, 'h'] });
  const env: Record<string, Tensor> = {
    weight_ih: t([H, X], p.weight_ih), weight_hh: t([H, H], p.weight_hh), bias_ih: t([H], p.bias_ih),
    bias_hh: t([H], p.bias_hh), out_weight: t([Y, H], p.out_weight), out_bias: t([Y], p.out_bias),
    h: t([B, H], opts.h0 ?? h0), x: t([seq, B, X], opts.x ?? x), target: t([seq, B], opts.targets ?? targets, 'i32'),
  };
  const out = evaluate(g, env);
  const grads = Object.fromEntries(PARAM_NAMES.map((n) => [n, out[`grad_${n}`]!.data])) as ElmanGrads;
  return { loss: out.loss!.data[0]!, h: out.h!.data, grads, dh0: out.grad_h!.data };
}

const worst: Record<string, number> = {};
function expectClose(what: string, got: Compiled, want: OracleResult | Compiled): void {
  const errs: Record<string, number> = {
    loss: relErr([got.loss], [want.loss]), h: relErr(got.h, want.h), dh0: relErr(got.dh0, want.dh0),
  };
  for (const n of PARAM_NAMES) errs[n] = relErr(got.grads[n], want.grads[n]);
  const max = Math.max(...Object.values(errs));
  worst[what] = max;
  for (const [k, e] of Object.entries(errs)) expect(e, `${what}: ${k}`).toBeLessThan(TOL);
}

describe('Elman BPTT oracle vs the compiled sequence graph (interpreter, float64)', () => {
  const full = lossAndGrad(params, x, targets, h0, { k: T });

  it('full BPTT (k = T) matches, and equals no truncation', () => {
    const c = compiled(T);
    expectClose('k=T', c, full);
    const none = compiled(undefined);
    expect(none.loss).toBe(c.loss);
    for (const n of PARAM_NAMES) expect(Array.from(none.grads[n])).toEqual(Array.from(c.grads[n]));
    expect(Array.from(none.h)).toEqual(Array.from(c.h));
    // k beyond T is clamped to T
    expectClose('k=10 (clamped)', compiled(10), full);
  });

  for (const k of [3, 2]) {
    it(`TBPTT with windows of ${k} matches (last window ${T % k} step${T % k === 1 ? '' : 's'})`, () => {
      const want = lossAndGrad(params, x, targets, h0, { k });
      expectClose(`k=${k}`, compiled(k), want);
      // the test discriminates: truncation changes the recurrent gradients but not the loss or state
      expect(relErr(want.grads.weight_hh, full.grads.weight_hh)).toBeGreaterThan(1e-3);
      expect(relErr(want.grads.bias_ih, full.grads.bias_ih)).toBeGreaterThan(1e-3);
      expect(relErr([want.loss], [full.loss])).toBeLessThan(1e-14);
      expect(relErr(want.h, full.h)).toBeLessThan(1e-14);
      // the readout sees no recurrence: its gradient is untouched by truncation
      expect(relErr(want.grads.out_weight, full.grads.out_weight)).toBeLessThan(1e-13);
    });
  }

  it('k = 1 (no recurrent gradient at all) matches', () => {
    expectClose('k=1', compiled(1), lossAndGrad(params, x, targets, h0, { k: 1 }));
  });

  for (const spec of ['2:3', '1:3', '2:4', '3:5', '3:7', '2:10']) {
    it(`TBPTT(k1:k2 = ${spec}) matches the k1:k2 oracle`, () => {
      const [k1, k2] = spec.split(':').map(Number) as [number, number];
      const want = lossAndGradK1K2(params, x, targets, h0, { k1, k2 });
      expectClose(spec, compiled(spec), want);
      if (k2 >= T) {
        // every window back-propagates to step 0, so every loss sees all of its history: full BPTT
        for (const n of PARAM_NAMES) expect(relErr(want.grads[n], full.grads[n])).toBeLessThan(1e-13);
      } else {
        expect(relErr(want.grads.weight_hh, full.grads.weight_hh)).toBeGreaterThan(1e-4);
        expect(relErr(want.grads.weight_hh, lossAndGrad(params, x, targets, h0, { k: k1 }).grads.weight_hh)).toBeGreaterThan(1e-4);
      }
    });
  }

  it('the two oracle implementations agree where they overlap (k1 = k2 = k)', () => {
    for (const k of [1, 2, 3, T]) {
      const a = lossAndGrad(params, x, targets, h0, { k });
      const b = lossAndGradK1K2(params, x, targets, h0, { k1: k, k2: k });
      expect(relErr([a.loss], [b.loss])).toBeLessThan(1e-14);
      expect(relErr(a.dh0, b.dh0)).toBeLessThan(1e-14);
      for (const n of PARAM_NAMES) expect(relErr(a.grads[n], b.grads[n])).toBeLessThan(1e-13);
    }
  });

  it('windows of k tile the sequence as windowsOf says', () => {
    for (const k of [1, 2, 3, T]) {
      const ws = windowsOf(T, { k1: k, k2: k });
      expect(ws.map((w) => [w.start, w.start + w.len])).toEqual(tbpttWindows(T, k));
      expect(ws.every((w) => w.lossFrom === 0 && w.carryAt === w.len)).toBe(true);
    }
  });

  it('the oracle itself: central differences for full BPTT', () => {
    // a finite difference sees no truncation, so only full BPTT can be checked this way
    const eps = 1e-6;
    for (const n of PARAM_NAMES) {
      const p = params[n];
      for (const i of [0, Math.floor(p.length / 2), p.length - 1]) {
        const saved = p[i]!;
        p[i] = saved + eps;
        const up = lossAndGrad(params, x, targets, h0).loss;
        p[i] = saved - eps;
        const down = lossAndGrad(params, x, targets, h0).loss;
        p[i] = saved;
        expect(Math.abs((up - down) / (2 * eps) - full.grads[n][i]!), `${n}[${i}]`).toBeLessThan(1e-8);
      }
    }
  });

  it("the oracle itself: lossAndGrad's gradient is the sum of the windows' contributions", () => {
    const want = lossAndGrad(params, x, targets, h0, { k: 3 });
    const ws = windowSteps(params, x, targets, h0, { k: 3 });
    // each window's gradient is of its own mean: weigh it by its share of the T*B positions
    for (const n of PARAM_NAMES) {
      const sum = new Float64Array(want.grads[n].length);
      for (const w of ws) for (let i = 0; i < sum.length; i++) sum[i] += (w.grads[n][i]! * (w.end - w.start)) / T;
      expect(relErr(sum, want.grads[n])).toBeLessThan(1e-13);
    }
    expect(relErr([ws.reduce((a, w) => a + w.loss * (w.end - w.start), 0) / T], [want.loss])).toBeLessThan(1e-14);
  });

  it("per-window semantics (the trainer's step): each window's mean loss and gradient, with SGD in between", () => {
    // a window alone is a sequence of its own length from the carried state, without truncation
    const lr = 0.5;
    const p: ElmanParams = Object.fromEntries(PARAM_NAMES.map((n) => [n, new Float64Array(params[n])])) as unknown as ElmanParams;
    const before: ElmanParams[] = [];
    const ws = windowSteps(p, x, targets, h0, { k: 3 }, (g) => {
      before.push(Object.fromEntries(PARAM_NAMES.map((n) => [n, new Float64Array(p[n])])) as unknown as ElmanParams);
      for (const n of PARAM_NAMES) for (let i = 0; i < p[n].length; i++) p[n][i] -= lr * g[n][i]!;
    });
    expect(ws.map((w) => [w.start, w.end])).toEqual([[0, 3], [3, 6], [6, 7]]);
    let h: Float64Array = h0;
    ws.forEach((w, i) => {
      const len = w.end - w.start;
      const c = compiled(undefined, before[i]!, {
        seq: len, h0: h, x: x.subarray(w.start * B * X, w.end * B * X), targets: targets.subarray(w.start * B, w.end * B),
      });
      expect(relErr([c.loss], [w.loss])).toBeLessThan(TOL);
      expect(relErr(c.h, w.h)).toBeLessThan(TOL);
      for (const n of PARAM_NAMES) expect(relErr(c.grads[n], w.grads[n]), `window ${i}: ${n}`).toBeLessThan(TOL);
      h = w.h;
    });
    // the updates matter: the last window's state differs from the fixed-parameter run
    expect(relErr(ws[2]!.h, full.h)).toBeGreaterThan(1e-3);
  });

  it('reports the largest relative errors', () => {
    // eslint-disable-next-line no-console
    console.log('max relative error vs the oracle:', Object.entries(worst).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', '));
  });
});
