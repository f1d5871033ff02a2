/**
 * What a generated trainer refuses at run time (issue 13): a non-finite input to lossAndGrad or
 * predict (before anything changes), an out-of-range or unknown option of createTrainer or setting
 * of trainer.hyper (where it is set), and a
 * parameter file of another version or with a parameter the trainer does not have.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import elman from '../examples/cells/elman.ts';
import { traceCell } from '../src/dsl/trace.ts';
import { compileAndLoad, type GenModule } from './trainer-helpers.ts';

const B = 2, T = 3;
let mod: GenModule;
beforeAll(async () => {
  mod = (await compileAndLoad(traceCell(elman, { sizes: { X: 2, H: 3, Y: 4 }, batch: B }), { seq: T })).mod;
});

const x = () => Float32Array.from({ length: T * B * 2 }, (_, i) => Math.sin(i));
const targets = () => Int32Array.from({ length: T * B }, (_, i) => i % 4);

describe('runtime checks', () => {
  it('lossAndGrad and predict refuse a non-finite input, naming it, and change nothing', () => {
    const t = mod.createTrainer();
    t.lossAndGrad({ inputs: { x: x() }, targets: targets() }); // a state and gradients to keep
    const before = { p: t.exportParams(), s: Float32Array.from(t.state.h!), g: Float32Array.from(t.grads.weight_hh!) };
    const bad = x();
    bad[5] = NaN;
    expect(() => t.lossAndGrad({ inputs: { x: bad }, targets: targets() })).toThrow('inputs.x[5] = NaN is not finite; nothing changed');
    bad[5] = Infinity;
    expect(() => t.predict({ x: bad })).toThrow('inputs.x[5] = Infinity is not finite');
    expect(t.exportParams()).toEqual(before.p);
    expect(t.state.h).toEqual(before.s);
    expect(t.grads.weight_hh).toEqual(before.g);
  });

  it('lengths given to a trainer compiled without --lengths are refused, in every path; nothing changes; other fields are the caller\'s', () => {
    const t = mod.createTrainer();
    const before = t.exportParams();
    const lengths = Int32Array.from([3, 2]);
    const noLengths = 'batch.lengths: this trainer was compiled without --lengths, so every sequence runs all its steps; compile with --lengths for sequences of different lengths';
    expect(() => t.step({ inputs: { x: x() }, targets: targets(), lengths } as never)).toThrow(noLengths);
    expect(() => t.lossAndGrad({ inputs: { x: x() }, targets: targets(), lengths } as never)).toThrow(noLengths);
    // evaluate of fewer sequences than the batch takes its own path through the checks
    expect(() => t.evaluate({ inputs: { x: x().subarray(0, T * 2) }, targets: targets().subarray(0, T), lengths } as never)).toThrow(noLengths);
    expect(t.exportParams()).toEqual(before);
    expect(t.state.h).toEqual(new Float32Array(B * 3));
    // a batch may carry the caller's own bookkeeping (the POS example keeps its rows there)
    expect(Number.isFinite(t.lossAndGrad({ inputs: { x: x() }, targets: targets(), rows: ['a', 'b'] } as never))).toBe(true);
  });

  it.each([
    [{ lr: -0.1 }, 'createTrainer: lr must be a positive number, got -0.1'],
    [{ lr: NaN }, 'createTrainer: lr must be a positive number, got NaN'],
    [{ clip: -1 }, 'createTrainer: clip must be a positive number or null (no clipping), got -1'],
    [{ clip: 0 }, 'createTrainer: clip must be a positive number or null (no clipping), got 0'],
    [{ momentum: 1 }, 'createTrainer: momentum must be in [0, 1), got 1'],
    [{ beta2: -0.5 }, 'createTrainer: beta2 must be in [0, 1), got -0.5'],
    [{ eps: 0 }, 'createTrainer: eps must be a positive number, got 0'],
    [{ seed: 1.5 }, 'createTrainer: seed must be a non-negative integer, got 1.5'],
    [{ lrate: 0.1 }, "createTrainer: unknown option 'lrate'; the options are seed, lr, momentum, beta1, beta2, eps, weightDecay, alpha, clip"],
  ])('createTrainer(%j) is refused', (options, message) => {
    expect(() => mod.createTrainer(options as never)).toThrow(message);
  });

  it('createTrainer takes clip: null and in-range values', () => {
    expect(() => mod.createTrainer({ clip: null, lr: 0.5, momentum: 0, seed: 0 })).not.toThrow();
  });

  it.each([
    ['lr', -0.1, 'trainer.hyper.lr must be a positive number, got -0.1'],
    ['lr', '0.1', 'trainer.hyper.lr must be a positive number, got "0.1"'],
    ['clip', -1, 'trainer.hyper.clip must be a positive number or null (no clipping), got -1'],
    ['momentum', 1, 'trainer.hyper.momentum must be in [0, 1), got 1'],
    ['beta1', NaN, 'trainer.hyper.beta1 must be in [0, 1), got NaN'],
    ['eps', undefined, 'trainer.hyper.eps must be a positive number, got undefined'],
  ])('trainer.hyper.%s = %j is refused where it is set, and the next step runs with the old value', (name, value, message) => {
    const t = mod.createTrainer({ seed: 2 }), same = mod.createTrainer({ seed: 2 });
    const before = { ...t.hyper };
    expect(() => ((t.hyper as Record<string, unknown>)[name] = value)).toThrow(new RangeError(message));
    expect({ ...t.hyper }).toEqual(before);
    const batch = { inputs: { x: x() }, targets: targets() };
    expect(t.step(batch)).toBe(same.step(batch));
    expect(t.exportParams()).toEqual(same.exportParams());
  });

  it('trainer.hyper takes in-range values and clip: null, and no settings it does not have', () => {
    const t = mod.createTrainer({ clip: 1 });
    t.hyper.lr = 0.5;
    t.hyper.clip = null;
    t.hyper.momentum = 0;
    expect(t.hyper).toMatchObject({ lr: 0.5, clip: null, momentum: 0 });
    expect(JSON.parse(JSON.stringify(t.hyper))).toEqual({ lr: 0.5, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, alpha: 0.99, clip: null });
    expect(() => ((t.hyper as Record<string, unknown>).learningRate = 0.1)).toThrow(TypeError);
  });

  it('loadParams refuses another format version and an unknown parameter, changing nothing', () => {
    const t = mod.createTrainer();
    const before = t.exportParams();
    const doc = JSON.parse(t.saveParams()) as { version: number; params: Record<string, unknown> };
    expect(() => t.loadParams(JSON.stringify({ ...doc, version: 99 }))).toThrow('loadParams: format version 99, this trainer reads version 1');
    const extra = { ...doc, params: { ...doc.params, weight_xx: { shape: [1], data: [0] } } };
    expect(() => t.loadParams(JSON.stringify(extra))).toThrow("loadParams: unknown parameter 'weight_xx'; this trainer has weight_ih, weight_hh, bias_ih, bias_hh, out_weight, out_bias");
    expect(t.exportParams()).toEqual(before);
  });
});
