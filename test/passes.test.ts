/**
 * The compile pipeline, pass by pass: each pass is evaluated before and after on seeded random
 * inputs (every output the graph had keeps its value), for every example cell and the layouts
 * that change what the passes see (full BPTT, windows, k1:k2, a loss on the last step, an
 * embedding); the verifier catches a broken pass at its own name; simplify is at a fixpoint.
 */
import { describe, expect, it } from 'vitest';
import { graphNodes, makeGraph, type Graph } from '../ir/graph.ts';
import { evaluate } from '../ir/interpret.ts';
import type { Node } from '../ir/node.ts';
import { hoistInvariants } from '../ir/passes/hoist-invariants.ts';
import { simplify } from '../ir/passes/simplify.ts';
import { scanParts } from '../ir/ops/scan.ts';
import { verifiedPass } from '../ir/verify.ts';
import { traceCell, type TraceOptions } from '../src/dsl/trace.ts';
import { parseTruncation, sequenceGraph } from '../src/layout.ts';
import { passes, runPipeline, type Pass } from '../src/pipeline.ts';
import { cellNames, cells, expectSameValues, inputsFor, SMALL } from './helpers.ts';

const SEQ = 5;
const layouts: [string, string | undefined, TraceOptions][] = [
  ['full BPTT', undefined, {}],
  ['windows of 2', '2', {}],
  ['k1:k2 = 2:3', '2:3', {}],
  ['loss on the last step', '2', { lossOn: 'last' }],
  ['embedded input', '3', { embed: { x: SMALL.Y } }], // a vocabulary as large as the classes: one bound for every int input
];

describe.each(cellNames.map((n) => [n]))('%s: every pass keeps the values of the graph', (name) => {
  it.each(layouts)('%s', (_, truncate, opts) => {
    const c = traceCell(cells[name]!, { sizes: SMALL, batch: 2, ...opts });
    const ctx = { loss: 'loss', wrt: c.params.map((p) => p.name) };
    let g: Graph = sequenceGraph(c, SEQ, parseTruncation(truncate, SEQ));
    const env = inputsFor(g, 31);
    let before = evaluate(g, env);
    const changed = new Set<string>();
    for (const p of passes) {
      const next = verifiedPass(p.name, p.run, g, ctx);
      if (next.key !== g.key) changed.add(p.name);
      const after = evaluate(next, env);
      expect(Object.keys(after), `outputs after ${p.name}`).toEqual(expect.arrayContaining(Object.keys(before)));
      // float64 throughout; the hoisting passes only change the order of sums
      expectSameValues(before, after, 1e-12);
      if (p.name === 'differentiate') for (const w of ctx.wrt) expect(after[`grad_${w}`], `grad_${w}`).toBeDefined();
      [g, before] = [next, after];
    }
    // the comparisons were between different graphs: what each pass had to do here
    const expected = ['differentiate', 'hoist-accumulators', 'orient-products'];
    expected.push('hoist-invariants');
    if (opts.lossOn !== 'last') expected.push('sink-readout'); // a last-step loss is already outside the loop
    expect([...changed]).toEqual(expect.arrayContaining(expected));
  });
});

describe('the pipeline', () => {
  const c = traceCell(cells.elman!, { sizes: SMALL, batch: 2 });
  const ctx = { loss: 'loss', wrt: c.params.map((p) => p.name) };
  const g = sequenceGraph(c, 3, parseTruncation(undefined, 3));

  it('catches a broken pass at its own name', () => {
    // a pass that forgets an input the graph still reads
    const broken: Pass = { name: 'drop-an-input', what: 'a bug', run: (h) => makeGraph(h.inputs.slice(1), { ...h.outputs }) };
    expect(() => runPipeline(g, ctx, undefined, [passes[0]!, broken, ...passes.slice(1)])).toThrow(/^after drop-an-input: arg '\w+' .* is used but is not an input/);
  });

  it('stops after the pass it is asked for', () => {
    const upTo = runPipeline(g, ctx, 'sink-readout');
    expect(Object.keys(upTo.outputs).some((k) => k.startsWith('grad_'))).toBe(false);
    expect(Object.keys(runPipeline(g, ctx, 'differentiate').outputs)).toEqual(expect.arrayContaining(ctx.wrt.map((w) => `grad_${w}`)));
  });

  it('simplify is at a fixpoint after it runs', () => {
    const s = simplify(runPipeline(g, ctx, 'differentiate'));
    expect(simplify(s).key).toBe(s.key);
  });
});

describe('hoist-invariants', () => {
  /** Each Scan body's products, with whether they read the carried state and whether they read a per-step input directly. */
  const products = (g: Graph) => graphNodes(g).filter((n) => n.op === 'scan').flatMap((scan) => {
    const { body, nConsts, nCarries } = scanParts(scan.attrs);
    const carried = new Set(body.inputs.slice(nConsts, nConsts + nCarries).map((a) => a.id));
    const xs = new Set(body.inputs.slice(nConsts + nCarries).map((a) => a.id));
    const consts = new Set(body.inputs.slice(0, nConsts).map((a) => a.id));
    for (const n of graphNodes(body)) if (n.srcs.some((x) => carried.has(x.id))) carried.add(n.id);
    const readsX = (n: Node): boolean => xs.has(n.id) || (n.op === 'concat' && n.srcs.some(readsX));
    return graphNodes(body).filter((n) => n.op === 'matmul' || (n.op === 'slice' && consts.has(n.srcs[0]!.id))).map((n) => ({
      op: n.op, state: carried.has(n.id), input: n.srcs.some(readsX),
    }));
  });

  it.each([['elman'], ['irnn'], ['lstm'], ['gru'], ['mgu']])('%s: every product left inside the loop reads the state, none an input; no weight is sliced there', (name) => {
    const c = traceCell(cells[name]!, { sizes: SMALL, batch: 2 });
    const g = sequenceGraph(c, SEQ, parseTruncation(undefined, SEQ));
    expect(products(g).some((p) => p.op === 'matmul' && p.input), 'before: the input projection is in the loop').toBe(true);
    const after = products(hoistInvariants(g));
    expect(after.filter((p) => p.op === 'matmul').length).toBeGreaterThan(0);
    expect(after).toEqual(after.map(() => ({ op: 'matmul', state: true, input: false })));
  });
});

describe('orient-products', () => {
  /** Every node of `g`, Scan bodies included, with whether it sits inside a loop. */
  const everyNode = (g: Graph, inLoop = false): { n: Node; inLoop: boolean }[] =>
    graphNodes(g).flatMap((n) => [{ n, inLoop }, ...(n.op === 'scan' ? everyNode(n.attr<Graph>('body'), true) : [])]);

  it.each([['elman'], ['lstm'], ['gru'], ['mgu']])('%s: every product is A·Bᵀ after the pipeline; no transpose is left inside a loop', (name) => {
    const c = traceCell(cells[name]!, { sizes: SMALL, batch: 2 });
    const g = runPipeline(sequenceGraph(c, SEQ, parseTruncation('2', SEQ)), { loss: 'loss', wrt: c.params.map((p) => p.name) });
    const all = everyNode(g);
    const products = all.filter(({ n }) => n.op === 'matmul');
    expect(products.length).toBeGreaterThan(0);
    for (const { n } of products) expect([n.attr<boolean>('transA'), n.attr<boolean>('transB')]).toEqual([false, true]);
    // the backward step's δ·W_hh reads W_hhᵀ made once before the loop
    expect(all.filter(({ n, inLoop }) => n.op === 'transpose' && inLoop)).toEqual([]);
    expect(all.some(({ n, inLoop }) => n.op === 'transpose' && !inLoop)).toBe(true);
  });
});
