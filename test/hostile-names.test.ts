/**
 * User-chosen names are data, never code (issue 13): a name reaches the generated module only as an
 * escaped string or an identifier the DSL has checked; records keyed by user names keep every name
 * as an own key; the compiler's own names can never collide with a user's; and the names that
 * cannot be made safe (`__proto__`, a gradient's name) are refused with a clear error.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { generateTrainer } from '../codegen/host/trainer.ts';
import { tsTarget } from '../codegen/ts/target.ts';
import { RnncError } from '../ir/error.ts';
import { defaultOptimizer } from '../src/compile.ts';
import { cell, init, tanh } from '../src/dsl/index.ts';
import { traceCell } from '../src/dsl/trace.ts';
import { planTraining } from '../src/program.ts';
import { importGenerated } from '../src/run-module.ts';
import { compileAndLoad, type GenModule } from './trainer-helpers.ts';

const SIZES = { X: 2, H: 3, Y: 4 };
const B = 2, T = 3;

/** An Elman cell whose input, state and parameters have the given names. */
function elmanNamed(n: { cell?: string; x?: string; h?: string; w?: string; u?: string }) {
  return cell(n.cell ?? 'named', { X: 2, H: 3, Y: 4 }, ({ X, H }, { input, state, param }) => {
    const x = input(n.x ?? 'x', [X]);
    const h = state(n.h ?? 'h', [H]);
    const h1 = tanh(param(n.w ?? 'weight_ih', [H, X], init.uniform(0.5)).mv(x).add(param(n.u ?? 'weight_hh', [H, H], init.uniform(0.5)).mv(h)));
    return { next: { [n.h ?? 'h']: h1 }, output: h1 };
  });
}

const pwned = () => (globalThis as { __rnncPwned?: number }).__rnncPwned;
afterEach(() => delete (globalThis as { __rnncPwned?: number }).__rnncPwned);

function seeded(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1);
}

describe('names are data, never code', () => {
  it('a cell name that would end the header comment is refused, and the generator escapes it anyway', async () => {
    const evil = 'x\u2028globalThis.__rnncPwned = 7//';
    expect(() => elmanNamed({ cell: evil })).toThrow(RnncError);
    expect(() => elmanNamed({ cell: evil })).toThrow(/one line/);
    // past the DSL's check (a program built by other means), the module still runs nothing
    const program = planTraining(traceCell(elmanNamed({}), { sizes: SIZES, batch: B }), T, { k1: T, k2: T });
    for (const name of [evil, 'x\u2029globalThis.__rnncPwned = 8//', "x' + (globalThis.__rnncPwned = 9) + '", 'x*/ globalThis.__rnncPwned = 10; /*']) {
      const source = generateTrainer({ ...program, model: { ...program.model, name } }, { float: 'f32', optimizer: defaultOptimizer(), clip: null, seed: 1 }, tsTarget('f32'));
      const mod = await importGenerated<GenModule & { spec: { cell: string } }>(source);
      expect(pwned(), name).toBeUndefined();
      expect(mod.spec.cell).toBe(name);
    }
  });

  it("'__proto__' is refused as a name of a parameter, state, input or size, naming why", () => {
    for (const n of [{ w: '__proto__' }, { h: '__proto__' }, { x: '__proto__' }]) {
      expect(() => traceCell(elmanNamed(n), { sizes: SIZES, batch: B })).toThrow(/'__proto__' is the prototype of a JavaScript object/);
    }
    expect(() => cell('c', JSON.parse('{"__proto__": 3}') as Record<string, number>, () => ({ next: {}, output: null as never }))).toThrow(/bad size name "__proto__"/);
  });

  it('names of Object.prototype members are ordinary own keys of params, grads, state and spec', async () => {
    const c = traceCell(elmanNamed({ x: 'valueOf', h: 'constructor', w: 'toString', u: 'hasOwnProperty' }), { sizes: SIZES, batch: B });
    const { mod } = await compileAndLoad(c, { seq: T });
    const t = mod.createTrainer();
    expect(Object.hasOwn(t.params, 'toString') && Object.hasOwn(t.params, 'hasOwnProperty')).toBe(true);
    expect(t.params.toString).toBeInstanceOf(Float32Array);
    expect(t.grads.hasOwnProperty).toHaveLength(9);
    expect(t.state.constructor).toHaveLength(B * 3);
    expect(Object.keys(mod.spec.params)).toEqual(['toString', 'hasOwnProperty', 'out_weight', 'out_bias']);
    const before = t.exportParams();
    t.loadParams(t.saveParams());
    expect(t.exportParams()).toEqual(before);
    const batch = { inputs: { valueOf: seeded(T * B * 2, 1) }, targets: new Int32Array(T * B).fill(1) };
    expect(Number.isFinite(t.lossAndGrad(batch))).toBe(true);
    // an input called valueOf is looked up as an own key: without it the batch is refused
    expect(() => t.lossAndGrad({ inputs: {} as never, targets: batch.targets })).toThrow(/inputs\.valueOf must be a Float32Array .*got undefined/);
  });

  it('a size called constructor is bound as any other (own keys only)', async () => {
    const def = cell('sized', { X: 2, H: 3, Y: 4, constructor: 5 }, ({ X, H }, { input, state, param }) => {
      const h1 = tanh(param('w', [H, X]).mv(input('x', [X])).add(param('u', [H, H]).mv(state('h', [H]))));
      return { next: { h: h1 }, output: h1 };
    });
    const c = traceCell(def, { sizes: { constructor: 7 }, batch: B });
    expect(c.sizes).toEqual({ X: 2, H: 3, Y: 4, constructor: 7 });
    const { mod } = await compileAndLoad(c, { seq: T });
    expect((mod.spec as unknown as { sizes: Record<string, number> }).sizes.constructor).toBe(7);
  });

  it('an input key the trainer does not have is an error, naming it and the inputs', async () => {
    const { mod } = await compileAndLoad(traceCell(elmanNamed({}), { sizes: SIZES, batch: B }), { seq: T });
    const t = mod.createTrainer();
    const x = seeded(T * B * 2, 2);
    expect(() => t.predict({ x, y: x } as never)).toThrow('inputs.y is not an input of this trainer (its inputs: x)');
  });

  it("names like the compiler's own (hoisted0, __sunk0, res0, d_h, invariant0) change nothing: same loss and gradients as plain names", async () => {
    const plain = traceCell(elmanNamed({}), { sizes: SIZES, batch: B });
    const odd = traceCell(elmanNamed({ x: 'hoisted0', h: '__sunk0', w: 'res0', u: 'd___sunk0' }), { sizes: SIZES, batch: B });
    const a = (await compileAndLoad(plain, { seq: T })).mod.createTrainer();
    const b = (await compileAndLoad(odd, { seq: T })).mod.createTrainer();
    b.importParams(a.exportParams());
    const x = seeded(T * B * 2, 3), targets = Int32Array.from({ length: T * B }, (_, i) => i % 4);
    const la = a.lossAndGrad({ inputs: { x }, targets }), lb = b.lossAndGrad({ inputs: { hoisted0: x } as never, targets });
    expect(lb).toBe(la);
    expect(b.grads.res0).toEqual(a.grads.weight_ih);
    expect(b.grads.d___sunk0).toEqual(a.grads.weight_hh);
    expect(b.state.__sunk0).toEqual(a.state.h);
  });

  it("a name that is another's gradient name (grad_W beside W) is refused, naming both", () => {
    expect(() => traceCell(elmanNamed({ w: 'W', h: 'grad_W' }), { sizes: SIZES, batch: B })).toThrow(/'grad_W' clashes with 'grad_W'|clashes with 'grad_W'/);
  });
});
