/**
 * The trainer API a practitioner runs experiments with (issue 11): predict and evaluate leave the
 * training state alone and take fewer sequences than the batch; checkpoints resume exactly and are
 * refused whole when they do not fit; hyper is checked in step; step reports its gradient norm;
 * cross-entropy over one class is refused; per-slice init; AdamW and RMSprop against PyTorch
 * (test/fixtures/optimizers.json). Each test fails without its fix.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import elman from '../examples/cells/elman.ts';
import lstm from '../examples/cells/lstm.ts';
import { defaultOptimizer } from '../src/compile.ts';
import { compile } from '../src/compile-module.ts';
import { cell } from '../src/dsl/cell.ts';
import { init, sigmoid, tanh } from '../src/dsl/index.ts';
import { traceCell } from '../src/dsl/trace.ts';
import { FIXTURE_DIR } from './fixtures/load.ts';
import { compileAndLoad, type GenBatch, type GenModule, type GenTrainer } from './trainer-helpers.ts';

const SIZES = { X: 2, H: 3, Y: 4 }, B = 3, T = 5;
const seqOf = (b: number, n: number, per: number, a: Float32Array | Int32Array) => {
  // sequences [b, b + n) of a [T, B, per] array, as [T, n, per]
  const out = new (a.constructor as Float32ArrayConstructor)(T * n * per);
  for (let t = 0; t < T; t++) out.set(a.subarray((t * B + b) * per, (t * B + b + n) * per), t * n * per);
  return out;
};
const batch = (seed: number): GenBatch => ({
  inputs: { x: Float32Array.from({ length: T * B * SIZES.X }, (_, i) => Math.sin(seed + 1.3 * i)) },
  targets: Int32Array.from({ length: T * B }, (_, i) => (i * 3 + seed) % SIZES.Y),
});

let adam: GenModule, mseLast: GenModule;
beforeAll(async () => {
  adam = (await compileAndLoad(traceCell(lstm, { sizes: SIZES, batch: B }), { seq: T, optimizer: defaultOptimizer('adam', 0.05), clip: 1 })).mod;
  mseLast = (await compileAndLoad(traceCell(elman, { sizes: SIZES, batch: B, loss: 'mse', lossOn: 'last' }), { seq: T, truncation: { k1: 2, k2: 2 } })).mod;
});

describe('predict and evaluate leave the training state alone', () => {
  it('the same trained model on the same batch scores the same whether or not resetState() was called', () => {
    const t = adam.createTrainer();
    for (let k = 0; k < 5; k++) t.step(batch(k));
    expect(Object.values(t.state).some((s) => s.some((v) => v !== 0))).toBe(true); // training left a state
    const held = batch(9);
    const before = Object.fromEntries(Object.entries(t.state).map(([k, v]) => [k, Array.from(v)]));
    const dirty = t.evaluate(held), logitsDirty = Array.from(t.predict(held.inputs));
    expect(Object.fromEntries(Object.entries(t.state).map(([k, v]) => [k, Array.from(v)]))).toEqual(before);
    t.resetState();
    expect(t.evaluate(held)).toBe(dirty);
    expect(Array.from(t.predict(held.inputs))).toEqual(logitsDirty);
  });

  it('evaluate is lossAndGrad\'s loss from a zero state, without a backward pass (grads untouched), also under truncation and a last-step MSE', () => {
    for (const mod of [adam, mseLast]) {
      const t = mod.createTrainer();
      const b = mod === adam ? batch(1) : { inputs: batch(1).inputs, targets: Float32Array.from({ length: B * SIZES.Y }, (_, i) => Math.cos(i)) };
      t.lossAndGrad(b);
      const grads = Object.values(t.grads).map((g) => Array.from(g));
      const e = t.evaluate(b);
      expect(Object.values(t.grads).map((g) => Array.from(g))).toEqual(grads);
      t.resetState();
      expect(Math.abs(e - t.lossAndGrad(b))).toBeLessThan(1e-6 * Math.abs(e));
    }
  });

  it('fewer sequences than the batch: each sequence gives its own rows of logits, and the mean loss is over the real sequences only', () => {
    const t = adam.createTrainer({ seed: 3 });
    const b = batch(2), x = b.inputs.x as Float32Array, y = b.targets as Int32Array;
    const all = t.predict(b.inputs);
    const one = t.predict({ x: seqOf(1, 1, SIZES.X, x) });
    expect(one.length).toBe(T * SIZES.Y);
    for (let s = 0; s < T; s++) for (let j = 0; j < SIZES.Y; j++) expect(one[s * SIZES.Y + j]).toBe(all[(s * B + 1) * SIZES.Y + j]);
    // every sequence has T positions: the batch's mean loss is the mean of the sequences' losses
    const each = [0, 1, 2].map((s) => t.evaluate({ inputs: { x: seqOf(s, 1, SIZES.X, x) }, targets: seqOf(s, 1, 1, y) }));
    expect(t.evaluate(b)).toBeCloseTo((each[0]! + each[1]! + each[2]!) / 3, 6);
    const two = t.evaluate({ inputs: { x: seqOf(0, 2, SIZES.X, x) }, targets: seqOf(0, 2, 1, y) });
    expect(two).toBeCloseTo((each[0]! + each[1]!) / 2, 6);
    // a state per sequence: options.state of n rows, options.final receives n rows
    const final: Record<string, Float32Array | Float64Array> = {};
    t.predict({ x: seqOf(0, 2, SIZES.X, x) }, undefined, { state: { h: new Float32Array(2 * SIZES.H).fill(0.5) }, final });
    expect(final.h!.length).toBe(2 * SIZES.H);
    expect(final.c!.length).toBe(2 * SIZES.H);
  });

  it('bad counts and states are refused, naming the field, and nothing changes', () => {
    const t = adam.createTrainer();
    const x = batch(0).inputs.x as Float32Array;
    expect(() => t.predict({ x: x.slice(0, T * SIZES.X * 2 + 1) })).toThrow(/^predict: inputs\.x has 21 values, expected 10·n for n sequences \[5, n, 2\], n from 1 to 3$/);
    expect(() => t.evaluate({ inputs: { x: seqOf(0, 2, SIZES.X, x) }, targets: new Int32Array(T * 3) })).toThrow(/^targets has 15 values, expected 10 \[5, 2\]$/);
    expect(() => t.predict({ x: seqOf(0, 2, SIZES.X, x) }, undefined, { state: { h: new Float32Array(3) } })).toThrow(/^predict: options\.state\.h has 3 values, expected 6 \[2, 3\]$/);
    expect(() => t.predict({ x }, undefined, { state: { q: new Float32Array(9) } } as never)).toThrow(/options\.state\.q is not a state of this trainer \(its states: h, c\)/);
    expect(() => t.evaluate(batch(0), { state: { h: new Float32Array(9).fill(NaN) } })).toThrow(/options\.state\.h has a non-finite value/);
  });
});

describe('checkpoints', () => {
  it('resume exactly: an Adam run saved after 3 steps and loaded into a fresh trainer continues as the uninterrupted run', () => {
    const a = adam.createTrainer(), b = adam.createTrainer({ seed: 77 });
    for (let k = 0; k < 3; k++) a.step(batch(k));
    a.hyper.lr = 0.02; // hyper travels too
    b.loadCheckpoint(a.saveCheckpoint());
    expect(b.hyper.lr).toBe(0.02);
    for (let k = 3; k < 6; k++) expect(b.step(batch(k))).toBe(a.step(batch(k)));
    expect(Array.from(b.exportParams())).toEqual(Array.from(a.exportParams()));
    expect(b.state).toEqual(a.state);
  });

  it('without the moments the run would differ (the check above means something)', () => {
    const a = adam.createTrainer(), b = adam.createTrainer();
    for (let k = 0; k < 3; k++) a.step(batch(k));
    b.importParams(a.exportParams()); // parameters only, as saveParams gave
    for (const [k, v] of Object.entries(a.state)) b.state[k]!.set(v);
    expect(b.step(batch(3))).toBe(a.step(batch(3))); // the same forward pass...
    expect(Array.from(b.exportParams())).not.toEqual(Array.from(a.exportParams())); // ...but Adam restarted its moments
  });

  it('a mismatched or corrupt checkpoint is refused whole: the trainer is exactly as it was', async () => {
    const a = adam.createTrainer();
    a.step(batch(0));
    const good = a.saveCheckpoint();
    const other = (await compileAndLoad(traceCell(lstm, { sizes: SIZES, batch: B }), { seq: T, optimizer: defaultOptimizer('rmsprop') })).mod.createTrainer();
    const wider = (await compileAndLoad(traceCell(lstm, { sizes: { ...SIZES, H: 4 }, batch: B }), { seq: T, optimizer: defaultOptimizer('adam') })).mod.createTrainer();
    const edit = (f: (d: { [k: string]: any }) => void) => { const d = JSON.parse(good); f(d); return JSON.stringify(d); }; // eslint-disable-line @typescript-eslint/no-explicit-any
    const t = adam.createTrainer({ seed: 5 });
    t.step(batch(1));
    const snap = () => JSON.stringify([Array.from(t.exportParams()), t.saveCheckpoint()]);
    const before = snap();
    const cases: [string, () => void, RegExp][] = [
      ['another optimizer', () => other.loadCheckpoint(good), /made for optimizer adam, this trainer's is rmsprop/],
      ['other sizes', () => wider.loadCheckpoint(good), /made for sizes \{"X":2,"H":3,"Y":4\}, this trainer has \{"X":2,"H":4,"Y":4\}/],
      ['not JSON', () => t.loadCheckpoint(good.slice(0, 100)), /^loadCheckpoint: not JSON/],
      ['a parameter file', () => t.loadCheckpoint(a.saveParams()), /not an rnnc checkpoint \(saveParams files load with loadParams\)/],
      ['another batch', () => t.loadCheckpoint(edit((d) => (d.spec.batch = 4))), /made for batch 4, this trainer has 3/],
      ['a short moment', () => t.loadCheckpoint(edit((d) => d.optimizer.v.data.pop())), /the optimizer's v needs \d+ finite numbers/],
      ['a NaN in the state', () => t.loadCheckpoint(edit((d) => (d.state.c.data[2] = 'NaN'))), /state 'c' needs 9 finite numbers/],
      ['a bad step count', () => t.loadCheckpoint(edit((d) => (d.optimizer.step = -1))), /step count -1 is not a non-negative integer/],
      ['a bad hyper', () => t.loadCheckpoint(edit((d) => (d.hyper.clip = 0))), /^loadCheckpoint: hyper: clip must be a positive number or null/],
    ];
    for (const [what, call, msg] of cases) {
      expect(call, what).toThrow(msg);
      expect(snap(), what).toBe(before);
    }
  });
});

describe('options, hyper and what step reports', () => {
  it('createTrainer refuses a bad weightDecay or alpha; trainer.hyper refuses a bad value where it is set, and the next step is untouched', () => {
    expect(() => adam.createTrainer({ weightDecay: -1 })).toThrow(/^createTrainer: weightDecay must be a non-negative number, got -1$/);
    expect(() => adam.createTrainer({ alpha: 1 })).toThrow(/^createTrainer: alpha must be in \[0, 1\), got 1$/);
    const t = adam.createTrainer();
    t.step(batch(0));
    const p = Array.from(t.exportParams());
    for (const [k, v, msg] of [['clip', 0, /^trainer\.hyper\.clip must be a positive number or null \(no clipping\), got 0$/], ['clip', -1, /clip must be/], ['lr', Infinity, /^trainer\.hyper\.lr must be a positive number, got Infinity$/], ['beta2', 1, /beta2 must be in \[0, 1\)/], ['weightDecay', -0.5, /^trainer\.hyper\.weightDecay must be a non-negative number, got -0\.5$/], ['alpha', 1, /^trainer\.hyper\.alpha must be in \[0, 1\), got 1$/]] as const) {
      const t2 = adam.createTrainer();
      expect(() => ((t2.hyper as Record<string, number>)[k] = v), `${k} = ${v}`).toThrow(msg);
      t2.step(batch(0));
      expect(Array.from(t2.exportParams())).toEqual(p);
    }
  });

  it('lastStep: the loss, the gradient norm before clipping (lossAndGrad\'s) and whether it clipped', () => {
    const t = adam.createTrainer();
    t.lossAndGrad(batch(0));
    const norm = Math.hypot(...Object.values(t.grads).flatMap((g) => Array.from(g)));
    t.resetState();
    t.hyper.clip = norm / 2;
    const loss = t.step(batch(0));
    expect(t.lastStep.loss).toBe(loss);
    expect(t.lastStep.gradNorm).toBeCloseTo(norm, 6);
    expect(t.lastStep.clipped).toBe(true);
    t.resetState();
    t.hyper.clip = null;
    t.step(batch(0));
    expect(t.lastStep.clipped).toBe(false);
  });
});

describe('the cell', () => {
  it('cross-entropy over one class is refused at compile time with the --loss mse hint (the library compile too)', async () => {
    const one = cell('one', { X: 2, H: 3, Y: 1 }, ({ X, H }, { input, state, param }) => {
      const x = input('x', [X]), h = state('h', [H]);
      const h1 = tanh(param('weight_ih', [H, X]).mv(x).add(param('weight_hh', [H, H]).mv(h)));
      return { next: { h: h1 }, output: h1 };
    });
    await expect(compile(one, { seq: 3 })).rejects.toThrow(/cell 'one': cross-entropy needs at least 2 classes, the readout has 1 \(Y=1\): for regression use --loss mse/);
    await expect(compile(one, { seq: 3, loss: 'mse' })).resolves.toBeDefined();
  });

  it('init.split: the forget gate\'s quarter of an LSTM bias at 1, the rest drawn as declared; recorded in spec.init', async () => {
    const H = 3;
    const forget1 = cell('lstm_f1', { X: 2, H, Y: 4 }, ({ X, H }, { input, state, param }) => {
      const x = input('x', [X]), h = state('h', [H]), c = state('c', [H]);
      const u = init.pytorch(H);
      const b = param('bias_ih', [4 * H], init.split([u, init.constant(1), u, u]));
      const [i, f, g, o] = param('weight_ih', [4 * H, X]).mv(x).add(b).add(param('weight_hh', [4 * H, H]).mv(h)).split(4);
      const c1 = sigmoid(f!).mul(c).add(sigmoid(i!).mul(tanh(g!)));
      return { next: { h: sigmoid(o!).mul(tanh(c1)), c: c1 }, output: c1 };
    });
    const mod = (await compileAndLoad(traceCell(forget1, { batch: 1 }), { seq: 2 })).mod;
    const bias = mod.createTrainer().params.bias_ih!;
    expect(Array.from(bias.subarray(H, 2 * H))).toEqual([1, 1, 1]);
    for (const k of [0, 2, 3]) for (const v of bias.subarray(k * H, (k + 1) * H)) expect(v !== 1 && Math.abs(v) <= 1 / Math.sqrt(H)).toBe(true);
    expect(mod.spec.init.bias_ih).toEqual({ kind: 'split', parts: [{ kind: 'uniform', bound: 1 / Math.sqrt(H) }, { kind: 'constant', value: 1 }, { kind: 'uniform', bound: 1 / Math.sqrt(H) }, { kind: 'uniform', bound: 1 / Math.sqrt(H) }] });
    const bad = cell('bad', { X: 2, H: 3, Y: 4 }, ({ X, H }, { input, state, param }) => {
      const x = input('x', [X]), h = state('h', [H]);
      const h1 = tanh(param('weight_ih', [H, X]).mv(x).add(param('bias', [H], init.split([init.zeros(), init.zeros()]))).add(param('weight_hh', [H, H]).mv(h)));
      return { next: { h: h1 }, output: h1 };
    });
    expect(() => traceCell(bad)).toThrow(/param 'bias' \[3\]: init\.split into 2 parts needs a first dimension divisible by 2/);
  });
});

describe('AdamW and RMSprop against torch.optim (test/fixtures/optimizers.json)', () => {
  interface Arr { shape: number[]; data: number[] }
  const f = JSON.parse(fs.readFileSync(path.join(FIXTURE_DIR, 'optimizers.json'), 'utf8')) as {
    sizes: { X: number; H: number; Y: number; B: number; T: number }; params: Record<string, Arr>; inputs: { x: Arr }; targets: Arr;
    runs: Record<'adamw' | 'rmsprop', { options: { lr: number; betas?: [number, number]; eps: number; weight_decay?: number; alpha?: number }; steps: { loss: number; params: Record<string, Arr> }[] }>;
  };
  for (const kind of ['adamw', 'rmsprop'] as const) {
    it(`${kind}: three steps give PyTorch's losses and parameters (float64)`, async () => {
      const { X, H, Y, B: b, T: t } = f.sizes, o = f.runs[kind].options;
      const mod = (await compileAndLoad(traceCell(elman, { sizes: { X, H, Y }, batch: b }), { seq: t, float: 'f64', optimizer: defaultOptimizer(kind) })).mod;
      const tr: GenTrainer = mod.createTrainer({ lr: o.lr, eps: o.eps, ...(o.betas ? { beta1: o.betas[0], beta2: o.betas[1] } : {}), ...(o.weight_decay !== undefined ? { weightDecay: o.weight_decay } : {}), ...(o.alpha !== undefined ? { alpha: o.alpha } : {}) });
      for (const [n, a] of Object.entries(f.params)) tr.params[n]!.set(a.data);
      const bt = { inputs: { x: Float64Array.from(f.inputs.x.data) }, targets: Int32Array.from(f.targets.data) };
      for (const s of f.runs[kind].steps) {
        tr.resetState(); // PyTorch runs each step from h0 = 0
        expect(Math.abs(tr.step(bt) - s.loss)).toBeLessThan(1e-12);
        for (const [n, a] of Object.entries(s.params)) {
          const got = tr.params[n]!;
          const err = Math.max(...a.data.map((v, i) => Math.abs(v - got[i]!)));
          expect(err, `${kind} ${n}`).toBeLessThan(1e-12);
        }
      }
    });
  }
});
