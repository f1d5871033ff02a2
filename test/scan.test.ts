/**
 * The Scan primitive and the unroll pass. Claims of equivalence are checked on random inputs:
 * Scan ≡ its full unrolling ≡ its partial unrollings ≡ the step graph stepped by hand, for
 * forward values and for gradients (a hand-written BPTT over the step's VJP is the oracle).
 */
import { describe, expect, it } from 'vitest';
import * as b from '../ir/build.ts';
import { RnncError } from '../ir/error.ts';
import { graphNodes, makeGraph, type Graph } from '../ir/graph.ts';
import { rng } from '../ir/gradcheck.ts';
import { evaluate } from '../ir/interpret.ts';
import type { Node } from '../ir/node.ts';
import { differentiate } from '../ir/passes/differentiate.ts';
import { unroll } from '../ir/passes/unroll.ts';
import { tensor, type Tensor } from '../ir/tensor.ts';
import { verifyGraph } from '../ir/verify.ts';
import { stepLossGraph, type TracedCell } from '../src/dsl/trace.ts';
import { parseTruncation, sequenceGraph } from '../src/layout.ts';
import { expectSameValues, inputsFor, maxRelDiff, traceSmall, vjpCheck } from './helpers.ts';

const scansOf = (g: Graph): Node[] => graphNodes(g).filter((n) => n.op === 'scan');
const count = (g: Graph, op: string) => graphNodes(g).filter((n) => n.op === op).length;
const outputTypes = (g: Graph) => Object.entries(g.outputs).map(([k, n]) => [k, n.dtype, n.shape]);
const inputNames = (g: Graph) => g.inputs.map((n) => n.attr<string>('name'));

// ── a small hand-made Scan: h' = tanh(w ⊙ h + x_t), y_t = h' ⊙ w, over T steps

const w = b.arg('w', 'f64', [2], 'const');
const h = b.arg('h', 'f64', [2], 'carry');
const xt = b.arg('xt', 'f64', [2], 'x');
const h1 = b.tanh(b.add(b.mul(w, h), xt));
const body = makeGraph([w, h, xt], { h: h1, y: b.mul(h1, w) });

function toyScan(T: number, reverse: boolean): Graph {
  const h0 = b.arg('h0', 'f64', [2], 'state');
  const xs = b.arg('xs', 'f64', [T, 2], 'input');
  const scan = b.scan(body, [w, h0, xs], { consts: 1, carries: 1, xs: 1 }, T, reverse);
  return makeGraph([w, h0, xs], { hT: b.proj(scan, 0), ys: b.proj(scan, 1) });
}

function toyEnv(T: number, seed: number): Record<string, Tensor> {
  const r = rng(seed);
  const vals = (n: number) => Array.from({ length: n }, () => 2 * r() - 1);
  return { w: tensor('f64', [2], vals(2)), h0: tensor('f64', [2], vals(2)), xs: tensor('f64', [T, 2], vals(2 * T)) };
}

/** The toy recurrence with plain loops. */
function toyRef(env: Record<string, Tensor>, T: number, reverse: boolean) {
  const W = env.w!.data;
  let hh = [...env.h0!.data];
  const ys = new Float64Array(2 * T);
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    hh = hh.map((v, i) => Math.tanh(W[i]! * v + env.xs!.data[2 * t + i]!));
    hh.forEach((v, i) => (ys[2 * t + i] = v * W[i]!));
  }
  return { hT: hh, ys: [...ys] };
}

describe('Scan and proj', () => {
  it.each([false, true])('evaluates as the recurrence written out (reverse: %s)', (reverse) => {
    const T = 5, env = toyEnv(T, 1);
    const out = evaluate(toyScan(T, reverse), env);
    const want = toyRef(env, T, reverse);
    expect(maxRelDiff(out.hT!.data, want.hT)).toBeLessThan(1e-15);
    expect(maxRelDiff(out.ys!.data, want.ys)).toBeLessThan(1e-15);
    expect(out.ys!.shape).toEqual([T, 2]);
  });

  it.each([false, true])('VJP (a reverse Scan) passes a gradcheck w.r.t. consts, carry init and xs, with cotangents on carries and ys (reverse: %s)', (reverse) => {
    const T = 4, g = toyScan(T, reverse);
    const d = differentiate(g, { cotangents: ['hT', 'ys'], wrt: ['w', 'h0', 'xs'] });
    verifyGraph(d);
    const bwd = scansOf(d).filter((s) => s.attr<boolean>('reverse') !== reverse);
    expect(bwd).toHaveLength(1);
    expect(vjpCheck(g, ['hT', 'ys'], ['w', 'h0', 'xs'], toyEnv(T, 2), 3)).toBeLessThan(1e-6);
  });

  it('VJP names its new body inputs apart from the body\'s own (consts named res0 and d_h)', () => {
    // the residuals and the carry's cotangent have the consts' shape [2]: a name clash would bind
    // the wrong values silently
    const res0 = b.arg('res0', 'f64', [2], 'const'), dh = b.arg('d_h', 'f64', [2], 'const');
    const hn = b.tanh(b.add(b.mul(res0, h), b.mul(dh, xt)));
    const clash = makeGraph([res0, dh, h, xt], { h: hn, y: b.mul(hn, hn) });
    const T = 3, h0 = b.arg('h0', 'f64', [2], 'state'), xs = b.arg('xs', 'f64', [T, 2], 'input');
    const scan = b.scan(clash, [res0, dh, h0, xs], { consts: 2, carries: 1, xs: 1 }, T);
    const g = makeGraph([res0, dh, h0, xs], { hT: b.proj(scan, 0), ys: b.proj(scan, 1) });
    const wrt = ['res0', 'd_h', 'h0', 'xs'];
    verifyGraph(differentiate(g, { cotangents: ['hT', 'ys'], wrt }));
    const r = rng(9), vals = (n: number) => Array.from({ length: n }, () => 2 * r() - 1);
    const env = { res0: tensor('f64', [2], vals(2)), d_h: tensor('f64', [2], vals(2)), h0: tensor('f64', [2], vals(2)), xs: tensor('f64', [T, 2], vals(2 * T)) };
    expect(vjpCheck(g, ['hT', 'ys'], wrt, env, 10)).toBeLessThan(1e-6);
  });

  it('shape rule: operand, carry and proj errors name the shapes', () => {
    const h0 = b.arg('h0', 'f64', [2], 'state');
    const bad = (make: () => Node, ...mentions: string[]) => {
      let err: unknown;
      try {
        make();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RnncError);
      for (const m of mentions) expect((err as Error).message).toContain(m);
    };
    bad(() => b.scan(body, [w, h0, b.arg('xs', 'f64', [3, 2], 'input')], { consts: 1, carries: 1, xs: 1 }, 4), 'scan:', "'xt'", 'f64[3, 2]', 'f64[4, 2]');
    bad(() => b.scan(body, [w, h0], { consts: 1, carries: 1, xs: 1 }, 4), 'scan:', '2 operands', '3 inputs');
    const wrongCarry = makeGraph([w, h, xt], { h: b.reshape(h1, [1, 2]), y: h1 });
    bad(() => b.scan(wrongCarry, [w, h0, b.arg('xs', 'f64', [4, 2], 'input')], { consts: 1, carries: 1, xs: 1 }, 4), 'scan:', "carry 'h'", 'f64[2]', 'f64[1, 2]');
    bad(() => b.proj(toyScan(4, false).outputs.hT!.srcs[0]!, 2), 'proj:', 'no result 2');
  });
});

describe('unroll on a hand-made Scan', () => {
  // T = 7 leaves a remainder for every factor in (1, 7); T = 6 has none for 2 and 3
  const cases = [7, 6].flatMap((T) => [false, true].flatMap((reverse) => [undefined, 1, 2, 3, 4, 6, 7, 9].map((f) => [T, reverse, f] as const)));
  it.each(cases)('T %i, reverse %s, factor %s: same values and types', (T, reverse, f) => {
    const g = toyScan(T, reverse);
    const u = unroll(g, f);
    verifyGraph(u);
    expect(outputTypes(u)).toEqual(outputTypes(g));
    expect(inputNames(u)).toEqual(inputNames(g));
    const scans = scansOf(u);
    const q = f === undefined || f >= T ? 0 : Math.floor(T / f);
    expect(scans.map((s) => s.attr<number>('length'))).toEqual(q ? [q] : []);
    if (q) {
      expect(scans[0]!.attr<boolean>('reverse')).toBe(reverse);
      expect(count(scans[0]!.attr<Graph>('body'), 'tanh')).toBe(f);
    }
    expect(count(u, 'tanh')).toBe(q ? T % f! : T); // the remainder, inlined after the loop
    const env = toyEnv(T, 4);
    expectSameValues(evaluate(g, env), evaluate(u, env), 1e-15);
  });

  it('rejects a bad factor', () => {
    expect(() => unroll(toyScan(3, false), 0)).toThrow(RnncError);
    expect(() => unroll(toyScan(3, false), 1.5)).toThrow(/factor 1.5/);
  });
});

// ── the example cells: sequence graph vs its unrollings vs the step graph by hand

/** Step t of a [T, ...] tensor. */
const at = (x: Tensor, t: number): Tensor => {
  const n = x.data.length / x.shape[0]!;
  return tensor(x.dtype, x.shape.slice(1), x.data.subarray(t * n, (t + 1) * n));
};

/**
 * The oracle, min-char-rnn style: run the step graph T times feeding the state, then walk back in
 * time carrying `dnext` (the loss gradient w.r.t. the next state) through the step's VJP. With
 * truncation k, windows of k steps: the state's gradient is not carried across a window start.
 * The sequence loss is the mean of the T per-step losses.
 */
function byHand(c: TracedCell, env: Record<string, Tensor>, T: number, k = T) {
  const step = stepLossGraph(c);
  const stateNames = c.states.map((s) => s.name), paramNames = c.params.map((p) => p.name);
  const grad = differentiate(step, { loss: 'loss', cotangents: stateNames, wrt: [...paramNames, ...stateNames] });
  const stepEnv = (t: number, states: Record<string, Tensor>) => {
    const e: Record<string, Tensor> = { ...states, target: at(env.target!, t) };
    for (const p of paramNames) e[p] = env[p]!;
    for (const i of c.inputs) e[i.name] = at(env[i.name]!, t);
    return e;
  };
  // forward: keep every state (the backward pass reads them)
  const states: Record<string, Tensor>[] = [Object.fromEntries(stateNames.map((s) => [s, env[s]!]))];
  let loss = 0;
  for (let t = 0; t < T; t++) {
    const r = evaluate(step, stepEnv(t, states[t]!));
    loss += r.loss!.data[0]! / T;
    states.push(Object.fromEntries(stateNames.map((s) => [s, r[s]!])));
  }
  // backward: d/dθ [loss_t / T + <dnext, s_{t+1}>] = (1/T) · the VJP of loss_t + <T·dnext, s_{t+1}>
  const grads: Record<string, Float64Array> = Object.fromEntries([...paramNames, ...stateNames].map((n) => [n, new Float64Array(env[n]!.data.length)]));
  let dnext: Record<string, Tensor> = Object.fromEntries(stateNames.map((s) => [s, tensor('f32', env[s]!.shape)]));
  for (let t = T - 1; t >= 0; t--) {
    const cots = Object.fromEntries(stateNames.map((s) => [`cot_${s}`, tensor('f32', env[s]!.shape, dnext[s]!.data.map((v) => v * T))]));
    const r = evaluate(grad, { ...stepEnv(t, states[t]!), ...cots });
    for (const p of paramNames) r[`grad_${p}`]!.data.forEach((v, i) => (grads[p]![i] += v / T));
    const cut = t % k === 0; // a window starts here: its initial state carries no gradient further back
    dnext = Object.fromEntries(stateNames.map((s) => [s, tensor('f32', env[s]!.shape, r[`grad_${s}`]!.data.map((v) => (cut && t > 0 ? 0 : v / T)))]));
  }
  for (const s of stateNames) grads[s] = dnext[s]!.data;
  return { loss, final: states[T]!, grads };
}

const wrtOf = (c: TracedCell) => [...c.params.map((p) => p.name), ...c.states.map((s) => s.name)];

function gradsOf(g: Graph, c: TracedCell, env: Record<string, Tensor>): Record<string, Tensor> {
  const d = differentiate(g, { loss: 'loss', wrt: wrtOf(c) });
  verifyGraph(d);
  return evaluate(d, env);
}

const gradNames = (c: TracedCell) => ['loss', ...wrtOf(c).map((n) => `grad_${n}`)];

describe.each([['elman'], ['lstm']])('%s: Scan ≡ unrolled ≡ by hand', (name) => {
  const c = traceSmall(name);
  const tanhPerStep = count(c.step, 'tanh');

  it('T = 5: forward values and gradients', () => {
    const T = 5;
    const g = sequenceGraph(c, T, parseTruncation(undefined, T));
    const u = unroll(g);
    verifyGraph(u);
    expect(scansOf(g)).toHaveLength(1);
    expect(scansOf(u)).toHaveLength(0);
    expect(count(u, 'tanh')).toBe(T * tanhPerStep);
    expect(outputTypes(u)).toEqual(outputTypes(g));

    const env = inputsFor(g, 31);
    const fs = evaluate(g, env), fu = evaluate(u, env), hand = byHand(c, env, T);
    expectSameValues(fs, fu, 1e-13);
    expect(maxRelDiff([fs.loss!.data[0]!], [hand.loss])).toBeLessThan(1e-13);
    for (const s of c.states) expect(maxRelDiff(fs[s.name]!.data, hand.final[s.name]!.data)).toBeLessThan(1e-14);

    const gs = gradsOf(g, c, env), gu = gradsOf(u, c, env);
    expectSameValues(gs, gu, 1e-13, gradNames(c));
    for (const n of wrtOf(c)) expect(maxRelDiff(gs[`grad_${n}`]!.data, hand.grads[n]!), `grad_${n}`).toBeLessThan(1e-13);
    // a gradient that is all zeros would make the comparisons above vacuous
    for (const n of wrtOf(c)) expect(gs[`grad_${n}`]!.data.some((v) => Math.abs(v) > 1e-6), `grad_${n}`).toBe(true);

    // the backward graph holds a reverse Scan: unrolling it gives the same gradients
    const d = differentiate(g, { loss: 'loss', wrt: wrtOf(c) });
    expect(scansOf(d).some((s) => s.attr<boolean>('reverse'))).toBe(true);
    const du = unroll(d);
    verifyGraph(du);
    expect(scansOf(du)).toHaveLength(0);
    expectSameValues(gs, evaluate(du, env), 1e-13, gradNames(c));
  });

  it.each([2, 3])('T = 7, partial unrolling by %i: forward values and gradients', (f) => {
    const T = 7;
    const g = sequenceGraph(c, T, parseTruncation(undefined, T));
    const p = unroll(g, f);
    verifyGraph(p);
    const [loop, ...others] = scansOf(p);
    expect(others).toHaveLength(0);
    expect(loop!.attr<number>('length')).toBe(Math.floor(T / f));
    expect(count(loop!.attr<Graph>('body'), 'tanh')).toBe(f * tanhPerStep);
    expect(count(p, 'tanh')).toBe((T % f) * tanhPerStep);
    expect(outputTypes(p)).toEqual(outputTypes(g));

    const env = inputsFor(g, 40 + f);
    expectSameValues(evaluate(g, env), evaluate(p, env), 1e-13);
    const hand = byHand(c, env, T);
    expect(maxRelDiff(evaluate(p, env).loss!.data, [hand.loss])).toBeLessThan(1e-13);
    const gs = gradsOf(g, c, env);
    expectSameValues(gs, gradsOf(p, c, env), 1e-13, gradNames(c));
    for (const n of wrtOf(c)) expect(maxRelDiff(gs[`grad_${n}`]!.data, hand.grads[n]!), `grad_${n}`).toBeLessThan(1e-13);

    // partial unrolling of the backward graph, whose Scan runs in reverse
    const d = differentiate(g, { loss: 'loss', wrt: wrtOf(c) });
    const dp = unroll(d, f);
    verifyGraph(dp);
    expect(scansOf(dp).filter((s) => s.attr<boolean>('reverse')).map((s) => s.attr<number>('length'))).toEqual([Math.floor(T / f)]);
    expectSameValues(gs, evaluate(dp, env), 1e-13, gradNames(c));
  });

  it('TBPTT: k = T is full BPTT; k < T changes the gradients but not the loss', () => {
    const T = 5;
    const full = sequenceGraph(c, T, parseTruncation(undefined, T));
    const kT = sequenceGraph(c, T, parseTruncation('5', T));
    const k2 = sequenceGraph(c, T, parseTruncation('2', T));
    expect(scansOf(k2).length).toBeGreaterThan(1); // three windows, three Scans
    const env = inputsFor(full, 51);
    const gFull = gradsOf(full, c, env), gKT = gradsOf(kT, c, env), gK2 = gradsOf(k2, c, env);
    for (const n of gradNames(c)) expect([...gKT[n]!.data], n).toEqual([...gFull[n]!.data]); // exactly

    expect(maxRelDiff(gK2.loss!.data, gFull.loss!.data)).toBeLessThan(1e-14);
    for (const s of c.states) expect([...gK2[s.name]!.data]).toEqual([...gFull[s.name]!.data]);
    expect(maxRelDiff(gK2.grad_weight_hh!.data, gFull.grad_weight_hh!.data)).toBeGreaterThan(1e-4);
    expect(maxRelDiff(gK2[`grad_${c.states[0]!.name}`]!.data, gFull[`grad_${c.states[0]!.name}`]!.data)).toBeGreaterThan(1e-4);
    // and the truncated gradients are what the hand-written TBPTT computes
    const hand = byHand(c, env, T, 2);
    for (const n of wrtOf(c)) expect(maxRelDiff(gK2[`grad_${n}`]!.data, hand.grads[n]!), `grad_${n}`).toBeLessThan(1e-13);
  });
});
