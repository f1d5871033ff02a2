/**
 * PyTorch parity (float64 on both sides): for each fixture of test/fixtures, the compiled sequence
 * graph, run by the reference interpreter with the fixture's weights, gives PyTorch's loss, final
 * state and every parameter gradient; the inference graph gives its logits at every step.
 */
import { describe, expect, it } from 'vitest';
import elman from '../examples/cells/elman.ts';
import gru from '../examples/cells/gru.ts';
import irnn from '../examples/cells/irnn.ts';
import lstm from '../examples/cells/lstm.ts';
import { evaluate } from '../ir/interpret.ts';
import { differentiate } from '../ir/passes/differentiate.ts';
import type { DType } from '../ir/node.ts';
import type { Tensor } from '../ir/tensor.ts';
import { cell, type CellDef } from '../src/dsl/cell.ts';
import { traceCell, type TracedCell } from '../src/dsl/trace.ts';
import { parseTruncation, predictGraph, sequenceGraph } from '../src/layout.ts';
import { FIXTURE_NAMES, loadFixture, type Fixture, type FixtureArray } from './fixtures/load.ts';
import { relErr } from './trainer-helpers.ts';

const TOL = 1e-8;

// the stock Elman cell with a mean-squared-error loss on the last step only (a regression head)
const elmanMseLast = cell('elman_mse_last', elman.sizes, elman.step, { loss: 'mse', lossOn: 'last' });

function cellFor(f: Fixture): { def: CellDef; embed?: Record<string, number> } {
  if (f.lossKind === 'mse_last_step') return { def: elmanMseLast };
  const def = { elman, irnn, lstm, gru }[f.cell];
  // token fixtures: nn.Embedding in front of the cell, as `--embed x=V` compiles it
  if (f.inputs.tokens) return { def, embed: { x: f.sizes.V! } };
  return { def };
}

function trace(f: Fixture): TracedCell {
  const { def, embed } = cellFor(f);
  const { X, H, Y, B } = f.sizes;
  return traceCell(def, { sizes: { X, H, Y }, batch: B, ...(embed ? { embed } : {}) });
}

const tensorOf = (a: FixtureArray, node: { dtype: DType; shape: readonly number[] }): Tensor => {
  expect(a.shape, `shape of a fixture array for ${node.dtype}[${node.shape.join(', ')}]`).toEqual([...node.shape]);
  return { dtype: node.dtype, shape: [...node.shape], data: a.data };
};

/** Interpreter inputs: the fixture's weights by parameter name, zero initial states, its inputs and targets. */
function environment(f: Fixture, c: TracedCell, T: number, withTarget: boolean): Record<string, Tensor> {
  const env: Record<string, Tensor> = {};
  for (const p of c.params) {
    const w = f.params[p.name];
    if (!w) throw new Error(`fixture ${f.name} has no weights for parameter '${p.name}'`);
    env[p.name] = tensorOf(w, p.node);
  }
  for (const s of c.states) env[s.name] = { dtype: 'f32', shape: [...s.node.shape], data: new Float64Array(s.node.size) };
  for (const i of c.inputs) {
    const v = f.inputs[i.name] ?? (i.kind === 'tokens' ? f.inputs.tokens : undefined);
    if (!v) throw new Error(`fixture ${f.name} has no input for '${i.name}'`);
    env[i.name] = tensorOf(v, { dtype: i.node.dtype, shape: [T, ...i.node.shape] });
  }
  if (withTarget) {
    const shape = c.lossOn === 'every' ? [T, c.batch] : [c.batch, ...c.target.shape];
    env.target = tensorOf(f.targets, { dtype: c.target.kind === 'class' ? 'i32' : 'f32', shape });
  }
  return env;
}

const worst: Record<string, string> = {};

describe('PyTorch parity: sequence graph in the reference interpreter vs torch (float64)', () => {
  for (const name of FIXTURE_NAMES) {
    describe(name, () => {
      const f = loadFixture(name);
      const { T } = f.sizes;
      const c = trace(f);

      it('declares the same parameters, with the same shapes, as PyTorch', () => {
        expect(c.params.map((p) => p.name).sort()).toEqual(Object.keys(f.params).sort());
        for (const p of c.params) expect(p.shape, p.name).toEqual(f.params[p.name]!.shape);
        expect(c.states.map((s) => s.name).sort()).toEqual(Object.keys(f.finalState).sort());
        expect(c.loss).toBe(f.lossKind === 'mse_last_step' ? 'mse' : 'ce');
        expect(c.lossOn).toBe(f.lossKind === 'mse_last_step' ? 'last' : 'every');
      });

      it(`loss, final state and every gradient match${f.truncate ? ` (TBPTT, k = ${f.truncate})` : ''}`, () => {
        const names = c.params.map((p) => p.name);
        const g = differentiate(sequenceGraph(c, T, parseTruncation(f.truncate ?? undefined, T)), { loss: 'loss', wrt: names });
        const out = evaluate(g, environment(f, c, T, true));
        const errs: Record<string, number> = { loss: relErr(out.loss!.data, [f.loss]) };
        for (const s of c.states) errs[`state ${s.name}`] = relErr(out[s.name]!.data, f.finalState[s.name]!.data);
        for (const n of names) errs[`grad ${n}`] = relErr(out[`grad_${n}`]!.data, f.grads[n]!.data);
        const [k, e] = Object.entries(errs).reduce((a, b) => (b[1] > a[1] ? b : a));
        worst[`${name} grads`] = `${e.toExponential(2)} (${k})`;
        for (const [what, err] of Object.entries(errs)) expect(err, what).toBeLessThan(TOL);

        if (f.truncate) {
          // the fixture discriminates: full BPTT would give another recurrent gradient
          const fullG = differentiate(sequenceGraph(c, T, parseTruncation(undefined, T)), { loss: 'loss', wrt: ['weight_hh'] });
          const full = evaluate(fullG, environment(f, c, T, true));
          expect(relErr(full.grad_weight_hh!.data, f.grads.weight_hh!.data)).toBeGreaterThan(1e-4);
        }
      });

      it('logits at every step and the final state match (predictGraph)', () => {
        const out = evaluate(predictGraph(c, T), environment(f, c, T, false));
        const { B, Y } = f.sizes;
        expect(out.logits!.shape).toEqual([T, B, Y]);
        let err: number;
        if (f.logits) err = relErr(out.logits!.data, f.logits.data);
        else err = relErr(out.logits!.data.subarray((T - 1) * B * Y), f.outputs!.data); // last step's readout
        const stateErrs = c.states.map((s) => relErr(out[s.name]!.data, f.finalState[s.name]!.data));
        worst[`${name} logits`] = Math.max(err, ...stateErrs).toExponential(2);
        expect(err).toBeLessThan(TOL);
        for (const e of stateErrs) expect(e).toBeLessThan(TOL);
      });
    });
  }

  it('reports the largest relative errors', () => {
    // eslint-disable-next-line no-console
    console.log('max relative error vs PyTorch:\n' + Object.entries(worst).map(([k, v]) => `  ${k}: ${v}`).join('\n'));
  });
});
