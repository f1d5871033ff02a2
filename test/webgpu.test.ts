/**
 * The WebGPU target on a real WebGPU implementation (Dawn on SwiftShader, test/webgpu-helpers.ts):
 * every stock cell and a custom one, full and truncated BPTT, an embedding, MSE on the last step,
 * each optimizer with and without clipping, against the TS target compiled from the same cell with
 * the same seed — the same initial parameters, then the loss, every gradient, and after three
 * steps the parameters, the state and the logits of predict. Then the rest of the trainer API
 * against the TS target: predict and evaluate (the training state untouched, a given start state,
 * the final state, partial batches), diagnose (the same figures, nothing changed, the same refusals), lastStep, checkpoints (resumed exactly, TS <-> WebGPU, refused
 * whole). Then the failures: rollback on a non-finite loss or update, bad batches, a device
 * without the limits, a lost device.
 *
 * Tolerance: both targets compute in float32 but sum in different orders (the TS host's norms and
 * Adam's bias corrections are float64 JavaScript numbers; a GPU's products accumulate in vec4
 * blocks), so values agree to a few float32 ulps of their scale per operation: 1e-4 of the scale
 * leaves two orders of margin over what is seen (~1e-6) and is still far below any real error
 * (a wrong index or a missed kernel changes values at the scale itself).
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import elman from '../examples/cells/elman.ts';
import gru from '../examples/cells/gru.ts';
import lstm from '../examples/cells/lstm.ts';
import bilstm from '../examples/cells/bilstm.ts';
import mgu from '../examples/cells/mgu.ts';
import { persistentLoop } from '../codegen/wgsl/persistent.ts';
import type { Loop } from '../codegen/schedule/types.ts';
import { defaultOptimizer, type CompileOptions } from '../src/compile.ts';
import { cell, concat, sigmoid, tanh } from '../src/dsl/index.ts';
import { traceCell, type TracedCell } from '../src/dsl/trace.ts';
import { batchOf, compileAndLoad, randomEnv, scaledErr, type Diagnosis, type GenBatch, type GenTrainer } from './trainer-helpers.ts';
import { compileGpu, gpuDevice, type GpuTrainer } from './webgpu-helpers.ts';

const TOL = 1e-4;
const sizes = { X: 3, H: 5, Y: 4 };
const B = 2;

// a cell of the user's own: two gates from one product, a concat, a sigmoid-gated tanh
const custom = cell('custom', { X: 3, H: 4, Y: 3 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W = param('weight', [2 * H, X + H]);
  const b = param('bias', [2 * H]);
  const [a, g] = W.mv(concat(x, h)).add(b).split(2);
  const h1 = tanh(a!).mul(sigmoid(g!));
  return { next: { h: h1 }, output: h1 };
});
const mseLast = cell('elman_mse_last', elman.sizes, elman.step, { loss: 'mse', lossOn: 'last' });

const t = (def: Parameters<typeof traceCell>[0], extra: Parameters<typeof traceCell>[1] = {}) => traceCell(def, { sizes, batch: B, ...extra });
const cases: readonly (readonly [string, TracedCell, CompileOptions])[] = [
  ['elman, full BPTT, SGD', t(elman), { seq: 5, optimizer: defaultOptimizer('sgd', 0.1) }],
  ['lstm, truncated 2:3, momentum, clip', t(lstm), { seq: 7, truncation: { k1: 2, k2: 3 }, optimizer: defaultOptimizer('momentum', 0.05), clip: 0.5 }],
  ['gru, truncated 2, Adam, clip', t(gru), { seq: 5, truncation: { k1: 2, k2: 2 }, optimizer: defaultOptimizer('adam', 0.01), clip: 0.3 }],
  ['mgu, Adam', t(mgu), { seq: 4, optimizer: defaultOptimizer('adam', 0.01) }],
  ['a custom cell, momentum', traceCell(custom, { batch: B }), { seq: 4, optimizer: defaultOptimizer('momentum', 0.1) }],
  ['lstm on embedded tokens, Adam', t(lstm, { embed: { x: 7 } }), { seq: 4, optimizer: defaultOptimizer('adam', 0.02) }],
  ['elman, MSE on the last step, SGD, clip', traceCell(mseLast, { sizes, batch: B }), { seq: 4, optimizer: defaultOptimizer('sgd', 0.1), clip: 0.2 }],
  ['a 2-layer bidirectional LSTM, Adam', traceCell(bilstm, { sizes: { X: 3, H: 4, Y: 3 }, batch: B }), { seq: 4, optimizer: defaultOptimizer('adam', 0.01) }],
  // weight decay at 0.1 so that its term is well above the tolerance after three steps
  ['elman, AdamW, clip', t(elman), { seq: 4, optimizer: { ...defaultOptimizer('adamw', 0.01), weightDecay: 0.1 }, clip: 0.3 }],
  ['gru, truncated 2, RMSprop, clip', t(gru), { seq: 4, truncation: { k1: 2, k2: 2 }, optimizer: defaultOptimizer('rmsprop', 0.01), clip: 0.3 }],
];

let device: GPUDevice;
beforeAll(async () => {
  device = await gpuDevice();
}, 60_000);
afterAll(() => device?.destroy());

const err = (a: Record<string, ArrayLike<number>>, b: Record<string, ArrayLike<number>>) => {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  return Math.max(...Object.keys(a).map((k) => scaledErr(a[k]!, b[k]!)));
};

describe('the WebGPU trainer matches the TS trainer', () => {
  it.each(cases.flatMap(([name, c, o]) => (['persistent', 'per-step'] as const).map((loops) => [`${name}, ${loops} loops`, c, { ...o, gpuLoops: loops }] as const)))('%s', async (_, c, opts) => {
    const ts = (await compileAndLoad(c, opts)).mod.createTrainer({ seed: 5 });
    const gpu = await (await compileGpu(c, opts)).createTrainer(device, { seed: 5 });
    try {
      // the same seeded init, bit for bit: both run the same generator on the CPU
      expect(await gpu.readParams()).toEqual(ts.params);
      const batch = batchOf(c, randomEnv(c, opts.seq, 11, { f32: true }), 'f32');
      const loss = await gpu.lossAndGrad(batch);
      expect(Math.abs(loss - ts.lossAndGrad(batch))).toBeLessThan(TOL * Math.abs(loss));
      expect(err(await gpu.readGrads(), ts.grads)).toBeLessThan(TOL);
      expect(err(await gpu.readState(), ts.state)).toBeLessThan(TOL);
      ts.resetState();
      gpu.resetState();
      for (let s = 0; s < 3; s++) {
        const [a, b] = [await gpu.step(batch), ts.step(batch)];
        expect(Math.abs(a - b)).toBeLessThan(TOL * Math.abs(b));
      }
      expect(err(await gpu.readParams(), ts.params)).toBeLessThan(TOL);
      expect(err(await gpu.readState(), ts.state)).toBeLessThan(TOL);
      ts.resetState();
      gpu.resetState();
      expect(scaledErr(await gpu.predict(batch.inputs), ts.predict(batch.inputs))).toBeLessThan(TOL);
    } finally {
      gpu.destroy();
    }
  }, 60_000);
});

describe('failures leave the trainer as it was', () => {
  let c: TracedCell;
  let batch: GenBatch;
  let trainer: GpuTrainer;
  const everything = async (t: GpuTrainer) => ({ P: await t.readParams(), S: await t.readState() });
  beforeAll(async () => {
    c = traceCell(elman, { sizes, batch: B });
    batch = batchOf(c, randomEnv(c, 4, 3, { f32: true }), 'f32');
    trainer = await (await compileGpu(c, { seq: 4, optimizer: defaultOptimizer('adam', 0.01) })).createTrainer(device);
    await trainer.step(batch); // moments and state not zero
  }, 60_000);
  afterAll(() => trainer?.destroy());

  it('a non-finite input: step rolls back parameters, optimizer state and state', async () => {
    const before = await everything(trainer);
    const x = Float32Array.from(batch.inputs.x!);
    x[3] = NaN;
    await expect(trainer.step({ ...batch, inputs: { x } })).rejects.toThrow(/^step: non-finite loss \(NaN\) in window 0 \(steps 0\.\.3\); parameters, optimizer state and state are unchanged$/);
    expect(await everything(trainer)).toEqual(before);
    // and the optimizer state too: the next step is the step it would have been
    const ref = await (await compileGpu(c, { seq: 4, optimizer: defaultOptimizer('adam', 0.01) })).createTrainer(device);
    try {
      await ref.step(batch);
      expect(await ref.step(batch)).toBe(await trainer.step(batch));
      expect(await ref.readParams()).toEqual(await trainer.readParams());
    } finally {
      ref.destroy();
    }
  });

  it('an update that overflows: rolled back, with the hint', async () => {
    const before = await everything(trainer);
    trainer.hyper.lr = 1e39; // Infinity in float32
    await expect(trainer.step(batch)).rejects.toThrow(/non-finite parameter after the update in window 0 .* \(the learning rate may be too large\); parameters, optimizer state and state are unchanged/);
    trainer.hyper.lr = 0.01;
    expect(await everything(trainer)).toEqual(before);
  });

  it('bad batches are refused before anything changes, with the TS target\'s messages', async () => {
    const before = await everything(trainer);
    await expect(trainer.step({ inputs: { x: new Float64Array(24) }, targets: batch.targets })).rejects.toThrow('inputs.x must be a Float32Array of 24 values [4, 2, 3], got Float64Array of 24 values');
    await expect(trainer.step({ inputs: { x: batch.inputs.x }, targets: new Int32Array(3) })).rejects.toThrow('targets has 3 values, expected 8 [4, 2]');
    await expect(trainer.lossAndGrad({ inputs: { x: batch.inputs.x, y: batch.inputs.x }, targets: batch.targets })).rejects.toThrow('inputs.y is not an input of this trainer (its inputs: x)');
    await expect(trainer.predict({})).rejects.toThrow(/inputs\.x must be a Float32Array/);
    await expect(trainer.writeParams({ nope: new Float32Array(1) })).rejects.toThrow(/writeParams: unknown parameter 'nope'/);
    await expect(trainer.loadParams('{')).rejects.toThrow(/loadParams: not JSON/);
    expect(await everything(trainer)).toEqual(before);
  });

  it('hyper is checked where it is set, as on the TS target', () => {
    expect(() => (trainer.hyper.lr = -1)).toThrow('trainer.hyper.lr must be a positive number, got -1');
    expect(trainer.hyper.lr).toBe(0.01);
  });

  it('one call at a time: a second call before the first resolves is refused', async () => {
    const first = trainer.lossAndGrad(batch);
    await expect(trainer.lossAndGrad(batch)).rejects.toThrow('lossAndGrad: another call of this trainer has not finished; await it first');
    await first;
    // resetState is synchronous: during a predict (which puts the training state back) it would be undone
    const reading = trainer.predict(batch.inputs);
    expect(() => trainer.resetState()).toThrow('resetState: another call of this trainer has not finished; await it first');
    await reading;
  });

  it('the trainer is frozen: replacing a member throws, where it was ignored in silence', () => {
    expect(() => ((trainer as unknown as Record<string, unknown>).hyper = { lr: 1 })).toThrow(TypeError);
    expect(() => ((trainer as unknown as Record<string, unknown>).step = () => 0)).toThrow(TypeError);
  });

  it('save and load round-trip through the TS target\'s format', async () => {
    const json = await trainer.saveParams();
    const ts = (await compileAndLoad(c, { seq: 4 })).mod.createTrainer();
    ts.loadParams(json);
    expect(ts.params).toEqual(await trainer.readParams());
    await trainer.loadParams(ts.saveParams());
    expect(await trainer.readParams()).toEqual(ts.params);
  });
});

/** The first n sequences of a time-major array of `steps` blocks of B sequences. */
function firstRows<A extends Float32Array | Int32Array>(a: A, steps: number, n: number): A {
  const per = a.length / steps / B;
  const out = new (a.constructor as new (n: number) => A)(steps * n * per);
  for (let t = 0; t < steps; t++) for (let j = 0; j < n * per; j++) out[t * n * per + j] = a[t * B * per + j]!;
  return out;
}
const copyOf = (r: Record<string, ArrayLike<number>>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Float32Array.from(v)]));

describe('predict and evaluate leave the training state alone, as on the TS target', () => {
  const forwardCases = [cases[0]!, cases[1]!, cases[6]!, ['elman, truncated 3 (a shorter last chunk), MSE on the last step', traceCell(mseLast, { sizes, batch: B }), { seq: 5, truncation: { k1: 3, k2: 3 }, optimizer: defaultOptimizer('adam', 0.01) }] as const];
  it.each(forwardCases)('%s', async (_, c, opts) => {
    const ts = (await compileAndLoad(c, opts)).mod.createTrainer({ seed: 5 });
    const gpu = await (await compileGpu(c, opts)).createTrainer(device, { seed: 5 });
    try {
      const batch = batchOf(c, randomEnv(c, opts.seq, 11, { f32: true }), 'f32');
      for (let s = 0; s < 2; s++) ts.step(batch), await gpu.step(batch); // a training state that is not zero
      const trained = await gpu.readState();
      expect(Object.values(trained).some((v) => v.some((x) => x !== 0))).toBe(true);
      const params = await gpu.readParams();
      const tsState = copyOf(ts.state);
      // twice the same logits, from zeros, the training state as it was
      const a = await gpu.predict(batch.inputs), b = await gpu.predict(batch.inputs);
      expect(b).toEqual(a);
      expect(await gpu.readState()).toEqual(trained);
      expect(scaledErr(a, ts.predict(batch.inputs))).toBeLessThan(TOL);
      // from a given state, with the final state handed back
      const finalGpu: Record<string, Float32Array> = {}, finalTs: Record<string, Float32Array> = {};
      const fromState = await gpu.predict(batch.inputs, undefined, { state: tsState, final: finalGpu });
      expect(scaledErr(fromState, ts.predict(batch.inputs, undefined, { state: tsState, final: finalTs }))).toBeLessThan(TOL);
      expect(err(finalGpu, finalTs)).toBeLessThan(TOL);
      expect(scaledErr(fromState, a)).toBeGreaterThan(TOL); // the state made a difference
      // one sequence of the batch, into the caller's array
      const one = Object.fromEntries(Object.entries(batch.inputs).map(([k, v]) => [k, firstRows(v as Float32Array | Int32Array, opts.seq, 1)]));
      const Y = a.length / opts.seq / B;
      const out = new Float32Array(opts.seq * Y);
      expect(await gpu.predict(one, out)).toBe(out);
      expect(scaledErr(out, ts.predict(one))).toBeLessThan(TOL);
      // evaluate: the forward-only loss, full and partial batches
      const lossFull = await gpu.evaluate(batch);
      expect(Math.abs(lossFull - ts.evaluate(batch))).toBeLessThan(TOL * Math.abs(lossFull));
      const part = { inputs: one, targets: firstRows(batch.targets as Float32Array | Int32Array, c.lossOn === 'every' ? opts.seq : 1, 1) };
      const lossPart = await gpu.evaluate(part, { state: { h: tsState.h!.slice(0, tsState.h!.length / B) } });
      expect(Math.abs(lossPart - ts.evaluate(part, { state: { h: tsState.h!.slice(0, tsState.h!.length / B) } }))).toBeLessThan(TOL * Math.abs(lossPart));
      expect(await gpu.readState()).toEqual(trained);
      expect(await gpu.readParams()).toEqual(params);
    } finally {
      gpu.destroy();
    }
  }, 60_000);

  it('the same trained model on the same batch scores the same whether or not resetState() was called (issue 11, bug 1)', async () => {
    const c = traceCell(mseLast, { sizes, batch: B });
    const gpu = await (await compileGpu(c, { seq: 4, optimizer: defaultOptimizer('adam', 0.01) })).createTrainer(device, { seed: 2 });
    try {
      for (let s = 0; s < 4; s++) await gpu.step(batchOf(c, randomEnv(c, 4, 20 + s, { f32: true }), 'f32'));
      const held = batchOf(c, randomEnv(c, 4, 9, { f32: true }), 'f32');
      const [dirty, logitsDirty] = [await gpu.evaluate(held), await gpu.predict(held.inputs)];
      gpu.resetState();
      expect(await gpu.evaluate(held)).toBe(dirty);
      expect(await gpu.predict(held.inputs)).toEqual(logitsDirty);
    } finally {
      gpu.destroy();
    }
  }, 60_000);

  it('bad arguments are refused with the TS target\'s messages, before anything runs; a bidirectional model\'s evaluate refuses in one line', async () => {
    const c = traceCell(elman, { sizes, batch: B });
    const gpu = await (await compileGpu(c, { seq: 4 })).createTrainer(device);
    const ts = (await compileAndLoad(c, { seq: 4 })).mod.createTrainer();
    const x = new Float32Array(4 * B * 3);
    const message = (f: () => unknown) => { try { f(); } catch (e) { return (e as Error).message; } return 'no error'; };
    try {
      for (const [inputs, out, options] of [
        [{ x: new Float32Array(5) }, undefined, undefined],
        [{ x }, new Float32Array(3), undefined],
        [{ x }, undefined, { state: { h: new Float32Array(1) } }],
        [{ x }, undefined, { nope: 1 }],
      ] as const) {
        await expect(gpu.predict(inputs, out, options as never)).rejects.toThrow(message(() => ts.predict(inputs, out, options as never)));
      }
      const bi = traceCell(bilstm, { sizes: { X: 3, H: 4, Y: 3 }, batch: B });
      const biGpu = await (await compileGpu(bi, { seq: 4 })).createTrainer(device);
      const biBatch = batchOf(bi, randomEnv(bi, 4, 1, { f32: true }), 'f32');
      const biTs = (await compileAndLoad(bi, { seq: 4 })).mod.createTrainer();
      const refusal = message(() => biTs.evaluate(biBatch));
      expect(refusal).toMatch(/^evaluate: not built for a model with a bidirectional layer yet; lossAndGrad\(batch\) gives the loss/);
      await expect(biGpu.evaluate(biBatch)).rejects.toThrow(refusal);
      biGpu.destroy();
    } finally {
      gpu.destroy();
    }
  }, 60_000);
});

describe('lastStep', () => {
  it('holds the loss, the gradient norm before clipping (the largest over the windows) and whether it clipped, as the TS target\'s', async () => {
    const [, c, opts] = cases[1]!; // lstm, truncated 2:3: several windows
    const ts = (await compileAndLoad(c, opts)).mod.createTrainer({ seed: 5 });
    const gpu = await (await compileGpu(c, opts)).createTrainer(device, { seed: 5 });
    try {
      expect(gpu.lastStep.gradNorm).toBeNaN();
      const batch = batchOf(c, randomEnv(c, opts.seq, 11, { f32: true }), 'f32');
      for (const clip of [1e-3, 1e3, null]) {
        ts.hyper.clip = gpu.hyper.clip = clip;
        const loss = await gpu.step(batch);
        ts.step(batch);
        expect(gpu.lastStep.loss).toBe(loss);
        expect(Math.abs(gpu.lastStep.loss - ts.lastStep.loss)).toBeLessThan(TOL * ts.lastStep.loss);
        expect(Math.abs(gpu.lastStep.gradNorm - ts.lastStep.gradNorm)).toBeLessThan(TOL * ts.lastStep.gradNorm);
        expect(gpu.lastStep.clipped).toBe(clip === 1e-3);
        expect(ts.lastStep.clipped).toBe(gpu.lastStep.clipped);
      }
    } finally {
      gpu.destroy();
    }
  }, 60_000);
});

describe('checkpoints, in the TS target\'s format', () => {
  const c = traceCell(gru, { sizes, batch: B });
  const opts: CompileOptions = { seq: 5, truncation: { k1: 2, k2: 2 }, optimizer: defaultOptimizer('adam', 0.01) };
  const batches = [0, 1, 2, 3, 4].map((s) => batchOf(c, randomEnv(c, opts.seq, 30 + s, { f32: true }), 'f32'));
  const snapshot = async (t: GpuTrainer) => ({ P: await t.readParams(), S: await t.readState(), text: await t.saveCheckpoint() });

  it.each(['adam', 'adamw', 'rmsprop'] as const)('resumes a run exactly: parameters, the moments and step count of %s, state, hyper', async (kind) => {
    const gpu = await (await compileGpu(c, { ...opts, optimizer: defaultOptimizer(kind, 0.01) })).createTrainer(device, { seed: 3 });
    try {
      for (const b of batches.slice(0, 2)) await gpu.step(b);
      const json = await gpu.saveCheckpoint();
      const [lr, S] = [gpu.hyper.lr, await gpu.readState()];
      for (const b of batches.slice(2)) await gpu.step(b);
      const after = await gpu.readParams();
      gpu.hyper.lr = 0.5;
      gpu.resetState();
      await gpu.step(batches[0]!);
      await gpu.loadCheckpoint(json);
      expect(gpu.hyper.lr).toBe(lr);
      expect(await gpu.readState()).toEqual(S);
      for (const b of batches.slice(2)) await gpu.step(b);
      expect(err(await gpu.readParams(), after)).toBeLessThan(1e-6);
    } finally {
      gpu.destroy();
    }
  }, 60_000);

  it('moves between the TS and the WebGPU trainers of the same cell, both ways', async () => {
    const ts = (await compileAndLoad(c, opts)).mod.createTrainer({ seed: 4 });
    const gpu = await (await compileGpu(c, opts)).createTrainer(device, { seed: 3 });
    try {
      for (const b of batches.slice(0, 2)) ts.step(b);
      await gpu.loadCheckpoint(ts.saveCheckpoint());
      expect(await gpu.readParams()).toEqual(ts.params);
      expect(await gpu.readState()).toEqual(ts.state);
      // the moments and the step count came too: the next Adam steps agree
      for (const b of batches.slice(2)) {
        const [a, e] = [await gpu.step(b), ts.step(b)];
        expect(Math.abs(a - e)).toBeLessThan(TOL * Math.abs(e));
      }
      expect(err(await gpu.readParams(), ts.params)).toBeLessThan(TOL);
      const back = (await compileAndLoad(c, opts)).mod.createTrainer();
      back.loadCheckpoint(await gpu.saveCheckpoint());
      expect(back.params).toEqual(await gpu.readParams());
      expect(back.state).toEqual(await gpu.readState());
      // the same document but for the spec (the WebGPU one adds its backend, work and limits)
      const [mine, theirs] = [JSON.parse(await gpu.saveCheckpoint()), JSON.parse(back.saveCheckpoint())];
      expect({ ...mine, spec: null }).toEqual({ ...theirs, spec: null });
    } finally {
      gpu.destroy();
    }
  }, 60_000);

  it('a mismatched or corrupt checkpoint is refused whole, with the TS target\'s messages', async () => {
    const gpu = await (await compileGpu(c, opts)).createTrainer(device, { seed: 3 });
    const momentum = await (await compileGpu(c, { ...opts, optimizer: defaultOptimizer('momentum', 0.01) })).createTrainer(device);
    try {
      await gpu.step(batches[0]!);
      const good = await gpu.saveCheckpoint();
      await gpu.step(batches[1]!);
      const before = await snapshot(gpu);
      const edit = (f: (d: any) => void) => { const d = JSON.parse(good); f(d); return JSON.stringify(d); }; // eslint-disable-line @typescript-eslint/no-explicit-any
      const bad: [string, string, RegExp][] = [
        ['not JSON', good.slice(0, 100), /^loadCheckpoint: not JSON/],
        ['a parameter file', await gpu.saveParams(), /not an rnnc checkpoint \(saveParams files load with loadParams\); nothing changed/],
        ['another batch', edit((d) => (d.spec.batch = 4)), /made for batch 4, this trainer has 2; nothing changed/],
        ['a short moment', edit((d) => d.optimizer.v.data.pop()), /the optimizer's v needs \d+ finite numbers \(within float32 range\); nothing changed/],
        ['a NaN in the state', edit((d) => (d.state.h.data[2] = 'NaN')), /state 'h' needs 10 finite numbers/],
        ['a parameter of another shape', edit((d) => (d.params.weight_hh.shape = [5, 15])), /parameter 'weight_hh' has shape \[5,15\], expected \[15, 5\]/],
        ['a bad step count', edit((d) => (d.optimizer.step = 1.5)), /step count 1.5 is not a non-negative integer/],
        ['a bad hyper', edit((d) => (d.hyper.clip = 0)), /^loadCheckpoint: hyper: clip must be a positive number or null/],
      ];
      for (const [what, json, message] of bad) {
        await expect(gpu.loadCheckpoint(json), what).rejects.toThrow(message);
        expect(await snapshot(gpu), what).toEqual(before);
      }
      await expect(momentum.loadCheckpoint(good)).rejects.toThrow(/made for optimizer adam, this trainer's is momentum; nothing changed/);
    } finally {
      gpu.destroy();
      momentum.destroy();
    }
  }, 60_000);
});

describe('diagnose, as the TS target\'s', () => {
  const small = { X: 3, H: 3, Y: 4 };
  const diagnoseCases = [
    ['lstm, full BPTT', traceCell(lstm, { sizes: small, batch: B }), { seq: 4, diagnose: true }],
    ['elman, truncated 2', traceCell(elman, { sizes: small, batch: B }), { seq: 4, truncation: { k1: 2, k2: 2 }, diagnose: true }],
  ] as const;
  it.each(diagnoseCases)('%s: the same figures on the same params and batch; parameters and state unchanged, the gradients lossAndGrad\'s', async (_, c, opts) => {
    const ts = (await compileAndLoad(c, opts)).mod.createTrainer({ seed: 6 }) as GenTrainer & { diagnose(batch: unknown): Diagnosis };
    const gpu = await (await compileGpu(c, opts)).createTrainer(device, { seed: 6 });
    try {
      const batch = batchOf(c, randomEnv(c, opts.seq, 12, { f32: true }), 'f32');
      // a state carried from an earlier batch: diagnose starts from it, as lossAndGrad, and puts it back
      await gpu.step(batch);
      ts.step(batch);
      const [P, S] = [await gpu.readParams(), await gpu.readState()];
      const [a, e] = [await gpu.diagnose(batch), ts.diagnose(batch)];
      expect(Math.abs(a.loss - e.loss)).toBeLessThan(TOL * e.loss);
      expect(Math.abs(a.gradNorm - e.gradNorm)).toBeLessThan(TOL * e.gradNorm);
      expect(Object.keys(a.states)).toEqual(Object.keys(e.states));
      for (const [name, want] of Object.entries(e.states)) {
        const got = a.states[name]!;
        for (const k of ['gradNorm', 'gradNormPerSequence', 'norm', 'normPerSequence'] as const) expect(scaledErr(got[k], want[k]), `${name}.${k}`).toBeLessThan(TOL);
      }
      expect(a.weights.map((x) => [x.param, x.rows])).toEqual(e.weights.map((x) => [x.param, x.rows]));
      a.weights.forEach((x, k) => {
        expect(Math.abs(x.spectralRadius - e.weights[k]!.spectralRadius)).toBeLessThan(TOL * e.weights[k]!.largestSingularValue);
        expect(Math.abs(x.largestSingularValue - e.weights[k]!.largestSingularValue)).toBeLessThan(TOL * e.weights[k]!.largestSingularValue);
      });
      expect(await gpu.readParams()).toEqual(P);
      expect(await gpu.readState()).toEqual(S);
      expect(err(await gpu.readGrads(), ts.grads)).toBeLessThan(TOL);
    } finally {
      gpu.destroy();
    }
  }, 60_000);

  it('refuses as the TS target does: compiled without --diagnose, overlapping windows, bad options', async () => {
    const c = traceCell(elman, { sizes: small, batch: B });
    const batch = batchOf(c, randomEnv(c, 4, 12, { f32: true }), 'f32');
    const plain = await (await compileGpu(c, { seq: 4 })).createTrainer(device);
    const overlapping = await (await compileGpu(c, { seq: 4, truncation: { k1: 1, k2: 2 }, diagnose: true })).createTrainer(device);
    const good = await (await compileGpu(c, { seq: 4, diagnose: true })).createTrainer(device);
    try {
      await expect(plain.diagnose(batch)).rejects.toThrow(/^diagnose: this trainer was compiled without diagnostics .*compile with --diagnose/);
      await expect(overlapping.diagnose(batch)).rejects.toThrow(/^diagnose: this trainer back-propagates 1:2, so its windows overlap/);
      await expect(good.diagnose(batch, { iterations: 1 })).rejects.toThrow(/^diagnose: iterations must be an integer of at least 2, got 1/);
    } finally {
      for (const t of [plain, overlapping, good]) t.destroy();
    }
  }, 60_000);
});

describe('what the WebGPU target refuses', () => {
  it('variable lengths, and float64, each with one line', async () => {
    await expect(compileGpu(traceCell(lstm, { sizes, batch: B, lengths: true }), { seq: 3 })).rejects.toThrow(/^--target webgpu: variable lengths \(--lengths\) are not built for the WebGPU target yet/);
    await expect(compileGpu(traceCell(lstm, { sizes, batch: B }), { seq: 3, float: 'f64' })).rejects.toThrow(/^--target webgpu: WebGPU computes in float32/);
  });
});

describe('devices', () => {
  it('refuses a non-device and a device without the limits the model needs, naming the limit', async () => {
    const c = traceCell(elman, { sizes, batch: B });
    const mod = await compileGpu(c, { seq: 2 });
    await expect(mod.createTrainer({} as GPUDevice)).rejects.toThrow('createTrainer: the first argument must be a GPUDevice, got object');
    // 4096 × 4096 weights twice: 128 MiB of parameters, past the default 128 MiB binding limit
    const big = traceCell(elman, { sizes: { X: 4096, H: 4096, Y: 2 }, batch: 1 });
    const bigMod = await compileGpu(big, { seq: 1 });
    expect(bigMod.spec.limits.maxStorageBufferBindingSize).toBeGreaterThan(device.limits.maxStorageBufferBindingSize);
    await expect(bigMod.createTrainer(device)).rejects.toThrow(/^createTrainer: this model needs the device limit maxStorageBufferBindingSize ≥ \d+, the device has 134217728; request it with adapter\.requestDevice/);
  });

  it('a lost device: every call says so', async () => {
    const c = traceCell(elman, { sizes, batch: B });
    const own = await gpuDevice();
    const trainer = await (await compileGpu(c, { seq: 2 })).createTrainer(own);
    own.destroy();
    await own.lost;
    const batch = batchOf(c, randomEnv(c, 2, 1, { f32: true }), 'f32');
    await expect(trainer.step(batch)).rejects.toThrow(/^step: the GPU device was lost \(.*\); create a new device and trainer/);
    expect(() => trainer.resetState()).toThrow(/^resetState: the GPU device was lost/);
  });
});

describe('rnnc check --target webgpu', () => {
  it('runs the WGSL trainer against the TS target and prints each largest difference', () => {
    const r = spawnSync(process.execPath, ['bin/rnnc.mjs', 'check', 'examples/cells/gru.ts', '--target', 'webgpu', '--truncate', '2', '--size', 'H=6'], { encoding: 'utf8' });
    expect(r.stderr.replace(/^error: XDG_RUNTIME_DIR.*\n/gm, '')).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('gru: batch 2, seq 4, truncate 2:2, seed 1');
    expect(lines[1]).toMatch(/^WebGPU \(.*SwiftShader.*\) against the TS target, float32, scaled differences:$/);
    const rows = lines.slice(2, -1).map((l) => /^ {2}(.+?) +(\S+) {2}\(at (\S+)\)$/.exec(l));
    expect(rows.map((m) => m?.[1])).toEqual(['loss', 'gradients', 'state after lossAndGrad', 'parameters after 3 steps', 'state after 3 steps', 'logits of predict']);
    for (const m of rows) expect(Number(m![2])).toBeLessThan(1e-4);
    expect(lines.at(-1)).toMatch(/^ok: the largest difference is \S+ of the scale \(.+\); tolerance 1e-4$/);
  }, 60_000);

  it('refuses the float64 check\'s tolerances and an unknown target', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, ['bin/rnnc.mjs', 'check', 'examples/cells/gru.ts', ...args], { encoding: 'utf8' });
    const a = run('--target', 'webgpu', '--atol', '1e-3');
    expect([a.status, a.stderr.trim()]).toEqual([1, expect.stringMatching(/--atol and --rtol judge the float64 gradient check/)]);
    const b = run('--target', 'wgpu');
    expect([b.status, b.stderr.trim()]).toEqual([1, expect.stringMatching(/--target: 'wgpu' must be ts or webgpu/)]);
  });
});

describe('persistent loops (codegen/wgsl/persistent.ts)', () => {
  const place = (buf: string) => ({ phys: buf, base: 0, type: 'f32' as const });
  const constant = (c: number) => ({ c, terms: [] });
  /** A loop of one elementwise kernel over [2, 3] writing h from h, read through `strides` from element `c`. */
  const loopReading = (c: number, strides: number[]): Loop => ({
    kind: 'loop', variable: 't0', length: 4, reverse: false,
    body: [{
      kind: 'elementwise', shape: [2, 3], fused: ['tanh'],
      locals: [{ op: 'tanh', a: { op: 'load', access: { buf: 'h', off: constant(c), strides } } }],
      stores: [{ to: { buf: 'h', off: constant(0), strides: [3, 1] }, value: { op: 'local', id: 0 } }],
    }],
  });

  it('are used for every loop of the stock cells at small sizes, and cut the dispatches', async () => {
    for (const def of [elman, lstm, gru]) {
      const c = traceCell(def, { sizes, batch: B });
      const [a, b] = await Promise.all([compileGpu(c, { seq: 6 }), compileGpu(c, { seq: 6, gpuLoops: 'per-step' })]);
      const [wa, wb] = [a.spec.work, b.spec.work];
      expect([wa.persistentLoops, wb.persistentLoops]).toEqual([4, 0]); // training forward and backward, inference forward, evaluation forward
      expect(wa.dispatchesPerStep).toBeLessThan(wb.dispatchesPerStep - 2 * 5);
    }
  });

  it('are refused where a row reads another row\'s values, and kept where it reads its own', () => {
    expect(persistentLoop(loopReading(3, [-3, 1]), 2, place)).toBeNull(); // row b reads row 1 − b
    expect(persistentLoop(loopReading(0, [0, 1]), 2, place)).toBeNull(); // every row reads row 0
    expect(persistentLoop(loopReading(0, [3, 1]), 2, place)).not.toBeNull();
  });

  it('are not used past the work one workgroup should do per step (LSTM H=512)', async () => {
    const c = traceCell(lstm, { sizes: { X: 4, H: 512, Y: 3 }, batch: 2 });
    expect((await compileGpu(c, { seq: 2 })).spec.work).toMatchObject({ persistentLoops: 0 });
  });
});
