/**
 * Reverse-mode autodiff as a graph transformation: symbolic zeros, fan-out, stop_gradient,
 * interning, and gradchecks of every example cell, one step and through the Scan.
 */
import { describe, expect, it } from 'vitest';
import * as b from '../ir/build.ts';
import { graphNodes, makeGraph } from '../ir/graph.ts';
import { gradcheck } from '../ir/gradcheck.ts';
import { evaluate } from '../ir/interpret.ts';
import type { Node } from '../ir/node.ts';
import { differentiate, gradients } from '../ir/passes/differentiate.ts';
import { printGraph } from '../ir/print.ts';
import { tensor } from '../ir/tensor.ts';
import { verifyGraph } from '../ir/verify.ts';
import { traceCell, stepLossGraph } from '../src/dsl/trace.ts';
import { parseTruncation, sequenceGraph } from '../src/layout.ts';
import { cellNames, cells, inputsFor, SMALL, traceSmall, vjpCheck } from './helpers.ts';
import gain from './cells/good/gain.ts';
import tagger from './cells/good/tagger.ts';

const x = b.arg('x', 'f64', [2, 3], 'input');
const w = b.arg('w', 'f64', [2, 3], 'param');
const z = b.arg('z', 'f64', [2, 3], 'param');
const u = b.arg('u', 'f64', [2, 3], 'input');
const vals = (seed: number) => tensor('f64', [2, 3], Array.from({ length: 6 }, (_, i) => Math.sin(seed * 7 + i * 1.3)));

/** Nodes of the differentiated graph that the forward graph does not have: the gradient computation. */
const backwardOnly = (fwd: ReturnType<typeof makeGraph>, bwd: ReturnType<typeof makeGraph>) => {
  const f = new Set(graphNodes(fwd).map((n) => n.id));
  return graphNodes(bwd).filter((n) => !f.has(n.id));
};

describe('autodiff basics', () => {
  it('symbolic zeros: an input that does not reach the loss gets a materialised zero and no gradient nodes', () => {
    // z feeds only an output that is not the loss; u is not differentiated; s reaches the loss only through stop_gradient
    const s = b.arg('s', 'f64', [2, 3], 'param');
    const eu = b.exp(u);
    const loss = b.add(b.sumAll(b.tanh(b.mul(x, w))), b.add(b.sumAll(eu), b.sumAll(b.mul(b.stopGradient(b.sigmoid(s)), x))));
    const other = b.log(b.exp(z));
    const g = makeGraph([x, w, z, u, s], { loss, other });
    expect(gradients([{ node: loss, cotangent: b.constant(1, [], 'f64') }], [z, s]).grads).toEqual([null, null]);

    const d = differentiate(g, { loss: 'loss', wrt: ['w', 'z', 's'] });
    verifyGraph(d);
    for (const name of ['grad_z', 'grad_s']) {
      const gz = d.outputs[name]!;
      expect([gz.op, gz.attr<number>('value'), gz.shape]).toEqual(['const', 0, [2, 3]]);
    }
    // no backward node touches the branches that carry no gradient
    const dead = new Set([z, other, b.exp(z), u, eu, s, b.sigmoid(s)].map((n) => n.id));
    for (const n of backwardOnly(g, d)) {
      expect(n.srcs.some((src) => dead.has(src.id)), `${n.op} reads a dead branch`).toBe(false);
      expect(['exp', 'log', 'sigmoid']).not.toContain(n.op); // no VJP of exp (u), log/exp (z) or sigmoid (s) was built
    }
    const r = evaluate(d, { x: vals(1), w: vals(2), z: vals(3), u: vals(4), s: vals(5) });
    expect([...r.grad_z!.data]).toEqual([0, 0, 0, 0, 0, 0]);
    expect([...r.grad_s!.data]).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('fan-out: gradients of a value used three times add up', () => {
    const loss = b.sumAll(b.add(b.add(b.mul(x, w), b.tanh(x)), b.exp(x)));
    const g = makeGraph([x, w], { loss });
    const d = differentiate(g, { loss: 'loss', wrt: ['x'] });
    verifyGraph(d);
    expect(d.outputs.grad_x!.op).toBe('add'); // accumulated, not overwritten
    const [xv, wv] = [vals(1), vals(2)];
    const got = evaluate(d, { x: xv, w: wv }).grad_x!.data;
    xv.data.forEach((xi, i) => expect(got[i]).toBeCloseTo(wv.data[i]! + 1 - Math.tanh(xi) ** 2 + Math.exp(xi), 14));
  });

  it('fan-out through the same operand twice: d(x·x) = 2x', () => {
    const g = makeGraph([x], { loss: b.sumAll(b.mul(x, x)) });
    const got = evaluate(differentiate(g, { loss: 'loss', wrt: ['x'] }), { x: vals(3) }).grad_x!.data;
    vals(3).data.forEach((xi, i) => expect(got[i]).toBeCloseTo(2 * xi, 14));
  });

  it('stop_gradient: d/dx sum(x · sg(x)) = sg(x), not 2x', () => {
    const g = makeGraph([x], { loss: b.sumAll(b.mul(x, b.stopGradient(x))) });
    const d = differentiate(g, { loss: 'loss', wrt: ['x'] });
    const xv = vals(6);
    expect([...evaluate(d, { x: xv }).grad_x!.data]).toEqual([...xv.data]);
  });

  it('interning: the same subexpression built twice is the same node; other attributes are not', () => {
    const e1 = b.tanh(b.add(b.matmul(x, w, false, true), b.constant(1, [2, 2], 'f64')));
    const e2 = b.tanh(b.add(b.matmul(x, w, false, true), b.constant(1, [2, 2], 'f64')));
    expect(e1).toBe(e2);
    expect(e1.id).toBe(e2.id);
    expect(b.matmul(x, w, true, false)).not.toBe(b.matmul(x, w, false, true));
    expect(b.constant(1, [2, 2], 'f32')).not.toBe(b.constant(1, [2, 2], 'f64'));
    expect(b.sum(x, [1, 0])).toBe(b.sum(x, [0, 1])); // axes are normalised before interning
    // tracing a cell twice gives the very same graph
    const c1 = traceSmall('lstm'), c2 = traceSmall('lstm');
    expect(c1.step.key).toBe(c2.step.key);
    expect(c1.step.outputs.h).toBe(c2.step.outputs.h);
    expect(stepLossGraph(c1).outputs.loss).toBe(stepLossGraph(c2).outputs.loss);
  });

  it('differentiate rejects a non-scalar loss and unknown names', () => {
    const g = makeGraph([x], { y: b.tanh(x), loss: b.sumAll(x) });
    expect(() => differentiate(g, { loss: 'y', wrt: ['x'] })).toThrow(/loss 'y' must be a scalar/);
    expect(() => differentiate(g, { loss: 'loss', wrt: ['nope'] })).toThrow(/no input 'nope'/);
    expect(() => differentiate(g, { cotangents: ['nope'], wrt: ['x'] })).toThrow(/no output 'nope'/);
  });
});

// IRNN's ReLU has a kink at 0: these seeds are checked to keep every pre-activation clear of it
// (a kink within eps of an input would show as an error of order 1, not as a small drift).
const SEEDS: Record<string, number> = { elman: 11, irnn: 12, lstm: 13, gru: 14, mgu: 15 };
const ALL = 1_000_000; // check every coordinate: the sizes are small

function wrtOf(c: ReturnType<typeof traceSmall>): string[] {
  return [...c.params.map((p) => p.name), ...c.states.map((s) => s.name)];
}

/** Every float input: parameters, initial states and the dense inputs (integer tokens have no gradient). */
function floatInputsOf(c: ReturnType<typeof traceSmall>): string[] {
  return [...wrtOf(c), ...c.inputs.filter((i) => i.vocab === undefined).map((i) => i.name)];
}

describe.each(cellNames.map((n) => [n]))('%s cell', (name) => {
  it('backward graph of one step verifies and prints', () => {
    const c = traceSmall(name);
    const d = differentiate(stepLossGraph(c), { loss: 'loss', wrt: c.params.map((p) => p.name) });
    verifyGraph(d);
    const text = printGraph(d, `${name}.grad`);
    for (const p of c.params) expect(text).toContain(`grad_${p.name}: %`);
    expect(text).not.toContain('?'); // no free variables
  });

  it('gradcheck of one step with readout and loss, w.r.t. all params and states', () => {
    const c = traceSmall(name);
    const g = stepLossGraph(c);
    const env = inputsFor(g, SEEDS[name]!);
    if (name === 'irnn') {
      // the seed must exercise both sides of the ReLU, or the check proves little
      const h = evaluate(g, env).h!.data;
      expect(h.some((v) => v === 0) && h.some((v) => v > 0)).toBe(true);
    }
    const r = gradcheck(g, 'loss', wrtOf(c), env, { perInput: ALL });
    expect(r.checked).toBe(wrtOf(c).reduce((s, n) => s + env[n]!.data.length, 0)); // every coordinate
    expect(r.maxRelError, r.worst).toBeLessThan(1e-6);
  });

  it('gradcheck of the sequence graph through the Scan (T = 5)', () => {
    const c = traceSmall(name);
    const g = sequenceGraph(c, 5, parseTruncation(undefined, 5));
    expect(graphNodes(g).some((n) => n.op === 'scan')).toBe(true);
    const env = inputsFor(g, SEEDS[name]! + 100);
    const r = gradcheck(g, 'loss', wrtOf(c), env, { perInput: ALL });
    expect(r.kinks, 'coordinates left out at a relu kink').toEqual([]); // every coordinate is compared
    expect(r.checked).toBe(wrtOf(c).reduce((s, n) => s + env[n]!.data.length, 0));
    expect(r.maxRelError, r.worst).toBeLessThan(1e-6);
  });

  it('VJP identity of one step: the loss and the next states, w.r.t. params, states and the input', () => {
    const c = traceSmall(name);
    const g = stepLossGraph(c);
    const outs = ['loss', ...c.states.map((s) => s.name)];
    expect(vjpCheck(g, outs, floatInputsOf(c), inputsFor(g, SEEDS[name]!), SEEDS[name]!)).toBeLessThan(1e-6);
  });

  it('VJP identity through the Scan (T = 4): the loss and the final states, w.r.t. params, states and the inputs', () => {
    const c = traceSmall(name);
    const g = sequenceGraph(c, 4, parseTruncation(undefined, 4));
    const outs = ['loss', ...c.states.map((s) => s.name)];
    for (const o of outs) expect(g.outputs[o], `output ${o}`).toBeDefined();
    expect(vjpCheck(g, outs, floatInputsOf(c), inputsFor(g, SEEDS[name]! + 200), SEEDS[name]!)).toBeLessThan(1e-6);
  });
});

describe('sequence graph variants (elman)', () => {
  it('loss on the last step only', () => {
    const c = traceSmall('elman', { lossOn: 'last' });
    const g = sequenceGraph(c, 5, parseTruncation(undefined, 5));
    expect(g.inputs.find((n: Node) => n.attr<string>('name') === 'target')!.shape).toEqual([3]);
    const r = gradcheck(g, 'loss', wrtOf(c), inputsFor(g, 21), { perInput: ALL });
    expect(r.maxRelError, r.worst).toBeLessThan(1e-6);
  });

  it('mean squared error against dense targets', () => {
    const def = { ...cells.elman!, options: { loss: 'mse' as const } };
    const c = traceCell(def, { sizes: SMALL, batch: 3 });
    const g = sequenceGraph(c, 5, parseTruncation(undefined, 5));
    const r = gradcheck(g, 'loss', wrtOf(c), inputsFor(g, 22), { perInput: ALL });
    expect(r.maxRelError, r.worst).toBeLessThan(1e-6);
  });
});

describe('a cell with its own token lookup beside a dense input (test/cells/good/tagger.ts)', () => {
  const c = traceCell(tagger, { sizes: { V: 5, E: 2, F: 2, H: 3, Y: 4 }, batch: 3 });

  it('gradcheck through the Scan (T = 4): the embedding gradient is a scatter-add of the rows looked up', () => {
    const g = sequenceGraph(c, 4, parseTruncation(undefined, 4));
    const env = inputsFor(g, 41, 4); // token ids in [0, 4): row 4 of the table is never looked up
    const r = gradcheck(g, 'loss', floatInputsOf(c), env, { perInput: ALL });
    expect(r.maxRelError, r.worst).toBeLessThan(1e-6);
    const grads = evaluate(differentiate(g, { loss: 'loss', wrt: ['embedding'] }), env).grad_embedding!.data;
    expect([...grads.slice(4 * 2)]).toEqual([0, 0]); // the unused row gets no gradient
    expect([...grads.slice(0, 4 * 2)].some((v) => v !== 0)).toBe(true);
  });

  it('VJP identity w.r.t. params, state and the dense input', () => {
    const g = sequenceGraph(c, 4, parseTruncation(undefined, 4));
    expect(vjpCheck(g, ['loss', 'h'], floatInputsOf(c), inputsFor(g, 42, 4), 42)).toBeLessThan(1e-6);
  });
});

describe('scalars against vectors (test/cells/good/gain.ts): a learned gain [] and a per-example scalar', () => {
  it('gradcheck and VJP identity through the Scan (T = 4), the gain included', () => {
    const c = traceCell(gain, { sizes: SMALL, batch: 3 });
    expect(c.params.find((p) => p.name === 'alpha')!.shape).toEqual([]);
    const g = sequenceGraph(c, 4, parseTruncation(undefined, 4));
    const r = gradcheck(g, 'loss', floatInputsOf(c), inputsFor(g, 51), { perInput: ALL });
    expect(r.maxRelError, r.worst).toBeLessThan(1e-6);
    expect(vjpCheck(g, ['loss', 'h'], floatInputsOf(c), inputsFor(g, 52), 52)).toBeLessThan(1e-6);
  });
});
