/**
 * The generated trainer's API (docs/trainer-api.md): live views, state carry,
 * `spec`, seeded init schemes, the optimizers, clipping, per-window updates under truncation
 * (against the hand-written BPTT oracle), parameter files, and bad input — which must be a clear
 * error that leaves the trainer exactly as it was.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import elman from '../examples/cells/elman.ts';
import irnn from '../examples/cells/irnn.ts';
import lstm from '../examples/cells/lstm.ts';
import { rng } from '../ir/gradcheck.ts';
import type { Tensor } from '../ir/tensor.ts';
import { defaultOptimizer } from '../src/compile.ts';
import { cell, concat, init, sigmoid, tanh } from '../src/dsl/index.ts';
import { traceCell, type TracedCell } from '../src/dsl/trace.ts';
import {
  lossAndGrad as oracleLossAndGrad, lossAndGradK1K2, PARAM_NAMES, windowSteps, windowStepsK1K2, type ElmanParams,
} from './oracle/elman-bptt.ts';
import {
  batchOf, compileAndLoad, loadEnv, randomEnv, reference, scaledErr, snapshot,
  type GenBatch, type GenModule, type GenTrainer,
} from './trainer-helpers.ts';

// the small Elman trainer most tests use
const X = 2, H = 3, Y = 4, B = 2, T = 4;
const NP = H * X + H * H + H + H + Y * H + Y; // 37 parameters
const FULL = { k1: T, k2: T };

const elmanMseLast = cell('elman_mse_last', elman.sizes, elman.step, { loss: 'mse', lossOn: 'last' });

// a cell that uses the orthogonal and Xavier schemes: weight_hh is [2H, H] (two square blocks),
// weight_xh is [H, X + H] (fewer rows than columns: its rows are orthogonal, with gain 2);
// weight_id is [2H, H] with 0.5 I in each square block; weight_nx [H, X] is N(0, 0.001²)
const inits = cell('inits', { X: 3, H: 4, Y: 2 }, ({ X: nx, H: nh }, { input, state, param }) => {
  const x = input('x', [nx]);
  const h = state('h', [nh]);
  const W_ih = param('weight_ih', [nh, nx], init.xavier());
  const W_hh = param('weight_hh', [2 * nh, nh], init.orthogonal());
  const W_xh = param('weight_xh', [nh, nx + nh], init.orthogonal(2));
  const W_id = param('weight_id', [2 * nh, nh], init.scaledIdentity(0.5));
  const W_nx = param('weight_nx', [nh, nx], init.normal(0.001));
  const bias = param('bias', [nh], init.zeros());
  const [a, g] = W_hh.mv(h).split(2);
  const [u, v] = W_id.mv(h).split(2);
  const h1 = tanh(W_ih.mv(x).add(a!).add(W_xh.mv(concat(x, h))).add(u!).add(W_nx.mv(x)).add(bias)).mul(sigmoid(g!.add(v!)));
  return { next: { h: h1 }, output: h1 };
});

const arr = (a: ArrayLike<number>) => Array.from(a);
const norm = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, v) => s + v * v, 0));
const copyRecord = (r: Record<string, ArrayLike<number>>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Float64Array.from(v)]));
const flatGrads = (t: GenTrainer) => Float64Array.from(Object.values(t.grads).flatMap((g) => Array.from(g)));

/** Reference environment whose params are the trainer's and whose initial state is the trainer's. */
function envOf(c: TracedCell, t: GenTrainer, seq: number, seed: number): Record<string, Tensor> {
  const env = randomEnv(c, seq, seed, { f32: true });
  for (const p of c.params) env[p.name]!.data.set(t.params[p.name]!);
  for (const s of c.states) env[s.name]!.data.set(t.state[s.name]!);
  return env;
}

let cE: TracedCell; // elman X=2 H=3 Y=4 B=2
let sgd: GenModule, momentum: GenModule, adam: GenModule;
let cTok: TracedCell, tokens: GenModule; // lstm with x embedded from 5 tokens
let cMse: TracedCell, mse: GenModule; // elman, MSE on the last step
let adamTrunc: GenModule; // elman, T = 5, truncate 2, Adam
let cInit: TracedCell, initMod: GenModule;
let cIrnn: TracedCell, irnnMod: GenModule;

beforeAll(async () => {
  cE = traceCell(elman, { sizes: { X, H, Y }, batch: B });
  sgd = (await compileAndLoad(cE, { seq: T, optimizer: defaultOptimizer('sgd', 0.1) })).mod;
  momentum = (await compileAndLoad(cE, { seq: T, optimizer: defaultOptimizer('momentum', 0.1) })).mod;
  adam = (await compileAndLoad(cE, { seq: T, optimizer: defaultOptimizer('adam', 0.01) })).mod;
  cTok = traceCell(lstm, { sizes: { X, H, Y }, batch: B, embed: { x: 5 } });
  tokens = (await compileAndLoad(cTok, { seq: T })).mod;
  cMse = traceCell(elmanMseLast, { sizes: { X, H, Y }, batch: B });
  mse = (await compileAndLoad(cMse, { seq: T })).mod;
  adamTrunc = (await compileAndLoad(cE, { seq: 5, truncation: { k1: 2, k2: 2 }, optimizer: defaultOptimizer('adam', 0.01) })).mod;
  cInit = traceCell(inits, { batch: 1 });
  initMod = (await compileAndLoad(cInit, { seq: 2 })).mod;
  cIrnn = traceCell(irnn, { sizes: { X: 4, H: 8, Y: 3 }, batch: 1 });
  irnnMod = (await compileAndLoad(cIrnn, { seq: 2 })).mod;
}, 120_000);

describe('spec', () => {
  it('describes sizes, batch, sequence, inputs, target, params and state', () => {
    expect(sgd.spec).toMatchObject({
      cell: 'elman', sizes: { X, H, Y }, batch: B, seq: T, truncate: null, float: 'f32', loss: 'ce', lossOn: 'every',
      inputs: { x: { dtype: 'f32', shape: [T, B, X] } },
      target: { dtype: 'i32', shape: [T, B], classes: Y },
      params: { weight_ih: [H, X], weight_hh: [H, H], bias_ih: [H], bias_hh: [H], out_weight: [Y, H], out_bias: [Y] },
      state: { h: [B, H] },
      optimizer: { kind: 'sgd', lr: 0.1 },
    });
    expect(Object.keys(sgd.spec.inputs)).toEqual(['x']);
    expect(adam.spec.optimizer.kind).toBe('adam');
    expect(adamTrunc.spec.truncate).toEqual({ k1: 2, k2: 2 });
    expect(tokens.spec.inputs).toEqual({ x: { dtype: 'i32', shape: [T, B], vocab: 5 } });
    expect(tokens.spec.params.embedding).toEqual([5, X]);
    expect(tokens.spec.state).toEqual({ h: [B, H], c: [B, H] });
    expect(mse.spec).toMatchObject({ loss: 'mse', lossOn: 'last', target: { dtype: 'f32', shape: [B, Y] } });
  });

  it('matches the trainer: views of the declared shapes, exportParams in spec.params order', () => {
    for (const mod of [sgd, tokens, mse, initMod]) {
      const t = mod.createTrainer();
      expect(Object.keys(t.params)).toEqual(Object.keys(mod.spec.params));
      expect(Object.keys(t.grads)).toEqual(Object.keys(mod.spec.params));
      expect(Object.keys(t.state)).toEqual(Object.keys(mod.spec.state));
      const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
      for (const [k, s] of Object.entries(mod.spec.params)) expect(t.params[k]!.length, k).toBe(size(s));
      for (const [k, s] of Object.entries(mod.spec.state)) expect(t.state[k]!.length, k).toBe(size(s));
      expect(arr(t.exportParams())).toEqual(Object.keys(mod.spec.params).flatMap((k) => arr(t.params[k]!)));
    }
  });
});

describe('live views and state', () => {
  it('params are live: writing a parameter changes what lossAndGrad computes', () => {
    const t = sgd.createTrainer();
    const env = envOf(cE, t, T, 1);
    const batch = batchOf(cE, env, 'f32');
    const view = t.params.weight_hh!;
    const l0 = t.lossAndGrad(batch);
    t.resetState();
    view[0] = view[0]! + 0.75;
    t.params.out_bias![2] = -1.5;
    expect(t.params.weight_hh).toBe(view); // the same object, not a copy per access
    const l1 = t.lossAndGrad(batch);
    expect(Math.abs(l1 - l0)).toBeGreaterThan(1e-3);
    // the reference with the edited parameters and the same zero initial state
    env.h!.data.fill(0);
    for (const p of cE.params) env[p.name]!.data.set(t.params[p.name]!);
    const ref = reference(cE, T, FULL, env);
    expect(scaledErr([l1], ref.loss!.data)).toBeLessThan(1e-4);
    expect(scaledErr(t.grads.weight_hh!, ref.grad_weight_hh!.data)).toBeLessThan(1e-4);
  });

  it('the trainer and its params, grads and state are frozen: replacing a view or hyper throws, where it was ignored in silence', () => {
    const t = sgd.createTrainer();
    const w = t.params.weight_hh!;
    const attempts: [string, () => void][] = [
      ['trainer.hyper', () => ((t as unknown as Record<string, unknown>).hyper = { lr: 1 })],
      ['trainer.step', () => ((t as unknown as Record<string, unknown>).step = () => 0)],
      ['params.weight_hh', () => ((t.params as Record<string, unknown>).weight_hh = new Float32Array(w.length))],
      ['grads.weight_hh', () => ((t.grads as Record<string, unknown>).weight_hh = new Float32Array(w.length))],
      ['state.h', () => ((t.state as Record<string, unknown>).h = new Float32Array(t.state.h!.length))],
    ];
    for (const [what, assign] of attempts) expect(assign, what).toThrow(TypeError);
    expect(t.params.weight_hh).toBe(w);
    t.hyper.lr = 0.5; // the settings themselves stay settable, each checked
    expect(t.hyper.lr).toBe(0.5);
  });

  it('grads and state are live views; lossAndGrad changes no parameter', () => {
    const t = sgd.createTrainer();
    const g = t.grads.weight_ih!, s = t.state.h!;
    const before = arr(t.exportParams());
    const e1 = envOf(cE, t, T, 2);
    t.lossAndGrad(batchOf(cE, e1, 'f32'));
    const ref1 = reference(cE, T, FULL, e1);
    expect(t.grads.weight_ih).toBe(g);
    expect(scaledErr(g, ref1.grad_weight_ih!.data)).toBeLessThan(1e-4);
    expect(scaledErr(s, ref1.h!.data)).toBeLessThan(1e-4);
    // writing the state view sets the initial state of the next call
    s.set([0.5, -0.25, 0.125, -0.5, 0.25, 0.75]);
    const e2 = envOf(cE, t, T, 3);
    const l2 = t.lossAndGrad(batchOf(cE, e2, 'f32'));
    const ref2 = reference(cE, T, FULL, e2);
    expect(scaledErr([l2], ref2.loss!.data)).toBeLessThan(1e-4);
    expect(scaledErr(g, ref2.grad_weight_ih!.data)).toBeLessThan(1e-4);
    expect(arr(t.exportParams())).toEqual(before);
  });

  it('state carries across calls (two half-sequences = one sequence cut in two windows) until resetState()', () => {
    const t = sgd.createTrainer();
    // one sequence of 2T steps from a zero state, fed as two batches of T steps
    const env = randomEnv(cE, 2 * T, 4, { f32: true });
    for (const p of cE.params) env[p.name]!.data.set(t.params[p.name]!);
    env.h!.data.fill(0);
    const half = (k: 0 | 1): GenBatch => ({
      inputs: { x: Float32Array.from(env.x!.data.subarray(k * T * B * X, (k + 1) * T * B * X)) },
      targets: Int32Array.from(env.target!.data.subarray(k * T * B, (k + 1) * T * B)),
    });
    const l1 = t.lossAndGrad(half(0));
    const g1 = flatGrads(t);
    const l2 = t.lossAndGrad(half(1));
    const g2 = flatGrads(t);
    // the whole sequence with truncation at T: its loss is the mean of the halves' losses, its
    // gradient the mean of theirs (the state carried without gradient), its final state the same
    const ref = reference(cE, 2 * T, { k1: T, k2: T }, env);
    expect(scaledErr([(l1 + l2) / 2], ref.loss!.data)).toBeLessThan(1e-4);
    const refG = Float64Array.from(cE.params.flatMap((p) => arr(ref[`grad_${p.name}`]!.data)));
    expect(scaledErr(g1.map((v, i) => (v + g2[i]!) / 2), refG)).toBeLessThan(1e-4);
    expect(scaledErr(t.state.h!, ref.h!.data)).toBeLessThan(1e-4);
    // and a fresh start would give another second half: the carry matters
    const t2 = sgd.createTrainer();
    expect(Math.abs(t2.lossAndGrad(half(1)) - l2)).toBeGreaterThan(1e-4);

    t.resetState();
    expect(arr(t.state.h!)).toEqual(new Array(B * H).fill(0));
    expect(t.lossAndGrad(half(0))).toBe(l1);
    expect(arr(flatGrads(t))).toEqual(arr(g1));
  });

  it('predict never touches the training state: it starts from zeros (or a given state) and can return the final state; step carries the state', () => {
    const t = sgd.createTrainer();
    const env = envOf(cE, t, T, 5);
    const batch = batchOf(cE, env, 'f32');
    t.state.h!.set(t.state.h!.map((_, i) => Math.sin(i + 1) / 2)); // a state that is not zero
    const s0 = Float32Array.from(t.state.h!);
    t.lossAndGrad(batch);
    const afterLG = Float32Array.from(t.state.h!);
    t.state.h!.set(s0);
    const final: Record<string, Float32Array | Float64Array> = {};
    const fromS0 = t.predict(batch.inputs, undefined, { state: { h: s0 }, final });
    expect(arr(t.state.h!)).toEqual(arr(s0)); // the training state is as it was
    expect(arr(final.h!)).toEqual(arr(afterLG)); // the same forward pass, the same final state
    expect(fromS0.length).toBe(T * B * Y);
    // without a state: from zeros, whatever the training state is, and again the same on a second call
    const fromZero = t.predict(batch.inputs);
    expect(arr(t.state.h!)).toEqual(arr(s0));
    t.resetState();
    const afterReset = t.predict(batch.inputs);
    expect(arr(fromZero)).toEqual(arr(afterReset));
    expect(arr(fromZero)).not.toEqual(arr(fromS0));
    t.state.h!.set(s0);
    const p0 = arr(t.exportParams());
    t.step(batch);
    expect(arr(t.state.h!)).toEqual(arr(afterLG)); // the forward pass of step ran at the old params
    expect(arr(t.exportParams())).not.toEqual(p0);
  });
});

describe('predict into a given array', () => {
  it('predict(inputs, out) writes the logits into out and returns it; without out, a fresh copy each call', () => {
    const t = sgd.createTrainer({ seed: 21 }), twin = sgd.createTrainer({ seed: 21 });
    const inputs = batchOf(cE, randomEnv(cE, T, 22, { f32: true }), 'f32').inputs;
    const out = new Float32Array(T * B * Y).fill(NaN);
    for (const call of [1, 2]) {
      // the same out for both calls: the second overwrites the first, from the advanced state
      const fresh = twin.predict(inputs);
      const got = t.predict(inputs, out);
      expect(got, `call ${call}`).toBe(out);
      expect(arr(out), `call ${call}`).toEqual(arr(fresh));
      expect(arr(t.state.h!), `call ${call}`).toEqual(arr(twin.state.h!));
    }
    // the default stays a copy: a new array per call that later calls leave alone
    const a = twin.predict(inputs), kept = arr(a);
    const b = twin.predict(inputs);
    expect(b).not.toBe(a);
    expect(arr(a)).toEqual(kept);
  });

  it('a float64 module writes into a Float64Array and rejects a Float32Array', async () => {
    const mod = (await compileAndLoad(cE, { seq: T, float: 'f64' })).mod;
    const t = mod.createTrainer({ seed: 23 }), twin = mod.createTrainer({ seed: 23 });
    const inputs = batchOf(cE, randomEnv(cE, T, 24), 'f64').inputs;
    const out = new Float64Array(T * B * Y);
    expect(t.predict(inputs, out)).toBe(out);
    expect(arr(out)).toEqual(arr(twin.predict(inputs)));
    const before = snapshot(t);
    expect(() => t.predict(inputs, new Float32Array(T * B * Y) as unknown as Float64Array)).toThrow(/predict: out must be a Float64Array of 32 values \[4, 2, 4\], got Float32Array of 32 values/);
    expect(snapshot(t)).toEqual(before);
  }, 20_000);

  it("a bad out is a clear error naming 'out', the expected and the actual length; nothing changes", () => {
    const t = sgd.createTrainer({ seed: 25 });
    const batch = batchOf(cE, randomEnv(cE, T, 26, { f32: true }), 'f32');
    t.lossAndGrad(batch); // nonzero grads and state
    const n = T * B * Y;
    const cases: [string, unknown, RegExp][] = [
      ['too short', new Float32Array(n - 1), new RegExp(`predict: out has ${n - 1} values, expected ${n} \\[4, 2, 4\\]`)],
      ['too long', new Float32Array(n + 3), new RegExp(`predict: out has ${n + 3} values, expected ${n}`)],
      ['a Float64Array', new Float64Array(n), new RegExp(`predict: out must be a Float32Array of ${n} values \\[4, 2, 4\\], got Float64Array of ${n} values`)],
      ['a plain array', new Array(n).fill(0), new RegExp(`predict: out must be a Float32Array of ${n} values.*got an array of ${n} values`)],
      ['null', null, /predict: out must be a Float32Array.*got null/],
    ];
    for (const [what, out, msg] of cases) {
      const before = snapshot(t);
      expect(() => t.predict(batch.inputs, out as Float32Array), what).toThrow(msg);
      expect(snapshot(t), what).toEqual(before);
    }
    // the inputs are checked first, as without out
    expect(() => t.predict({ x: new Float32Array(3) }, new Float32Array(n - 1))).toThrow(/inputs\.x has 3 values/);
  });
});

describe('seeded init', () => {
  it('is reproducible: same seed, same parameters; another seed, others; default = spec.seed', () => {
    for (const mod of [sgd, tokens, initMod]) {
      const a = arr(mod.createTrainer({ seed: 7 }).exportParams());
      expect(arr(mod.createTrainer({ seed: 7 }).exportParams())).toEqual(a);
      expect(arr(mod.createTrainer({ seed: 8 }).exportParams())).not.toEqual(a);
      expect(arr(mod.createTrainer().exportParams())).toEqual(arr(mod.createTrainer({ seed: mod.spec.seed }).exportParams()));
    }
  });

  it("PyTorch's uniform init for the stock cells: |w| <= 1/sqrt(H), spread over the range", () => {
    const bound = 1 / Math.sqrt(H);
    for (const seed of [1, 2, 3]) {
      const t = sgd.createTrainer({ seed });
      let max = 0, sum = 0;
      for (const [name, v] of Object.entries(t.params)) {
        for (const w of v) {
          expect(Math.abs(w), name).toBeLessThanOrEqual(bound * (1 + 1e-7));
          max = Math.max(max, Math.abs(w));
          sum += w;
        }
      }
      expect(max).toBeGreaterThan(0.8 * bound);
      expect(Math.abs(sum / NP)).toBeLessThan(0.3 * bound);
    }
  });

  it("IRNN: weight_hh is the identity, biases are zero, weight_ih is nn.RNN's U(±1/√H); init.normal(0.001) has that standard deviation", () => {
    const t = irnnMod.createTrainer({ seed: 3 });
    const n = 8;
    const eye = Array.from({ length: n * n }, (_, i) => (Math.floor(i / n) === i % n ? 1 : 0));
    expect(arr(t.params.weight_hh!)).toEqual(eye);
    expect(arr(t.params.bias_ih!)).toEqual(new Array(n).fill(0));
    expect(arr(t.params.bias_hh!)).toEqual(new Array(n).fill(0));
    const u = arr(t.params.weight_ih!), bound = 1 / Math.sqrt(n);
    expect(Math.max(...u.map(Math.abs))).toBeLessThanOrEqual(bound * (1 + 1e-7));
    expect(Math.max(...u.map(Math.abs))).toBeGreaterThan(0.7 * bound);
    const w = arr(initMod.createTrainer({ seed: 3 }).params.weight_nx!);
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    expect(std).toBeGreaterThan(0.0005);
    expect(std).toBeLessThan(0.002);
    expect(Math.max(...w.map(Math.abs))).toBeLessThan(0.006);
  });

  it('orthogonal: each square block has orthonormal rows (times the gain); Xavier: |w| <= sqrt(6/(fan_in+fan_out)); zeros', () => {
    for (const seed of [1, 2]) {
      const t = initMod.createTrainer({ seed });
      const nx = 3, nh = 4;
      const rowsDot = (m: Float32Array | Float64Array, cols: number, r: number, q: number) => {
        let d = 0;
        for (let j = 0; j < cols; j++) d += m[r * cols + j]! * m[q * cols + j]!;
        return d;
      };
      // weight_hh [2H, H]: rows 0..H-1 and H..2H-1 are each an orthogonal matrix
      const whh = t.params.weight_hh!;
      for (const block of [0, 1]) {
        for (let r = 0; r < nh; r++) {
          for (let q = 0; q < nh; q++) {
            expect(rowsDot(whh, nh, block * nh + r, block * nh + q), `weight_hh block ${block} (${r}, ${q})`).toBeCloseTo(r === q ? 1 : 0, 5);
          }
        }
      }
      // not simply the identity
      expect(Math.abs(whh[0]!)).toBeLessThan(0.999);
      // weight_xh [H, X + H], gain 2: W W^T = 4 I
      const wxh = t.params.weight_xh!;
      for (let r = 0; r < nh; r++) {
        for (let q = 0; q < nh; q++) expect(rowsDot(wxh, nx + nh, r, q), `weight_xh (${r}, ${q})`).toBeCloseTo(r === q ? 4 : 0, 4);
      }
      const bound = Math.sqrt(6 / (nx + nh));
      const wih = arr(t.params.weight_ih!);
      for (const w of wih) expect(Math.abs(w)).toBeLessThanOrEqual(bound * (1 + 1e-7));
      expect(Math.max(...wih.map(Math.abs))).toBeGreaterThan(0.5 * bound);
      expect(arr(t.params.bias!)).toEqual(new Array(nh).fill(0));
    }
  });

  it('scaledIdentity(0.5): 0.5 on the diagonal of each square block, 0 elsewhere, whatever the seed', () => {
    const nh = 4;
    for (const seed of [1, 2]) {
      const wid = initMod.createTrainer({ seed }).params.weight_id!;
      expect(wid.length).toBe(2 * nh * nh);
      // weight_id [2H, H]: row r, column j is in block floor(r / H) at (r mod H, j)
      for (let r = 0; r < 2 * nh; r++) {
        for (let j = 0; j < nh; j++) expect(wid[r * nh + j], `weight_id (${r}, ${j})`).toBe(r % nh === j ? 0.5 : 0);
      }
    }
    expect(initMod.spec.params.weight_id).toEqual([2 * nh, nh]);
  });

  it('embedding ~ N(0, 1) (nn.Embedding)', () => {
    const w = arr(tokens.createTrainer({ seed: 5 }).params.embedding!);
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    expect(std).toBeGreaterThan(0.4);
    expect(std).toBeLessThan(2);
  });
});

/** lossAndGrad at the trainer's current params and state (the state is put back afterwards). */
function gradAt(t: GenTrainer, batch: GenBatch): { loss: number; g: Float64Array } {
  const s = copyRecord(t.state);
  const loss = t.lossAndGrad(batch);
  const g = flatGrads(t);
  for (const [k, v] of Object.entries(s)) t.state[k]!.set(v);
  return { loss, g };
}

describe('optimizers', () => {
  const batches = (seed: number) => [1, 2].map((k) => batchOf(cE, randomEnv(cE, T, seed + k, { f32: true }), 'f32'));

  it('SGD: one step is params - lr * grad, the gradient lossAndGrad gives on the same batch and state', () => {
    const t = sgd.createTrainer({ seed: 4 });
    t.state.h!.set([0.1, -0.2, 0.3, 0.4, -0.5, 0.6]);
    const [batch] = batches(10);
    const { loss, g } = gradAt(t, batch!);
    const p0 = t.exportParams();
    expect(t.step(batch!)).toBe(loss);
    const want = Float32Array.from(p0, (p, i) => p - 0.1 * g[i]!);
    expect(arr(t.exportParams())).toEqual(arr(want));
    // hyper is live
    t.hyper.lr = 0.5;
    const { g: g2 } = gradAt(t, batch!);
    const p1 = t.exportParams();
    t.step(batch!);
    expect(arr(t.exportParams())).toEqual(arr(Float32Array.from(p1, (p, i) => p - 0.5 * g2[i]!)));
  });

  it('momentum (PyTorch form: m = mu m + g, p -= lr m) over two steps', () => {
    const t = momentum.createTrainer({ seed: 5, momentum: 0.8 });
    expect(t.hyper.momentum).toBe(0.8);
    const m = new Float64Array(NP);
    let prevSgd = 0;
    for (const batch of batches(20)) {
      const { g } = gradAt(t, batch);
      const p0 = t.exportParams();
      t.step(batch);
      const p1 = t.exportParams();
      let err = 0;
      prevSgd = 0;
      for (let i = 0; i < NP; i++) {
        m[i] = 0.8 * m[i]! + g[i]!;
        err = Math.max(err, Math.abs(p1[i]! - (p0[i]! - 0.1 * m[i]!)));
        prevSgd = Math.max(prevSgd, Math.abs(p1[i]! - (p0[i]! - 0.1 * g[i]!)));
      }
      expect(err).toBeLessThan(1e-6);
    }
    // the second update is not plain SGD: the velocity carries the first gradient
    expect(prevSgd).toBeGreaterThan(1e-3);
  });

  it('Adam (bias-corrected) over two steps', () => {
    const t = adam.createTrainer({ seed: 6, beta1: 0.8, beta2: 0.99, eps: 1e-6 });
    const lr = 0.01, b1 = 0.8, b2 = 0.99, eps = 1e-6;
    const m = new Float64Array(NP), v = new Float64Array(NP);
    let k = 0;
    for (const batch of batches(30)) {
      k++;
      const { g } = gradAt(t, batch);
      const p0 = t.exportParams();
      t.step(batch);
      const p1 = t.exportParams();
      let err = 0, moved = 0;
      for (let i = 0; i < NP; i++) {
        m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
        v[i] = b2 * v[i]! + (1 - b2) * g[i]! * g[i]!;
        const want = p0[i]! - (lr * m[i]! / (1 - b1 ** k)) / (Math.sqrt(v[i]! / (1 - b2 ** k)) + eps);
        err = Math.max(err, Math.abs(p1[i]! - want));
        moved = Math.max(moved, Math.abs(p1[i]! - p0[i]!));
      }
      expect(err).toBeLessThan(1e-6);
      expect(moved).toBeGreaterThan(0.5 * lr); // Adam's first steps move by about lr
    }
  });

  it('clipping by the global norm scales the whole gradient to `clip`, and leaves a smaller one alone', () => {
    const [batch] = batches(40);
    for (const how of ['hyper', 'option'] as const) {
      const t = how === 'option' ? sgd.createTrainer({ seed: 7, lr: 1, clip: 0.05 }) : sgd.createTrainer({ seed: 7, lr: 1 });
      if (how === 'hyper') t.hyper.clip = 0.05;
      const { g } = gradAt(t, batch!);
      const gn = norm(g);
      expect(gn).toBeGreaterThan(0.2); // so that 0.05 clips
      const p0 = t.exportParams();
      t.step(batch!);
      const d = Float64Array.from(t.exportParams(), (p, i) => p0[i]! - p);
      expect(Math.abs(norm(d) - 0.05) / 0.05, how).toBeLessThan(1e-4);
      // the direction is the gradient's
      expect(scaledErr(d, g.map((x) => (x * 0.05) / gn), 0)).toBeLessThan(1e-4);
    }
    // a norm below clip: a plain SGD step
    const t = sgd.createTrainer({ seed: 7, lr: 1 });
    const { g } = gradAt(t, batch!);
    t.hyper.clip = 2 * norm(g);
    const p0 = t.exportParams();
    t.step(batch!);
    expect(arr(t.exportParams())).toEqual(arr(Float32Array.from(p0, (p, i) => p - g[i]!)));
  });
});

describe('truncated BPTT in step: an update after each window (vs the hand-written oracle)', () => {
  const x3 = 3, h4 = 4, y3 = 3, b2 = 2, T7 = 7, K = 3, LR = 0.5;
  const c = () => traceCell(elman, { sizes: { X: x3, H: h4, Y: y3 }, batch: b2 });
  for (const float of ['f64', 'f32'] as const) {
    it(`${float}: step with truncate ${K} over T = ${T7} equals windowSteps with an SGD update per window`, async () => {
      const cell7 = c();
      const mod = (await compileAndLoad(cell7, { seq: T7, truncation: { k1: K, k2: K }, float, optimizer: defaultOptimizer('sgd', LR) })).mod;
      const t = mod.createTrainer({ seed: 11 });
      const rand = rng(99);
      const x = Float64Array.from({ length: T7 * b2 * x3 }, () => 2 * rand() - 1).map((v) => (float === 'f32' ? Math.fround(v) : v));
      const targets = Int32Array.from({ length: T7 * b2 }, () => Math.floor(rand() * y3));
      const h0 = Float64Array.from({ length: b2 * h4 }, () => rand() - 0.5).map((v) => (float === 'f32' ? Math.fround(v) : v));
      t.state.h!.set(h0);
      const start = Object.fromEntries(PARAM_NAMES.map((n) => [n, Float64Array.from(t.params[n]!)])) as unknown as ElmanParams;

      // lossAndGrad: the windows' contributions summed, no update in between
      const lg = oracleLossAndGrad(start, x, targets, h0, { k: K });
      const F = float === 'f32' ? Float32Array : Float64Array;
      const batch: GenBatch = { inputs: { x: F.from(x) }, targets };
      const tol = float === 'f32' ? 1e-4 : 1e-10;
      expect(scaledErr([t.lossAndGrad(batch)], [lg.loss])).toBeLessThan(tol);
      for (const n of PARAM_NAMES) expect(scaledErr(t.grads[n]!, lg.grads[n]), `lossAndGrad grad ${n}`).toBeLessThan(tol);
      t.state.h!.set(h0);

      // step: SGD after each window, from that window's mean loss
      const p = Object.fromEntries(PARAM_NAMES.map((n) => [n, Float64Array.from(start[n])])) as unknown as ElmanParams;
      const windows = windowSteps(p, x, targets, h0, { k: K }, (g) => {
        for (const n of PARAM_NAMES) for (let i = 0; i < p[n].length; i++) p[n][i] -= LR * g[n][i]!;
      });
      expect(windows.map((w) => [w.start, w.end])).toEqual([[0, 3], [3, 6], [6, 7]]);
      const loss = t.step(batch);
      const wantLoss = windows.reduce((s, w) => s + w.loss * (w.end - w.start), 0) / T7;
      expect(scaledErr([loss], [wantLoss])).toBeLessThan(tol);
      for (const n of PARAM_NAMES) expect(scaledErr(t.params[n]!, p[n]), `param ${n}`).toBeLessThan(tol);
      expect(scaledErr(t.state.h!, windows[windows.length - 1]!.h)).toBeLessThan(tol);

      // the per-window updates matter: one update with lossAndGrad's gradient lands elsewhere
      let apart = 0;
      for (const n of PARAM_NAMES) apart = Math.max(apart, scaledErr(p[n].map((_, i) => start[n][i]! - LR * lg.grads[n][i]!), p[n]));
      expect(apart).toBeGreaterThan(1e-3);
    }, 20_000);
  }

  /*
   * The general form k1:k2 (docs/truncation.md, "The windows"): windows end every k1 steps and reach k2 - k1
   * steps of history back; in step, each window updates the parameters, and the next window re-runs
   * its history at the new parameters from the state the window before handed on.
   * Tolerances: in float64 the generated code and the oracle do the same arithmetic up to the order
   * of the sums (about 1e-16 relative per operation, 1e-15 over a window); four SGD updates with
   * lr 0.5 and two calls compound that to a measured ~1e-15. We allow 1e-12 of each tensor's scale
   * (scaledErr with a 1e-9 floor): 1000x the measured error, while a window that ran over the wrong
   * steps, lost its history or started from the wrong state moves a parameter by > 1e-3 (checked below).
   * float32: the trainer stores every value in float32 (2^-24 per store) against the oracle's float64,
   * so 1e-4 as in the other float32 tests.
   */
  const GENERAL: { spec: string; float: 'f64' | 'f32'; windows: [number, number, number][] }[] = [
    // [first step run, first loss step, end]
    { spec: '2:3', float: 'f64', windows: [[0, 0, 2], [1, 2, 4], [3, 4, 6], [5, 6, 7]] },
    { spec: '3:5', float: 'f64', windows: [[0, 0, 3], [1, 3, 6], [4, 6, 7]] },
    // more history (3 steps) than steps per window (2): the second window starts at 0 again, from h0
    { spec: '2:5', float: 'f64', windows: [[0, 0, 2], [0, 2, 4], [1, 4, 6], [3, 6, 7]] },
    { spec: '2:3', float: 'f32', windows: [[0, 0, 2], [1, 2, 4], [3, 4, 6], [5, 6, 7]] },
  ];
  for (const { spec, float, windows: shape } of GENERAL) {
    it(`${float}: truncate ${spec} over T = ${T7}: lossAndGrad and two steps equal the k1:k2 oracle with SGD per window`, async () => {
      const [k1, k2] = spec.split(':').map(Number) as [number, number];
      const cell7 = c();
      const mod = (await compileAndLoad(cell7, { seq: T7, truncation: { k1, k2 }, float, optimizer: defaultOptimizer('sgd', LR) })).mod;
      expect(mod.spec.truncate).toEqual({ k1, k2 });
      const t = mod.createTrainer({ seed: 12 });
      const rand = rng(100 + k2);
      const round = (v: number) => (float === 'f32' ? Math.fround(v) : v);
      const x = Float64Array.from({ length: T7 * b2 * x3 }, () => round(2 * rand() - 1));
      const targets = Int32Array.from({ length: T7 * b2 }, () => Math.floor(rand() * y3));
      const h0 = Float64Array.from({ length: b2 * h4 }, () => round(rand() - 0.5));
      t.state.h!.set(h0);
      const start = Object.fromEntries(PARAM_NAMES.map((n) => [n, Float64Array.from(t.params[n]!)])) as unknown as ElmanParams;
      const F = float === 'f32' ? Float32Array : Float64Array;
      const batch: GenBatch = { inputs: { x: F.from(x) }, targets };
      const tol = float === 'f32' ? 1e-4 : 1e-12, floor = float === 'f32' ? 1e-3 : 1e-9;
      const close = (a: ArrayLike<number>, b: ArrayLike<number>) => scaledErr(a, b, floor);
      const errs: number[] = [];
      const expectClose = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
        const e = close(a, b);
        errs.push(e);
        expect(e, what).toBeLessThan(tol);
      };

      // lossAndGrad: the windows' contributions at fixed parameters, summed; the final state
      const lg = lossAndGradK1K2(start, x, targets, h0, { k1, k2 });
      expectClose([t.lossAndGrad(batch)], [lg.loss], 'lossAndGrad loss');
      for (const n of PARAM_NAMES) expectClose(t.grads[n]!, lg.grads[n], `lossAndGrad grad ${n}`);
      expectClose(t.state.h!, lg.h, 'lossAndGrad state');
      expect(arr(t.exportParams())).toEqual(PARAM_NAMES.flatMap((n) => arr(F.from(start[n]))));
      // the oracle's step form, with no update, sums to the same (its windows are lossAndGradK1K2's)
      const fixed = windowStepsK1K2(start, x, targets, h0, { k1, k2 });
      expect(fixed.map((w) => [w.start, w.lossFrom, w.end])).toEqual(shape);
      for (const n of PARAM_NAMES) {
        const sum = new Float64Array(lg.grads[n].length);
        for (const w of fixed) for (let i = 0; i < sum.length; i++) sum[i] += (w.grads[n][i]! * (w.end - w.lossFrom)) / T7;
        expect(scaledErr(sum, lg.grads[n], 1e-9), `oracle: windows sum to lossAndGradK1K2, ${n}`).toBeLessThan(1e-13);
      }

      // step, twice from the carried state: SGD after each window, from that window's mean loss
      t.state.h!.set(h0);
      const p = Object.fromEntries(PARAM_NAMES.map((n) => [n, Float64Array.from(start[n])])) as unknown as ElmanParams;
      const sgdUpdate = (g: Record<string, Float64Array>) => {
        for (const n of PARAM_NAMES) for (let i = 0; i < p[n].length; i++) p[n][i] -= LR * g[n]![i]!;
      };
      let h: Float64Array = h0;
      for (const call of [1, 2]) {
        const ws = windowStepsK1K2(p, x, targets, h, { k1, k2 }, sgdUpdate);
        const wantLoss = ws.reduce((s, w) => s + w.loss * (w.end - w.lossFrom), 0) / T7;
        h = ws[ws.length - 1]!.carry;
        expectClose([t.step(batch)], [wantLoss], `step ${call}: loss`);
        for (const n of PARAM_NAMES) expectClose(t.params[n]!, p[n], `step ${call}: param ${n}`);
        expectClose(t.state.h!, h, `step ${call}: state`);
      }
      console.log(`truncate ${spec} ${float}: largest scaled error vs the oracle ${Math.max(...errs).toExponential(2)}`);

      // the test discriminates: windows of k1 without history (truncate k1), or one update per
      // call with lossAndGrad's gradient, land elsewhere
      const apart = (q: ElmanParams) => Math.max(...PARAM_NAMES.map((n) => close(q[n], p[n])));
      const copy = () => Object.fromEntries(PARAM_NAMES.map((n) => [n, Float64Array.from(start[n])])) as unknown as ElmanParams;
      const q1 = copy(), q2 = copy();
      let h1: Float64Array = h0, h2: Float64Array = h0;
      for (const _ of [1, 2]) {
        const ws = windowSteps(q1, x, targets, h1, { k: k1 }, (g) => {
          for (const n of PARAM_NAMES) for (let i = 0; i < q1[n].length; i++) q1[n][i] -= LR * g[n][i]!;
        });
        h1 = ws[ws.length - 1]!.h;
        const once = lossAndGradK1K2(q2, x, targets, h2, { k1, k2 });
        for (const n of PARAM_NAMES) for (let i = 0; i < q2[n].length; i++) q2[n][i] -= LR * once.grads[n][i]!;
        h2 = once.h;
      }
      expect(apart(q1)).toBeGreaterThan(1e-3);
      expect(apart(q2)).toBeGreaterThan(1e-3);
    }, 20_000);
  }
});

describe('parameter files', () => {
  it('saveParams / loadParams round-trips exactly', () => {
    const a = sgd.createTrainer({ seed: 1 }), b = sgd.createTrainer({ seed: 2 });
    const json = a.saveParams();
    const doc = JSON.parse(json);
    expect(doc).toMatchObject({ format: 'rnnc-params', cell: 'elman', sizes: { X, H, Y } });
    expect(doc.params.weight_hh.shape).toEqual([H, H]);
    expect(arr(b.exportParams())).not.toEqual(arr(a.exportParams()));
    b.loadParams(json);
    expect(arr(b.exportParams())).toEqual(arr(a.exportParams()));
    const batch = batchOf(cE, randomEnv(cE, T, 50, { f32: true }), 'f32');
    expect(b.lossAndGrad(batch)).toBe(a.lossAndGrad(batch));
  });

  it('exportParams / importParams: a flat copy in spec order, imported exactly; bad arrays rejected', () => {
    const a = sgd.createTrainer({ seed: 1 }), b = sgd.createTrainer({ seed: 2 });
    const flat = a.exportParams();
    expect(flat).toBeInstanceOf(Float32Array);
    expect(flat.length).toBe(NP);
    flat[0] = 123; // a copy, not a view
    expect(a.params.weight_ih![0]).not.toBe(123);
    flat[0] = a.params.weight_ih![0]!;
    b.importParams(flat);
    expect(arr(b.exportParams())).toEqual(arr(a.exportParams()));
    const before = arr(b.exportParams());
    const bad: [unknown, RegExp][] = [
      [new Float32Array(NP - 1), new RegExp(`${NP}.*36 values`)],
      [new Float64Array(NP), /Float32Array.*Float64Array/],
      [Array.from(flat), /Float32Array.*array/],
      [Float32Array.from(flat, (v, i) => (i === 5 ? NaN : v)), /non-finite/],
    ];
    for (const [v, msg] of bad) {
      expect(() => b.importParams(v as Float32Array)).toThrow(msg);
      expect(arr(b.exportParams())).toEqual(before);
    }
  });

  it('a corrupt or mismatched file is an error and the trainer keeps its parameters', async () => {
    const t = sgd.createTrainer({ seed: 3 });
    const good = JSON.parse(sgd.createTrainer({ seed: 4 }).saveParams());
    // another Elman trainer, of other sizes
    const other = (await compileAndLoad(traceCell(elman, { sizes: { X, H: H + 1, Y }, batch: B }), { seq: T })).mod;
    // every bad entry is the last parameter of the file, after good values for all the others:
    // nothing may be written before the whole file is checked
    const edit = (f: (d: { params: Record<string, { shape: unknown; data: unknown }> } & Record<string, unknown>) => void) => {
      const d = structuredClone(good);
      f(d);
      return JSON.stringify(d);
    };
    const cases: [string, string, RegExp[]][] = [
      ['not JSON', '{"format": "rnnc-params", ', [/not JSON/]],
      ['JSON, not a parameter file', '[1, 2, 3]', [/not an rnnc parameter file/]],
      ['another cell', initMod.createTrainer().saveParams(), [/'inits'/, /'elman'/]],
      ['the same cell, other sizes', other.createTrainer().saveParams(), [/weight_ih/, /shape \[4,2\]/, /expected \[3, 2\]/]],
      ['a missing parameter', edit((d) => delete d.params.out_bias), [/out_bias/, /missing/]],
      ['a wrong shape', edit((d) => (d.params.out_bias = { shape: [2, 2], data: [0, 0, 0, 0] })), [/out_bias/, /\[2,2\]/, /expected \[4\]/]],
      ['too few values', edit((d) => (d.params.out_bias!.data = [0, 0, 0])), [/out_bias/, /4 finite numbers/]],
      ['a non-number', edit((d) => ((d.params.out_bias!.data as unknown[])[1] = 'x')), [/out_bias/, /finite/]],
      // finite as a double, but +Infinity once stored in a float32 trainer
      ['a value beyond float32', edit((d) => ((d.params.out_bias!.data as number[])[2] = 1e39)), [/out_bias/, /finite/]],
      ['a non-finite value', edit((d) => ((d.params.out_bias!.data as number[])[1] = 1)).replace(/("out_bias":\{"shape":\[4\],"data":\[[^,]*,)1/, '$11e999'), [/out_bias/, /finite/]],
    ];
    const before = arr(t.exportParams());
    for (const [what, json, msgs] of cases) {
      if (what === 'a non-finite value') expect(json).toContain('1e999');
      let err: Error | undefined;
      try {
        t.loadParams(json);
      } catch (e) {
        err = e as Error;
      }
      expect(err, what).toBeInstanceOf(Error);
      for (const m of msgs) expect(err!.message, what).toMatch(m);
      expect(arr(t.exportParams()), what).toEqual(before);
    }
  }, 20_000);
});

describe('bad input: a clear error, and nothing changes', () => {
  /** Prime a trainer (nonzero grads and state), then check that `call` throws `msgs` and changes nothing. */
  function expectRejected(t: GenTrainer, call: () => unknown, msgs: RegExp[], what: string) {
    const before = snapshot(t);
    let err: Error | undefined;
    try {
      call();
    } catch (e) {
      err = e as Error;
    }
    expect(err, `${what}: no error`).toBeInstanceOf(Error);
    for (const m of msgs) expect(err!.message, what).toMatch(m);
    expect(snapshot(t), what).toEqual(before);
  }
  const primed = (mod: GenModule, c: TracedCell) => {
    const t = mod.createTrainer({ seed: 9 });
    const good = batchOf(c, randomEnv(c, T, 60, { f32: true }), 'f32');
    t.lossAndGrad(good);
    expect(flatGrads(t).some((v) => v !== 0)).toBe(true);
    expect(Object.values(t.state).some((s) => s.some((v) => v !== 0))).toBe(true);
    return { t, good };
  };

  it('dense input and class targets of the wrong type, length or range; missing fields', () => {
    const { t, good } = primed(sgd, cE);
    const x = good.inputs.x as Float32Array, y = good.targets as Int32Array;
    const n = T * B * X, m = T * B;
    const cases: [string, unknown, RegExp[]][] = [
      ['x too short', { inputs: { x: x.slice(1) }, targets: y }, [/inputs\.x/, new RegExp(`has ${n - 1} values, expected ${n}`), /\[4, 2, 2\]/]],
      ['x too long', { inputs: { x: new Float32Array(n + 2) }, targets: y }, [/inputs\.x/, new RegExp(`has ${n + 2} values, expected ${n}`)]],
      ['x as Float64Array', { inputs: { x: Float64Array.from(x) }, targets: y }, [/inputs\.x/, /must be a Float32Array/, new RegExp(`of ${n} values`), /got Float64Array/]],
      ['x as a plain array', { inputs: { x: Array.from(x) }, targets: y }, [/inputs\.x/, /Float32Array/, /got an array of 16 values/]],
      ['x missing', { inputs: {}, targets: y }, [/inputs\.x/, /Float32Array/, /got undefined/]],
      ['inputs missing', { targets: y }, [/inputs must be an object/, /got undefined/]],
      ['targets missing', { inputs: { x } }, [/targets/, /Int32Array/, /got undefined/]],
      ['targets as Float32Array', { inputs: { x }, targets: Float32Array.from(y) }, [/targets/, /must be a Int32Array/, new RegExp(`of ${m} values`), /got Float32Array/]],
      ['targets too short', { inputs: { x }, targets: y.slice(1) }, [/targets/, new RegExp(`has ${m - 1} values, expected ${m}`), /\[4, 2\]/]],
      ['a target = Y', { inputs: { x }, targets: Int32Array.from(y, (v, i) => (i === 5 ? Y : v)) }, [/targets\[5\] = 4/, /out of range \[0, 4\)/]],
      ['a negative target', { inputs: { x }, targets: Int32Array.from(y, (v, i) => (i === 0 ? -1 : v)) }, [/targets\[0\] = -1/, /out of range/]],
      ['not an object', null, [/batch must be \{ inputs, targets \}/, /got null/]],
    ];
    for (const [what, batch, msgs] of cases) {
      expectRejected(t, () => t.lossAndGrad(batch as GenBatch), msgs, `lossAndGrad, ${what}`);
      expectRejected(t, () => t.step(batch as GenBatch), msgs, `step, ${what}`);
      const inputs = (batch as GenBatch | null)?.inputs;
      // predict and evaluate take 1 to B sequences: a length that is no whole number of them is named as such
      const forward = /too short|too long/.test(what) ? [/^predict: inputs\.x has \d+ values, expected 8·n for n sequences \[4, n, 2\], n from 1 to 2$/] : msgs;
      if (inputs !== undefined && !/target/.test(what)) expectRejected(t, () => t.predict(inputs), forward, `predict, ${what}`);
    }
  });

  it('token inputs: Int32Array expected, ids below the vocabulary', () => {
    const { t, good } = primed(tokens, cTok);
    const x = good.inputs.x as Int32Array;
    expect(x).toBeInstanceOf(Int32Array);
    const cases: [string, unknown, RegExp[]][] = [
      ['tokens as Float32Array', Float32Array.from(x), [/inputs\.x/, /must be a Int32Array of 8 values/, /got Float32Array/]],
      ['tokens too short', x.slice(2), [/inputs\.x/, /has 6 values, expected 8/]],
      ['a token = V', Int32Array.from(x, (v, i) => (i === 3 ? 5 : v)), [/inputs\.x\[3\] = 5/, /out of range \[0, 5\)/]],
      ['a negative token', Int32Array.from(x, (v, i) => (i === 7 ? -2 : v)), [/inputs\.x\[7\] = -2/, /out of range/]],
    ];
    for (const [what, xs, msgs] of cases) {
      expectRejected(t, () => t.lossAndGrad({ inputs: { x: xs as Int32Array }, targets: good.targets }), msgs, `lossAndGrad, ${what}`);
      expectRejected(t, () => t.step({ inputs: { x: xs as Int32Array }, targets: good.targets }), msgs, `step, ${what}`);
      expectRejected(t, () => t.predict({ x: xs as Int32Array }), what === 'tokens too short' ? [/^predict: inputs\.x has 6 values, expected 4·n for n sequences \[4, n\], n from 1 to 2$/] : msgs, `predict, ${what}`);
    }
  });

  it('regression targets: a Float32Array of [B, Y] for an MSE loss on the last step', () => {
    const { t, good } = primed(mse, cMse);
    const y = good.targets as Float32Array;
    expect(y).toBeInstanceOf(Float32Array);
    expect(y.length).toBe(B * Y);
    expectRejected(t, () => t.step({ inputs: good.inputs, targets: Int32Array.from(y) }), [/targets/, /Float32Array of 8 values \[2, 4\]/, /got Int32Array/], 'Int32Array targets');
    expectRejected(t, () => t.step({ inputs: good.inputs, targets: new Float32Array(T * B * Y) }), [/targets/, /has 32 values, expected 8/], 'per-step targets');
  });
});

describe('a non-finite loss in step: an error, and parameters, optimizer state and state are restored', () => {
  const T5 = 5;
  const batchesOf = (seed: number) => batchOf(cE, randomEnv(cE, T5, seed, { f32: true }), 'f32');

  it('NaN in the last window of a truncated Adam step: the earlier windows\' updates are undone too', () => {
    const a = adamTrunc.createTrainer({ seed: 2 }), twin = adamTrunc.createTrainer({ seed: 2 });
    const g1 = batchesOf(70), g2 = batchesOf(71);
    a.step(g1), twin.step(g1); // nonzero moments and step count
    const bad: GenBatch = { inputs: { x: Float32Array.from(g2.inputs.x!, (v, i) => (i === 4 * B * X + 1 ? NaN : v)) }, targets: g2.targets };
    const before = snapshot(a);
    // windows 0 and 1 (steps 0..3) update the parameters before window 2 (step 4) meets the NaN
    expect(() => a.step(bad)).toThrow(/non-finite loss \(NaN\) in window 2 \(steps 4\.\.4\).*unchanged/);
    expect(arr(a.exportParams())).toEqual(before.P);
    expect(copyRecord(a.state)).toEqual(copyRecord(twin.state));
    expect(arr(a.exportParams())).toEqual(arr(twin.exportParams()));
    // the moments and the step count too: the next step is the twin's, bit for bit
    const la = a.step(g2), lt = twin.step(g2);
    expect(la).toBe(lt);
    expect(arr(a.exportParams())).toEqual(arr(twin.exportParams()));
    expect(copyRecord(a.state)).toEqual(copyRecord(twin.state));
  });

  it('a finite loss with a non-finite gradient (float32 overflow): an error; nothing changes', () => {
    // IRNN (ReLU, W_hh = I): inputs near float32's maximum keep the loss finite (~1e37), but
    // ∂loss/∂weight_ih = δ xᵀ overflows float32 once out_weight makes δ large
    const t = irnnMod.createTrainer({ seed: 1 });
    // weight_ih down to the 1e-3 scale (from U(±1/√8)), so that W_ih x itself stays finite
    for (let i = 0; i < t.params.weight_ih!.length; i++) t.params.weight_ih![i]! *= 0.003;
    for (let i = 0; i < t.params.out_weight!.length; i++) t.params.out_weight![i]! *= 100;
    const batch: GenBatch = { inputs: { x: new Float32Array(2 * 4).fill(3e38) }, targets: Int32Array.from([0, 1]) };
    const loss = t.lossAndGrad(batch);
    expect(Number.isFinite(loss)).toBe(true);
    expect(Array.from(t.grads.weight_ih!).some((v) => !Number.isFinite(v))).toBe(true);
    t.resetState();
    const before = snapshot(t);
    expect(() => t.step(batch)).toThrow(/step: non-finite gradient in window 0/);
    const after = snapshot(t);
    expect(after.P).toEqual(before.P);
    expect(after.S).toEqual(before.S);
  });

  it('an update that overflows the parameters (learning rate far too large): an error; nothing changes', () => {
    const t = adam.createTrainer({ seed: 4, lr: 1e39 }); // Adam moves each weight by about lr: beyond float32's range
    const batch = batchOf(cE, randomEnv(cE, T, 73, { f32: true }), 'f32');
    t.state.h!.set([0.5, 0.25, 0, -0.25, -0.5, 0.125]);
    const before = snapshot(t);
    expect(() => t.step(batch)).toThrow(/step: non-finite parameter after the update in window 0 .*learning rate/);
    const after = snapshot(t);
    expect(after.P).toEqual(before.P);
    expect(after.S).toEqual(before.S);
  });

  it('an infinite parameter: the loss is not finite; nothing changes', () => {
    const t = adam.createTrainer({ seed: 3 });
    const batch = batchOf(cE, randomEnv(cE, T, 72, { f32: true }), 'f32');
    t.step(batch);
    t.params.out_bias![1] = Infinity;
    t.state.h!.set([0.5, 0.25, 0, -0.25, -0.5, 0.125]);
    const before = snapshot(t);
    expect(() => t.step(batch)).toThrow(/step: non-finite loss/);
    const after = snapshot(t);
    expect(after.P).toEqual(before.P);
    expect(after.S).toEqual(before.S);
    // restoring the parameter makes the trainer usable again, with its optimizer state intact
    const twin = adam.createTrainer({ seed: 3 });
    twin.step(batch);
    t.params.out_bias![1] = twin.params.out_bias![1]!;
    t.state.h!.set(twin.state.h!);
    expect(t.step(batch)).toBe(twin.step(batch));
    expect(arr(t.exportParams())).toEqual(arr(twin.exportParams()));
  });
});

describe('float64 modules', () => {
  it("spec: dense inputs and regression targets say 'f64' (and accept f32 too); tokens and classes stay i32", async () => {
    const e64 = (await compileAndLoad(cE, { seq: T, float: 'f64' })).mod;
    const m64 = (await compileAndLoad(cMse, { seq: T, float: 'f64' })).mod;
    expect(e64.spec.inputs.x).toEqual({ dtype: 'f64', accepts: ['f64', 'f32'], shape: [T, B, X] });
    expect(e64.spec.target).toEqual({ dtype: 'i32', shape: [T, B], classes: Y });
    expect(m64.spec.inputs.x).toEqual({ dtype: 'f64', accepts: ['f64', 'f32'], shape: [T, B, X] });
    expect(m64.spec.target).toEqual({ dtype: 'f64', accepts: ['f64', 'f32'], shape: [B, Y] });
    // the float32 modules say f32 and accept only that
    expect(sgd.spec.inputs.x).toEqual({ dtype: 'f32', accepts: ['f32'], shape: [T, B, X] });
    expect(mse.spec.target).toEqual({ dtype: 'f32', accepts: ['f32'], shape: [B, Y] });
    // what the spec says is what the batch checks take: every accepted dtype passes, others fail
    const ARR = { f32: Float32Array, f64: Float64Array } as const;
    const env = randomEnv(cMse, T, 81, { f32: true });
    for (const [mod, spec] of [[m64, m64.spec], [mse, mse.spec]] as const) {
      const t = mod.createTrainer();
      const x = env.x!.data, y = env.target!.data;
      for (const dt of ['f32', 'f64'] as const) {
        const batch = { inputs: { x: ARR[dt].from(x) }, targets: ARR[dt].from(y) };
        const accepted = spec.inputs.x!.accepts!.includes(dt) && spec.target.accepts!.includes(dt);
        if (accepted) expect(Number.isFinite(t.lossAndGrad(batch)), `${spec.float} module, ${dt} batch`).toBe(true);
        else expect(() => t.lossAndGrad(batch), `${spec.float} module, ${dt} batch`).toThrow(/must be a Float32Array of/);
      }
      expect(spec.inputs.x!.dtype).toBe(spec.float);
      expect(spec.target.dtype).toBe(spec.float);
    }
  }, 20_000);

  it('take dense inputs as Float64Array or Float32Array, and reject other arrays', async () => {
    const mod = (await compileAndLoad(cE, { seq: T, float: 'f64' })).mod;
    const t = mod.createTrainer();
    const env = randomEnv(cE, T, 80, { f32: true });
    loadEnv(t, cE, env);
    const b64 = batchOf(cE, env, 'f64'), b32 = batchOf(cE, env, 'f32');
    const l64 = t.lossAndGrad(b64);
    loadEnv(t, cE, env);
    expect(t.lossAndGrad(b32)).toBe(l64);
    expect(t.params.weight_hh).toBeInstanceOf(Float64Array);
    expect(() => t.lossAndGrad({ inputs: { x: Int32Array.from(b64.inputs.x!) }, targets: b64.targets })).toThrow(/inputs\.x must be a Float32Array or Float64Array of 16 values.*got Int32Array/);
  }, 20_000);
});
