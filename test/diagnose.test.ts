/**
 * trainer.diagnose(batch): ‖∂L/∂h_t‖ per step against torch.autograd.grad(loss, h_t) (the fixtures
 * diagnose_elman.json and diagnose_lstm.json, made by test/fixtures/make_fixtures.py, where each
 * h_t feeds the readout and the next step), against central finite differences in float64 for a
 * custom cell (the MGU), the spectral radius and largest singular value of W_hh against PyTorch's
 * eigvals/svdvals; what diagnose leaves unchanged; and its refusal under overlapping windows.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import elman from '../examples/cells/elman.ts';
import lstm from '../examples/cells/lstm.ts';
import mgu from '../examples/cells/mgu.ts';
import { traceCell } from '../src/dsl/trace.ts';
import { FIXTURE_DIR } from './fixtures/load.ts';
import { compileAndLoad, type DiagnoseOptions, type Diagnosis, type GenModule, relErr } from './trainer-helpers.ts';

type Diagnosing = ReturnType<GenModule['createTrainer']> & { diagnose(batch: unknown, options?: DiagnoseOptions): Diagnosis };

interface Arr { shape: number[]; data: number[] }
interface DiagFixture {
  sizes: { X: number; H: number; Y: number; B: number; T: number };
  params: Record<string, Arr>;
  inputs: { x: Arr };
  targets: Arr;
  loss: number;
  grad_norm: number;
  state_grad_norms: Record<string, Arr>;
  state_norms: Record<string, Arr>;
  weight_hh_blocks: { rows: [number, number]; spectral_radius: number; largest_singular_value: number }[];
}

const load = (name: string): DiagFixture => JSON.parse(fs.readFileSync(path.join(FIXTURE_DIR, `${name}.json`), 'utf8')) as DiagFixture;

describe.each([
  ['elman', elman, 'diagnose_elman'],
  ['lstm', lstm, 'diagnose_lstm'],
] as const)('%s against PyTorch', (_name, def, file) => {
  const f = load(file);
  const { X, H, Y, B, T } = f.sizes;
  let t: Diagnosing;
  beforeAll(async () => {
    const c = traceCell(def, { sizes: { X, H, Y }, batch: B });
    t = (await compileAndLoad(c, { seq: T, float: 'f64', diagnose: true })).mod.createTrainer() as Diagnosing;
    for (const p of c.params) t.params[p.name]!.set(f.params[p.name]!.data);
  });

  it('‖∂L/∂h_t‖ per step and sequence, ‖h_t‖, the loss and the gradient norm are torch.autograd.grad\'s', () => {
    const d = t.diagnose({ inputs: { x: Float64Array.from(f.inputs.x.data) }, targets: Int32Array.from(f.targets.data) });
    expect(Math.abs(d.loss - f.loss)).toBeLessThan(1e-12);
    expect(Math.abs(d.gradNorm - f.grad_norm) / f.grad_norm).toBeLessThan(1e-10);
    expect(Object.keys(d.states)).toEqual(Object.keys(f.state_grad_norms));
    for (const [s, want] of Object.entries(f.state_grad_norms)) {
      expect(relErr(d.states[s]!.gradNormPerSequence, want.data), `∂L/∂${s}`).toBeLessThan(1e-10);
      expect(relErr(d.states[s]!.normPerSequence, f.state_norms[s]!.data), `‖${s}‖`).toBeLessThan(1e-10);
      // the per-step figure is the mean over the batch
      const mean = Array.from({ length: T }, (_, k) => want.data.slice(k * B, (k + 1) * B).reduce((a, b) => a + b, 0) / B);
      expect(relErr(d.states[s]!.gradNorm, mean)).toBeLessThan(1e-10);
    }
  });

  it('the spectral radius and largest singular value of each square block of weight_hh are eigvals\' and svdvals\'', () => {
    const d = t.diagnose({ inputs: { x: Float64Array.from(f.inputs.x.data) }, targets: Int32Array.from(f.targets.data) });
    expect(d.weights.map((w) => [w.param, w.rows])).toEqual(f.weight_hh_blocks.map((b) => ['weight_hh', b.rows]));
    d.weights.forEach((w, k) => {
      const want = f.weight_hh_blocks[k]!;
      // power iteration: the singular value converges (AᵀA is symmetric); the radius to about 1/iterations
      expect(Math.abs(w.largestSingularValue - want.largest_singular_value) / want.largest_singular_value, `σ of block ${k}`).toBeLessThan(1e-8);
      expect(Math.abs(w.spectralRadius - want.spectral_radius) / want.spectral_radius, `ρ of block ${k}`).toBeLessThan(2e-3);
    });
  });
});

describe('a custom cell (MGU), float64: ∂L/∂h_t against central finite differences', () => {
  it('perturbing the state after step t by ε·e_j and running the rest of the sequence from there', async () => {
    const T = 5, B = 2, sizes = { X: 3, H: 4, Y: 3 };
    const c = traceCell(mgu, { sizes, batch: B });
    const mod = (await compileAndLoad(c, { seq: T, float: 'f64', diagnose: true })).mod;
    const t = mod.createTrainer({ seed: 4 }) as Diagnosing;
    const x = Float64Array.from({ length: T * B * sizes.X }, (_, i) => Math.sin(1.7 * i + 0.3));
    const targets = Int32Array.from({ length: T * B }, (_, i) => (i * 7) % sizes.Y);
    const d = t.diagnose({ inputs: { x }, targets });
    // L(h_t + ε e) = loss of steps ≤ t (unchanged) + loss of steps > t started from h_t + ε e; the
    // second part is a trainer of T - t - 1 steps, loaded with the same weights and that state
    const H = sizes.H, eps = 1e-5;
    for (const step of [0, 2, T - 2]) {
      const rest = T - step - 1;
      const tail = (await compileAndLoad(traceCell(mgu, { sizes, batch: B }), { seq: rest, float: 'f64' })).mod.createTrainer() as Diagnosing;
      tail.importParams(t.exportParams());
      // h_step: the state after steps 0..step, by predict over those steps
      const head = (await compileAndLoad(traceCell(mgu, { sizes, batch: B }), { seq: step + 1, float: 'f64' })).mod.createTrainer() as Diagnosing;
      head.importParams(t.exportParams());
      const final: Record<string, Float64Array> = {};
      head.predict({ x: x.slice(0, (step + 1) * B * sizes.X) }, undefined, { final } as never);
      const h = final.h!;
      const lossAt = (hh: Float64Array): number => {
        // the tail's loss is a mean over rest·B positions; L is a mean over T·B: scale to L's units
        const tl = tail.evaluate({ inputs: { x: x.slice((step + 1) * B * sizes.X) }, targets: targets.slice((step + 1) * B) }, { state: { h: hh } } as never);
        // the step's own readout term: cross-entropy of out(h) at `step`
        const W = t.params.out_weight!, bias = t.params.out_bias!;
        let own = 0;
        for (let b = 0; b < B; b++) {
          const z = Array.from({ length: sizes.Y }, (_, y) => bias[y]! + Array.from({ length: H }, (_, j) => W[y * H + j]! * hh[b * H + j]!).reduce((a, v) => a + v, 0));
          const m = Math.max(...z), lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
          own += lse - z[targets[step * B + b]!]!;
        }
        return (tl * rest * B + own) / (T * B);
      };
      for (let b = 0; b < B; b++) {
        let sq = 0;
        for (let j = 0; j < H; j++) {
          const up = Float64Array.from(h), down = Float64Array.from(h);
          up[b * H + j]! += eps;
          down[b * H + j]! -= eps;
          const g = (lossAt(up) - lossAt(down)) / (2 * eps);
          sq += g * g;
        }
        const fd = Math.sqrt(sq), got = d.states.h!.gradNormPerSequence[step * B + b]!;
        expect(Math.abs(got - fd) / fd, `step ${step}, sequence ${b}: ${got} vs ${fd}`).toBeLessThan(1e-6);
      }
    }
  });
});

describe('what diagnose changes, and where it refuses', () => {
  it('fills grads as lossAndGrad does and leaves parameters, state and optimizer state unchanged', async () => {
    const c = traceCell(elman, { sizes: { X: 2, H: 3, Y: 4 }, batch: 2 });
    const mod = (await compileAndLoad(c, { seq: 4, float: 'f64', diagnose: true })).mod;
    const t = mod.createTrainer({ seed: 2 }) as Diagnosing;
    const batch = { inputs: { x: Float64Array.from({ length: 16 }, (_, i) => Math.cos(i)) }, targets: Int32Array.from({ length: 8 }, (_, i) => i % 4) };
    t.state.h!.set([0.1, -0.2, 0.3, 0.4, 0, -0.1]);
    const state = Array.from(t.state.h!), params = Array.from(t.exportParams());
    const d = t.diagnose(batch);
    expect(Array.from(t.state.h!)).toEqual(state);
    expect(Array.from(t.exportParams())).toEqual(params);
    const grads = Object.values(t.grads).flatMap((g) => Array.from(g));
    expect(Math.hypot(...grads)).toBeCloseTo(d.gradNorm, 12);
    expect(t.lossAndGrad(batch)).toBe(d.loss); // the same pass from the same state
    expect(Object.values(t.grads).flatMap((g) => Array.from(g))).toEqual(grads);
  });

  it('under --truncate k the gradient is stopped at each window start: the last step of a window gets only its own readout', async () => {
    const c = traceCell(elman, { sizes: { X: 2, H: 3, Y: 4 }, batch: 2 });
    const full = (await compileAndLoad(c, { seq: 4, float: 'f64', diagnose: true })).mod.createTrainer({ seed: 2 }) as Diagnosing;
    const cut = (await compileAndLoad(c, { seq: 4, truncation: { k1: 2, k2: 2 }, float: 'f64', diagnose: true })).mod.createTrainer({ seed: 2 }) as Diagnosing;
    const batch = { inputs: { x: Float64Array.from({ length: 16 }, (_, i) => Math.cos(i)) }, targets: Int32Array.from({ length: 8 }, (_, i) => i % 4) };
    const a = full.diagnose(batch).states.h!.gradNormPerSequence, b = cut.diagnose(batch).states.h!.gradNormPerSequence;
    // steps 2, 3 (the second window) see the same future; step 1 (end of the first window) loses steps 2, 3
    expect(relErr(b.slice(4), a.slice(4))).toBeLessThan(1e-12);
    expect(b[2]!).not.toBeCloseTo(a[2]!, 6);
  });

  it('a trainer compiled without diagnose: true (--diagnose) refuses, naming the flag; its arena holds no diagnostics', async () => {
    const c = traceCell(elman, { sizes: { X: 2, H: 3, Y: 4 }, batch: 2 });
    const { source, mod } = await compileAndLoad(c, { seq: 4 });
    expect(source).not.toMatch(/function diagnose\d/);
    const t = mod.createTrainer() as Diagnosing;
    expect(() => t.diagnose({ inputs: { x: new Float32Array(16) }, targets: new Int32Array(8) })).toThrow(/^diagnose: this trainer was compiled without diagnostics .*--diagnose \(compile option diagnose: true\)$/);
  });

  it('refuses under k1:k2 with k1 < k2 (a step in two windows has no one gradient), naming the flag', async () => {
    const c = traceCell(elman, { sizes: { X: 2, H: 3, Y: 4 }, batch: 2 });
    const t = (await compileAndLoad(c, { seq: 4, truncation: { k1: 1, k2: 2 }, diagnose: true })).mod.createTrainer() as Diagnosing;
    const batch = { inputs: { x: new Float32Array(16) }, targets: new Int32Array(8) };
    expect(() => t.diagnose(batch)).toThrow(/^diagnose: this trainer back-propagates 1:2, so its windows overlap .*--truncate k/);
  });
});
