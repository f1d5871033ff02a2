/**
 * PyTorch parity for variable lengths and stacked bidirectional layers (fixtures from
 * test/fixtures/make_fixtures.py, float64): a padded batch with lengths and ignored targets
 * against pack_padded_sequence + cross_entropy(ignore_index=-100) (the stock LSTM, and a 2-layer
 * bidirectional LSTM), and a 2-layer bidirectional GRU over full-length sequences, whose
 * weights load by PyTorch's names. The reference interpreter (float64) and the generated
 * trainers (float32 and float64) give PyTorch's loss, every gradient, the final states and the
 * logits at every counted position, at the tolerances of the existing fixtures.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import bigru from '../examples/cells/bigru.ts';
import bilstm from '../examples/cells/bilstm.ts';
import lstm from '../examples/cells/lstm.ts';
import { evaluate } from '../ir/interpret.ts';
import { differentiate } from '../ir/passes/differentiate.ts';
import { tensor, type Tensor } from '../ir/tensor.ts';
import type { CellDef } from '../src/dsl/cell.ts';
import { traceCell, type TracedCell } from '../src/dsl/trace.ts';
import { predictGraph, sequenceGraph } from '../src/layout.ts';
import { FIXTURE_DIR, loadFixture, type Fixture } from './fixtures/load.ts';
import { compileAndLoad, relErr } from './trainer-helpers.ts';

/** As test/pytorch-parity.test.ts (interpreter, f64) and test/trainer-parity-pytorch.test.ts (trainers). */
const TOL = { interpreter: 1e-8, f32: 1e-4, f64: 1e-10 } as const;

const CASES: readonly { name: string; def: CellDef }[] = [
  { name: 'lstm_padded', def: lstm },
  { name: 'bilstm2_padded', def: bilstm },
  { name: 'bigru2', def: bigru },
];

interface Case { f: Fixture; c: TracedCell; lengths: Int32Array | null; T: number; B: number }

function load(name: string, def: CellDef): Case {
  const f = loadFixture(name);
  const raw = JSON.parse(fs.readFileSync(path.join(FIXTURE_DIR, `${name}.json`), 'utf8')) as { lengths: { data: number[] } | null };
  const lengths = raw.lengths ? Int32Array.from(raw.lengths.data) : null;
  const { X, H, Y, B, T } = f.sizes;
  // -100 targets need a trainer compiled with lengths; a fixture without either checks the plain one
  const ignores = f.targets.data.some((v) => v === -100);
  const c = traceCell(def, { sizes: { X, H, Y }, batch: B, ...(lengths || ignores ? { lengths: true } : {}) });
  return { f, c, lengths, T, B };
}

const live = ({ lengths, T, B }: Case) => (t: number, b: number) => t < (lengths ? lengths[b]! : T);

/** Values of a [T, B, ...] array at counted-length positions only (padding is anything). */
function atLive(k: Case, data: ArrayLike<number>): number[] {
  const per = data.length / (k.T * k.B), ok = live(k), out: number[] = [];
  for (let t = 0; t < k.T; t++) for (let b = 0; b < k.B; b++) if (ok(t, b)) for (let j = 0; j < per; j++) out.push(data[(t * k.B + b) * per + j]!);
  return out;
}

/** The interpreter's environment: PyTorch's weights by name, zero states, x, targets (and the mask and weight the host would fill). */
function environment(k: Case): Record<string, Tensor> {
  const { f, c, T, B } = k;
  const env: Record<string, Tensor> = {};
  for (const p of c.params) {
    const w = f.params[p.name];
    if (!w) throw new Error(`fixture ${f.name} has no weights for '${p.name}' (it has ${Object.keys(f.params).join(', ')})`);
    expect(w.shape, p.name).toEqual(p.shape);
    env[p.name] = tensor('f32', p.shape, w.data);
  }
  for (const s of c.states) env[s.name] = tensor('f32', s.node.shape, new Float64Array(s.node.size));
  env.x = tensor('f32', [T, B, f.sizes.X], f.inputs.x!.data);
  env.target = tensor('i32', [T, B], f.targets.data.map((v) => (v === -100 ? 0 : v)));
  if (c.lengths) {
    const ok = live(k);
    env.__mask = tensor('f32', [T, B], Array.from({ length: T * B }, (_, i) => (ok(Math.floor(i / B), i % B) ? 1 : 0)));
    env.__weight = tensor('f32', [T, B], Array.from({ length: T * B }, (_, i) => (f.targets.data[i] === -100 ? 0 : env.__mask!.data[i]!)));
  }
  return env;
}

describe.each(CASES)('PyTorch: $name', ({ name, def }) => {
  const k = load(name, def);
  const { f, c } = k;

  it('the parameters are PyTorch\'s, by name and shape', () => {
    expect(c.params.map((p) => p.name).sort()).toEqual(Object.keys(f.params).sort());
  });

  it(`the interpreter (f64): loss, every gradient, final states, logits at counted positions within ${TOL.interpreter}`, () => {
    const env = environment(k);
    const r = evaluate(differentiate(sequenceGraph(c, k.T, { k1: k.T, k2: k.T }), { loss: 'loss', wrt: c.params.map((p) => p.name) }), env);
    expect(relErr(r.loss!.data, [f.loss])).toBeLessThan(TOL.interpreter);
    for (const p of c.params) expect(relErr(r[`grad_${p.name}`]!.data, f.grads[p.name]!.data), `grad ${p.name}`).toBeLessThan(TOL.interpreter);
    for (const s of c.states) expect(relErr(r[s.name]!.data, f.finalState[s.name]!.data), `state ${s.name}`).toBeLessThan(TOL.interpreter);
    const inputs = { ...env };
    delete inputs.target;
    delete inputs.__weight;
    const pr = evaluate(predictGraph(c, k.T), inputs);
    expect(relErr(atLive(k, pr.logits!.data), atLive(k, f.logits!.data)), 'logits').toBeLessThan(TOL.interpreter);
  });

  for (const float of ['f32', 'f64'] as const) {
    it(`the generated trainer (${float}): lossAndGrad and predict within ${TOL[float]}`, async () => {
      const { mod } = await compileAndLoad(c, { seq: k.T, float });
      const t = mod.createTrainer();
      for (const p of c.params) t.params[p.name]!.set(f.params[p.name]!.data);
      const F = float === 'f32' ? Float32Array : Float64Array;
      const inputs = { x: F.from(f.inputs.x!.data) };
      const batch = { inputs, targets: Int32Array.from(f.targets.data), ...(k.lengths ? { lengths: k.lengths } : {}) };
      const loss = t.lossAndGrad(batch);
      expect(relErr([loss], [f.loss]), 'loss').toBeLessThan(TOL[float]);
      for (const p of c.params) expect(relErr(t.grads[p.name]!, f.grads[p.name]!.data), `grad ${p.name}`).toBeLessThan(TOL[float]);
      for (const s of c.states) expect(relErr(t.state[s.name]!, f.finalState[s.name]!.data), `state ${s.name}`).toBeLessThan(TOL[float]);
      // predict starts from zeros and hands the final state back in options.final
      const final: Record<string, Float32Array | Float64Array> = {};
      const logits = t.predict(inputs, undefined, { final, ...(k.lengths ? { lengths: k.lengths } : {}) });
      expect(relErr(atLive(k, logits), atLive(k, f.logits!.data)), 'logits').toBeLessThan(TOL[float]);
      for (const s of c.states) expect(relErr(final[s.name]!, f.finalState[s.name]!.data), `predict: state ${s.name}`).toBeLessThan(TOL[float]);
    });
  }
});
