/**
 * PyTorch parity of the generated trainers: each fixture of test/fixtures (made by PyTorch in
 * float64) loaded into the compiled float32 and float64 trainers gives PyTorch's loss, every
 * parameter gradient and the final state from lossAndGrad, and its logits (or last-step outputs)
 * and final state from predict.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import elman from '../examples/cells/elman.ts';
import gru from '../examples/cells/gru.ts';
import irnn from '../examples/cells/irnn.ts';
import lstm from '../examples/cells/lstm.ts';
import { cell, type CellDef } from '../src/dsl/cell.ts';
import { traceCell, type TracedCell } from '../src/dsl/trace.ts';
import { parseTruncation } from '../src/layout.ts';
import { FIXTURE_NAMES, loadFixture, type Fixture } from './fixtures/load.ts';
import { compileAndLoad, type GenBatch, type GenModule, type GenTrainer, relErr } from './trainer-helpers.ts';

/*
 * Tolerances, as max|a - b| / max|b| per tensor (b: PyTorch's float64 value).
 * float32: the fixture's weights and inputs are rounded to float32 (relative 6e-8) and every
 * intermediate is stored in float32; over T <= 7 steps that is ~1e-6 of a tensor's scale. 1e-4
 * leaves room for that while any error of the math (a gate, a sign, an index) is O(1).
 * float64: only summation order differs from PyTorch's float64: 1e-10.
 */
const TOL = { f32: 1e-4, f64: 1e-10 } as const;

const elmanMseLast = cell('elman_mse_last', elman.sizes, elman.step, { loss: 'mse', lossOn: 'last' });

function cellFor(f: Fixture): { def: CellDef; embed?: Record<string, number> } {
  if (f.lossKind === 'mse_last_step') return { def: elmanMseLast };
  const def = { elman, irnn, lstm, gru }[f.cell];
  // token fixtures: nn.Embedding in front of the cell, compiled as `--embed x=V`
  if (f.inputs.tokens) return { def, embed: { x: f.sizes.V! } };
  return { def };
}

/** The fixture's inputs and targets in the trainer's layout. */
function batchFor(f: Fixture, c: TracedCell, float: 'f32' | 'f64'): GenBatch {
  const F = float === 'f32' ? Float32Array : Float64Array;
  const inputs: GenBatch['inputs'] = {};
  for (const i of c.inputs) {
    const v = f.inputs[i.name] ?? (i.kind === 'tokens' ? f.inputs.tokens : undefined);
    if (!v) throw new Error(`fixture ${f.name} has no input for '${i.name}'`);
    inputs[i.name] = i.kind === 'tokens' ? Int32Array.from(v.data) : F.from(v.data);
  }
  const targets = c.target.kind === 'class' ? Int32Array.from(f.targets.data) : F.from(f.targets.data);
  return { inputs, targets };
}

/** The fixture's weights as an rnnc parameter file (shapes and row-major data as PyTorch has them). */
function paramFile(f: Fixture, c: TracedCell): string {
  const params = Object.fromEntries(c.params.map((p) => [p.name, { shape: f.params[p.name]!.shape, data: Array.from(f.params[p.name]!.data) }]));
  return JSON.stringify({ format: 'rnnc-params', version: 1, cell: c.def.name, sizes: c.sizes, params });
}

const worst: Record<string, string> = {};

describe('PyTorch parity of the generated trainers', () => {
  for (const name of FIXTURE_NAMES) {
    describe(name, () => {
      const f = loadFixture(name);
      const { X, H, Y, B, T } = f.sizes;
      const { def, embed } = cellFor(f);
      const c = traceCell(def, { sizes: { X, H, Y }, batch: B, ...(embed ? { embed } : {}) });
      const mods: Partial<Record<'f32' | 'f64', GenModule>> = {};
      beforeAll(async () => {
        const truncation = parseTruncation(f.truncate ?? undefined, T);
        for (const float of ['f32', 'f64'] as const) mods[float] = (await compileAndLoad(c, { seq: T, truncation, float })).mod;
      }, 60_000);

      const fresh = (float: 'f32' | 'f64'): GenTrainer => {
        const t = mods[float]!.createTrainer();
        if (float === 'f32') t.loadParams(paramFile(f, c)); // through the parameter file ...
        else for (const p of c.params) t.params[p.name]!.set(f.params[p.name]!.data); // ... or the views
        for (const p of c.params) expect(relErr(t.params[p.name]!, f.params[p.name]!.data), p.name).toBeLessThanOrEqual(float === 'f32' ? 1e-7 : 0);
        for (const s of Object.values(t.state)) expect(s.every((v) => v === 0)).toBe(true); // PyTorch's h0 = 0
        return t;
      };

      for (const float of ['f32', 'f64'] as const) {
        it(`${float}: lossAndGrad gives PyTorch's loss, every gradient and the final state${f.truncate ? ` (TBPTT, k = ${f.truncate})` : ''}`, () => {
          const t = fresh(float);
          const loss = t.lossAndGrad(batchFor(f, c, float));
          const errs: Record<string, number> = { loss: relErr([loss], [f.loss]) };
          for (const p of c.params) errs[`grad ${p.name}`] = relErr(t.grads[p.name]!, f.grads[p.name]!.data);
          for (const s of c.states) errs[`state ${s.name}`] = relErr(t.state[s.name]!, f.finalState[s.name]!.data);
          expect(Object.keys(errs).length).toBe(1 + Object.keys(f.grads).length + Object.keys(f.finalState).length);
          const [k, e] = Object.entries(errs).reduce((a, b) => (b[1] > a[1] ? b : a));
          worst[`${name} ${float} lossAndGrad`] = `${e.toExponential(2)} (${k})`;
          for (const [what, err] of Object.entries(errs)) expect(err, what).toBeLessThan(TOL[float]);
        });

        it(`${float}: predict gives PyTorch's ${f.logits ? 'logits at every step' : 'last-step outputs'} and final state`, () => {
          const t = fresh(float);
          const final: Record<string, Float32Array | Float64Array> = {};
          const logits = t.predict(batchFor(f, c, float).inputs, undefined, { final });
          expect(logits.length).toBe(T * B * Y);
          const errs: Record<string, number> = {
            logits: f.logits ? relErr(logits, f.logits.data) : relErr(logits.subarray((T - 1) * B * Y), f.outputs!.data),
          };
          for (const s of c.states) errs[`state ${s.name}`] = relErr(final[s.name]!, f.finalState[s.name]!.data);
          const [k, e] = Object.entries(errs).reduce((a, b) => (b[1] > a[1] ? b : a));
          worst[`${name} ${float} predict`] = `${e.toExponential(2)} (${k})`;
          for (const [what, err] of Object.entries(errs)) expect(err, what).toBeLessThan(TOL[float]);
        });
      }
    });
  }

  afterAll(() => {
    // eslint-disable-next-line no-console
    console.log('generated trainers vs PyTorch, largest relative errors:\n' + Object.entries(worst).map(([k, v]) => `  ${k}: ${v}`).join('\n'));
  });
});
