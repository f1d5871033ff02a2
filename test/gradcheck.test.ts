/**
 * The finite-difference oracle itself (ir/gradcheck.ts): the step, the Richardson stencil and its
 * error estimate on functions whose derivative is known, the atol/rtol rule, and kinks: a
 * coordinate whose stencil changes a relu's branch is retried at smaller steps, and reported and
 * left out when every step changes it, on a hand-made graph and through the IRNN's Scan.
 */
import { describe, expect, it } from 'vitest';
import * as b from '../ir/build.ts';
import { makeGraph } from '../ir/graph.ts';
import { compared, DEFAULT_TOLERANCE, excess, gradcheck, GRAD_FLOOR, kinkProbe, OFFSETS, relError, richardson, rng, stepFor, summarize } from '../ir/gradcheck.ts';
import { evaluate } from '../ir/interpret.ts';
import { tensor } from '../ir/tensor.ts';
import { parseTruncation, sequenceGraph } from '../src/layout.ts';
import { fdLines, fdSection } from '../src/check.ts';
import { inputsFor, traceSmall } from './helpers.ts';

describe('the step', () => {
  it('is a power of two scaled to the coordinate, and the stencil points are symmetric to 2^-40 of it', () => {
    expect(stepFor(0)).toBe(2 ** -12);
    expect(stepFor(-0.7)).toBe(2 ** -12);
    expect(stepFor(3)).toBe(2 ** -11);
    expect(stepFor(-1000)).toBe(2 ** -3);
    const rand = rng(3);
    for (let n = 0; n < 1000; n++) {
      const x = (2 * rand() - 1) * 10 ** Math.floor(rand() * 6 - 2);
      const h = stepFor(x);
      // (x + k·h) - x: the offset the stencil really took (to the rounding of this subtraction)
      for (const k of OFFSETS) expect(Math.abs(x + k * h - x - k * h), `x = ${x}, k = ${k}`).toBeLessThanOrEqual(2 ** -40 * h);
      if (Math.abs(x) >= 1) for (const k of OFFSETS) expect(x + k * h - x).toBe(k * h); // in x's binade: exact
    }
  });
});

describe('the Richardson stencil', () => {
  // the last: f⁽⁵⁾ of 30⁵ at the steepest, where the h⁴ term shows
  const cases: [string, (x: number) => number, (x: number) => number, number][] = [
    ['sin', Math.sin, Math.cos, 1e-10],
    ['exp', Math.exp, Math.exp, 1e-10],
    ['log(1 + x²)', (x) => Math.log(1 + x * x), (x) => (2 * x) / (1 + x * x), 1e-10],
    ['a steep tanh', (x) => Math.tanh(30 * x), (x) => 30 * (1 - Math.tanh(30 * x) ** 2), 1e-6],
  ];
  it.each(cases)('%s: the derivative within its error estimate, and that below %s', (_, f, df, bound) => {
    const rand = rng(11);
    for (let n = 0; n < 200; n++) {
      const x = 2 * rand() - 1;
      const h = stepFor(x);
      const d = richardson((k) => f(x + k * h), h);
      expect(Math.abs(d.value - df(x)), `x = ${x}`).toBeLessThanOrEqual(d.estimate);
      expect(d.estimate, `x = ${x}`).toBeLessThan(bound);
    }
  });

  it('is exact on polynomials up to degree 4 (up to rounding), which a central difference is not', () => {
    const f = (x: number) => 3 * x ** 4 - 2 * x ** 3 + x - 5, df = (x: number) => 12 * x ** 3 - 6 * x ** 2 + 1;
    const x = 0.37, h = stepFor(x);
    const d = richardson((k) => f(x + k * h), h);
    expect(Math.abs(d.value - df(x))).toBeLessThan(1e-11);
    const central = (f(x + h) - f(x - h)) / (2 * h);
    expect(Math.abs(central - df(x))).toBeGreaterThan(1e-8);
  });
});

describe('tolerances: a value fails only when above both atol and rtol', () => {
  const tol = { atol: 1e-9, rtol: 1e-6 };
  it.each([
    ['small gradient, large relative error, tiny absolute one', 2e-7, 2.0001e-7, false],
    ['large gradient, large absolute error, tiny relative one', 1500, 1500.0000001, false],
    ['both above', 1e-3, 1.01e-3, true],
    ['a sign flip', 0.25, -0.25, true],
    ['exactly equal zeros', 0, 0, false],
    ['a NaN', Number.NaN, 1, true],
  ])('%s', (_, a, n, fails) => {
    expect(excess(compared('x[0]', a, n), tol) > 1).toBe(fails);
  });

  it('relError <= tol is the same test as atol = tol·GRAD_FLOOR, rtol = tol (what the op and cell tests assert)', () => {
    const rand = rng(5);
    for (let n = 0; n < 10_000; n++) {
      const a = (2 * rand() - 1) * 10 ** (rand() * 8 - 6);
      const e = a * (1 + (2 * rand() - 1) * 10 ** (rand() * 6 - 8)) + (2 * rand() - 1) * 10 ** (rand() * 6 - 13);
      const tolerance = 10 ** (rand() * 4 - 8);
      expect(relError(a, e) <= tolerance).toBe(excess(compared('x', a, e), { atol: tolerance * GRAD_FLOOR, rtol: tolerance }) <= 1);
    }
  });

  it('a summary counts the failures and keeps the value of largest excess', () => {
    const values = [compared('a[0]', 1, 1 + 1e-12), compared('a[1]', 1e-10, 2e-10), compared('a[2]', 3, 3.1), compared('a[3]', 5, 5)];
    const s = summarize(values, tol);
    expect([s.count, s.failures, s.worst?.where]).toEqual([4, 1, 'a[2]']);
    expect(s.maxAbs).toBeCloseTo(0.1, 12);
    expect(s.maxRel).toBe(0.5); // a[1]: far above rtol, yet within atol
  });
});

describe('kinks', () => {
  // loss = Σ relu(w) ⊙ x: relu's operand is w itself, so a stencil of half-width 4h crosses 0 iff |w| < 4h
  const w = b.arg('w', 'f64', [4], 'param');
  const x = b.arg('x', 'f64', [4], 'input');
  const g = makeGraph([w, x], { loss: b.sumAll(b.mul(b.relu(w), x)) });
  const env = () => ({ w: tensor('f64', [4], [1e-13, 3e-4, 0.5, -0.7]), x: tensor('f64', [4], [0.3, -1.2, 0.8, 2]) });

  it('a coordinate on the kink is left out and counted; one near it is retried at a smaller step', () => {
    const r = gradcheck(g, 'loss', ['w'], env());
    expect(r.probed).toBe(true);
    expect(r.kinks).toEqual(['w[0]']); // 1e-13: every step tried crosses 0
    expect(r.checked).toBe(3);
    const near = r.coordinates.find((c) => c.where === 'w[1]')!;
    expect(near.numeric!.step).toBe(2 ** -15); // 3e-4 < 4·2^-12, but above 4·2^-15
    expect(near.numeric!.value).toBeCloseTo(-1.2, 9);
    expect(r.maxRelError, r.worst).toBeLessThan(1e-9);
  });

  it('the report prints the count and the coordinates left out', () => {
    const section = fdSection(gradcheck(g, 'loss', ['w'], env()), DEFAULT_TOLERANCE);
    expect([section.count, section.failures, section.kinks]).toEqual([3, 0, ['w[0]']]);
    const lines = fdLines(section, 32);
    expect(lines[0]).toMatch(/^ {2}autodiff vs finite differences: +3 coordinates, /);
    expect(lines).toContain('    1 more at a kink, left out of the maxima (at every step tried, a stencil point changes the sign of a relu input): w[0]');
  });

  it('where is kinked at its mask: a mask on 0 is left out, one clear of it is checked (its derivative is 0)', () => {
    // loss = Σ where(w, x, -x) ⊙ x: piecewise constant in w, a jump of 2x² where w crosses 0
    const gw = makeGraph([w, x], { loss: b.sumAll(b.mul(b.where(w, x, b.neg(x)), x)) });
    const r = gradcheck(gw, 'loss', ['w', 'x'], env());
    expect(r.probed).toBe(true);
    expect(r.kinks).toEqual(['w[0]']);
    expect(r.coordinates.find((c) => c.where === 'w[2]')!.numeric!.value).toBe(0);
    expect(r.maxRelError, r.worst).toBeLessThan(1e-9);
  });

  it('without a kinked op nothing is probed', () => {
    const smooth = makeGraph([w, x], { loss: b.sumAll(b.mul(b.tanh(w), x)) });
    expect(kinkProbe(smooth)).toBeUndefined();
    expect(gradcheck(smooth, 'loss', ['w'], env()).probed).toBe(false);
    expect(kinkProbe(sequenceGraph(traceSmall('elman'), 4, parseTruncation(undefined, 4)))).toBeUndefined();
  });

  it("through the IRNN's Scan: a pre-activation put on 0 at step 0 makes the coordinates that move it kinks, and only those", () => {
    const c = traceSmall('irnn', { batch: 2 });
    const T = 3;
    const seq = sequenceGraph(c, T, parseTruncation(undefined, T));
    expect(Object.keys(kinkProbe(seq)!.outputs)).toHaveLength(T); // one relu operand [B, H] per step
    const e = inputsFor(seq, 9);
    const [X, H] = [e.weight_ih!.shape[1]!, e.weight_ih!.shape[0]!];
    // unit j = 1 of example 0 at step 0: W_ih x + b_ih + W_hh h + b_hh, then b_ih shifted to cancel it
    const j = 1;
    let pre = e.bias_ih!.data[j]! + e.bias_hh!.data[j]!;
    for (let k = 0; k < X; k++) pre += e.weight_ih!.data[j * X + k]! * e.x!.data[k]!;
    for (let m = 0; m < H; m++) pre += e.weight_hh!.data[j * H + m]! * e.h!.data[m]!;
    e.bias_ih!.data[j]! -= pre;
    const wrt = c.params.map((p) => p.name);
    const r = gradcheck(seq, 'loss', wrt, e, { perInput: 1000 });
    const moving = new Set([`bias_ih[${j}]`, `bias_hh[${j}]`, ...Array.from({ length: X }, (_, k) => `weight_ih[${j * X + k}]`), ...Array.from({ length: H }, (_, m) => `weight_hh[${j * H + m}]`)]);
    expect(r.kinks.length).toBeGreaterThanOrEqual(2);
    for (const k of r.kinks) expect(moving.has(k), k).toBe(true);
    expect(r.kinks).toContain(`bias_ih[${j}]`);
    expect(r.kinks).toContain(`bias_hh[${j}]`);
    expect(r.checked + r.kinks.length).toBe(wrt.reduce((s, n) => s + e[n]!.data.length, 0));
    expect(r.maxRelError, r.worst).toBeLessThan(1e-6);
    // and the value there really is on the kink: the pre-activation rounds to (about) zero
    expect(Math.abs(evaluate(kinkProbe(seq)!, e).operand0!.data[j]!)).toBeLessThan(1e-14);
  });
});
