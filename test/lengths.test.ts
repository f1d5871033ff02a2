/**
 * Variable lengths (docs/lengths.md): a padded batch with per-sequence lengths gives the loss, the
 * gradients and the final states of the same sequences run one by one (float64, the interpreter
 * and the generated trainer, full BPTT and truncated); targets of -100 count nothing; the batch
 * checks name the field; without lengths nothing changes.
 */
import { Project, ts } from 'ts-morph';
import { describe, expect, it } from 'vitest';
import { evaluate } from '../ir/interpret.ts';
import { differentiate } from '../ir/passes/differentiate.ts';
import { tensor, type Tensor } from '../ir/tensor.ts';
import { traceCell, type TracedCell } from '../src/dsl/trace.ts';
import { sequenceGraph, type Truncation } from '../src/layout.ts';
import bigru from '../examples/cells/bigru.ts';
import bilstm from '../examples/cells/bilstm.ts';
import lstmStack from '../examples/cells/lstm-stack.ts';
import type { CellDef } from '../src/dsl/cell.ts';
import { cells as stockCells, SMALL } from './helpers.ts';

// the stock cells, a stacked LSTM (one Scan) and two bidirectional models (a Scan per layer and direction)
const cells: Readonly<Record<string, CellDef>> = { ...stockCells, 'lstm-stack': lstmStack, bilstm, bigru };
import { compileTrainer } from '../src/compile.ts';
import { compileAndLoad, randomEnv, scaledErr, type GenBatch } from './trainer-helpers.ts';

const T = 5, B = 3;
const LENGTHS = [5, 2, 3];

/** The step mask and loss weight [T, B] the host fills, for the interpreter. */
function maskAndWeight(lengths: readonly number[], targets: ArrayLike<number>): { mask: Tensor; weight: Tensor } {
  const mask = tensor('f32', [T, B]), weight = tensor('f32', [T, B]);
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) {
    const i = t * B + b, live = t < lengths[b]! ? 1 : 0;
    mask.data[i] = live;
    weight.data[i] = targets[i] === -100 ? 0 : live;
  }
  return { mask, weight };
}

/** Loss, gradients, final states of the sequence graph by the interpreter. */
function run(c: TracedCell, seq: number, trunc: Truncation, env: Record<string, Tensor>) {
  return evaluate(differentiate(sequenceGraph(c, seq, trunc), { loss: 'loss', wrt: c.params.map((p) => p.name) }), env);
}

/** Column b of a time-major [T, B, ...] tensor, its first `len` steps, as [len, 1, ...]. */
function column(t: Tensor, b: number, len: number): Tensor {
  const per = t.data.length / (T * B);
  const out = tensor(t.dtype, [len, 1, ...t.shape.slice(2)]);
  for (let s = 0; s < len; s++) out.data.set(t.data.subarray((s * B + b) * per, (s * B + b + 1) * per), s * per);
  return out;
}
const row = (t: Tensor, b: number): Tensor => {
  const per = t.data.length / B;
  return tensor(t.dtype, [1, ...t.shape.slice(1)], t.data.subarray(b * per, (b + 1) * per));
};

/** Each sequence alone (batch 1, its own length, no lengths compiled): loss sum, gradient sums, final states. */
function oneByOne(name: string, env: Record<string, Tensor>, padded: TracedCell) {
  const sums: Record<string, Float64Array> = {};
  const finals: Record<string, Float64Array> = {};
  let lossSum = 0, count = 0;
  LENGTHS.forEach((len, b) => {
    const c1 = traceCell(cells[name]!, { sizes: SMALL, batch: 1 });
    const e: Record<string, Tensor> = {};
    for (const p of c1.params) e[p.name] = env[p.name]!;
    for (const s of c1.states) e[s.name] = row(env[s.name]!, b);
    for (const i of c1.inputs) e[i.name] = column(env[i.name]!, b, len);
    e.target = column(env.target!, b, len);
    const r = run(c1, len, { k1: len, k2: len }, e);
    // the mean over len positions, back to a sum
    lossSum += r.loss!.data[0]! * len;
    count += len;
    for (const p of c1.params) {
      const g = r[`grad_${p.name}`]!.data;
      sums[p.name] ??= new Float64Array(g.length);
      g.forEach((v, i) => (sums[p.name]![i] += v * len));
    }
    for (const s of padded.states) {
      const per = r[s.name]!.data.length;
      finals[s.name] ??= new Float64Array(per * B);
      finals[s.name]!.set(r[s.name]!.data, b * per);
    }
  });
  const grads = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v.map((x) => x / count)]));
  return { loss: lossSum / count, grads, finals };
}

function paddedEnv(c: TracedCell, seed: number, ignore: readonly number[] = []): Record<string, Tensor> {
  const env = randomEnv(c, T, seed);
  for (const i of ignore) env.target!.data[i] = -100;
  const { mask, weight } = maskAndWeight(LENGTHS, env.target!.data);
  // past a sequence's end the inputs and targets are padding: any value, here deliberately large
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) if (t >= LENGTHS[b]!) {
    for (const inp of c.inputs) if (inp.kind === 'dense') for (let k = 0; k < SMALL.X; k++) env[inp.name]!.data[(t * B + b) * SMALL.X + k] = 7;
  }
  // the interpreter reads class ids: an ignored target is any valid one (the host makes it 0)
  const target = tensor('i32', env.target!.shape, env.target!.data.map((v) => (v === -100 ? 0 : v)));
  return { ...env, target, __mask: mask, __weight: weight };
}

const batchFrom = (c: TracedCell, env: Record<string, Tensor>, targets: ArrayLike<number>): GenBatch & { lengths: Int32Array } => ({
  inputs: Object.fromEntries(c.inputs.map((i) => [i.name, i.kind === 'tokens' ? Int32Array.from(env[i.name]!.data) : Float64Array.from(env[i.name]!.data)])),
  targets: Int32Array.from(targets),
  lengths: Int32Array.from(LENGTHS),
});

describe.each(['elman', 'lstm', 'gru', 'lstm-stack', 'bilstm', 'bigru'])('%s: a padded batch with lengths', (name) => {
  const c = traceCell(cells[name]!, { sizes: SMALL, batch: B, lengths: true });

  it('gives the loss, gradients and final states of its sequences run one by one (interpreter, f64)', () => {
    const env = paddedEnv(c, 11);
    const want = oneByOne(name, env, c);
    const got = run(c, T, { k1: T, k2: T }, env);
    expect(Math.abs(got.loss!.data[0]! - want.loss)).toBeLessThan(1e-12);
    for (const p of c.params) expect(scaledErr(got[`grad_${p.name}`]!.data, want.grads[p.name]!), p.name).toBeLessThan(1e-12);
    for (const s of c.states) expect(scaledErr(got[s.name]!.data, want.finals[s.name]!), s.name).toBeLessThan(1e-12);
  });

  it(`the generated trainer (f64) matches the interpreter, full BPTT${c.layers ? '' : ' and in windows of 2'}, and ignores -100 targets`, async () => {
    const ignore = [1, 3 * B + 0]; // a live position of sequence 1 and one of sequence 0
    const env = paddedEnv(c, 12, ignore);
    const targets = Int32Array.from(env.target!.data);
    for (const i of ignore) targets[i] = -100;
    // a bidirectional model needs the whole sequence (refused truncated: test/layers.test.ts)
    for (const trunc of c.layers ? [{ k1: T, k2: T }] : [{ k1: T, k2: T }, { k1: 2, k2: 2 }]) {
      const want = run(c, T, trunc, env);
      const { mod } = await compileAndLoad(c, { seq: T, truncation: trunc, float: 'f64' });
      const t = mod.createTrainer();
      for (const p of c.params) t.params[p.name]!.set(env[p.name]!.data);
      for (const s of c.states) t.state[s.name]!.set(env[s.name]!.data);
      const loss = t.lossAndGrad(batchFrom(c, env, targets));
      expect(Math.abs(loss - want.loss!.data[0]!), `loss ${trunc.k1}`).toBeLessThan(1e-12);
      for (const p of c.params) expect(scaledErr(t.grads[p.name]!, want[`grad_${p.name}`]!.data), `${p.name} ${trunc.k1}`).toBeLessThan(1e-12);
      for (const s of c.states) expect(scaledErr(t.state[s.name]!, want[s.name]!.data), `${s.name} ${trunc.k1}`).toBeLessThan(1e-12);
    }
  });
});

describe('lengths: the batch checks', async () => {
  const c = traceCell(cells.elman!, { sizes: SMALL, batch: B, lengths: true });
  const { mod } = await compileAndLoad(c, { seq: T, float: 'f64' });
  const env = paddedEnv(c, 13);
  const good = batchFrom(c, env, env.target!.data);
  it.each([
    ['a length of 0', { lengths: Int32Array.from([5, 0, 3]) }, /lengths\[1\] = 0 is out of range: a length is 1\.\.5/],
    ['a length past T', { lengths: Int32Array.from([6, 2, 3]) }, /lengths\[0\] = 6 is out of range/],
    ['too few lengths', { lengths: Int32Array.from([5, 2]) }, /lengths has 2 values, expected 3/],
    ['lengths as a plain array', { lengths: [5, 2, 3] as unknown as Int32Array }, /lengths must be an Int32Array of 3 values/],
    ['a target out of range', { targets: Int32Array.from(good.targets, (v, i) => (i === 4 ? 9 : v)) }, /targets\[4\] = 9 is out of range \[0, 4\) and not -100/],
    ['every target ignored', { targets: new Int32Array(T * B).fill(-100) }, /no position is counted/],
  ])('%s is refused, naming the field, and nothing changes', (_, patch, message) => {
    const t = mod.createTrainer();
    const before = Array.from(t.exportParams());
    expect(() => t.step({ ...good, ...patch })).toThrow(message);
    expect(Array.from(t.exportParams())).toEqual(before);
  });
  it('spec says so', () => {
    expect((mod.spec as unknown as { lengths: unknown }).lengths).toEqual({ dtype: 'i32', shape: [B], ignoreIndex: -100 });
  });
  it('a batch without lengths is every sequence at full length', () => {
    const t = mod.createTrainer({ seed: 3 }), u = mod.createTrainer({ seed: 3 });
    const { lengths: _, ...full } = good;
    expect(t.lossAndGrad(full)).toBe(u.lossAndGrad({ ...good, lengths: Int32Array.from([T, T, T]) }));
  });
  it('step in windows of 2: a window where every sequence has ended only carries the state on', async () => {
    const { mod: m2 } = await compileAndLoad(c, { seq: T, truncation: { k1: 2, k2: 2 }, float: 'f64', optimizer: { kind: 'sgd', lr: 0.5, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, alpha: 0.99 } });
    const short = { ...good, lengths: Int32Array.from([2, 2, 1]) }; // steps 2..4 are padding everywhere
    const t = m2.createTrainer({ seed: 5 }), u = m2.createTrainer({ seed: 5 });
    const loss = u.lossAndGrad(short);
    const want = Array.from(u.exportParams(), (p, i) => p - 0.5 * Array.from(Object.values(u.grads)).flatMap((g) => Array.from(g))[i]!);
    expect(t.step(short)).toBeCloseTo(loss, 14);
    Array.from(t.exportParams()).forEach((p, i) => expect(p).toBeCloseTo(want[i]!, 14));
  });
  it('without --lengths, -100 is still an out-of-range target', async () => {
    const plain = traceCell(cells.elman!, { sizes: SMALL, batch: B });
    const { mod: m2 } = await compileAndLoad(plain, { seq: T, float: 'f64' });
    expect(() => m2.createTrainer().step({ inputs: good.inputs, targets: new Int32Array(T * B).fill(-100) })).toThrow(/targets\[0\] = -100 is out of range \[0, 4\)/);
  });
  it('a last-step loss with lengths is refused at trace time', () => {
    expect(() => traceCell(cells.elman!, { sizes: SMALL, batch: B, lengths: true, lossOn: 'last' })).toThrow(/variable lengths need a loss on every step/);
  });
});

describe('lengths: the generated module', () => {
  it('type-checks in strict mode (float32 and float64, truncated: the per-window counts)', () => {
    const project = new Project({ useInMemoryFileSystem: true, compilerOptions: { strict: true, noUnusedLocals: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, lib: ['lib.es2022.d.ts'], types: [] } });
    const c = traceCell(cells.lstm!, { sizes: SMALL, batch: B, lengths: true });
    for (const float of ['f32', 'f64'] as const) {
      const sf = project.createSourceFile(`lstm_${float}.ts`, compileTrainer(c, { seq: T, truncation: { k1: 2, k2: 3 }, float }));
      const diags = sf.getPreEmitDiagnostics();
      expect(diags.length, project.formatDiagnosticsWithColorAndContext(diags)).toBe(0);
    }
  }, 60_000);
});
