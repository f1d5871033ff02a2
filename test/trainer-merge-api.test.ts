/**
 * Where issue 11's trainer API meets issues 12, 13 and 10 (the merge of main into issue-11):
 * evaluation and diagnostics run as runs like the training windows (nothing grows with the number
 * of windows) and evaluate's runs give lossAndGrad's loss however the chunks fall; predict takes
 * variable lengths in its options (from zeros, the training state left alone, fewer sequences than
 * the batch); evaluate and --diagnose refuse --lengths in one line; checkpoints work with lengths.
 */
import { describe, expect, it } from 'vitest';
import { traceCell } from '../src/dsl/trace.ts';
import { compileTrainer } from '../src/compile.ts';
import { planTraining } from '../src/program.ts';
import { cells, SMALL } from './helpers.ts';
import { batchOf, compileAndLoad, randomEnv, type FloatArray } from './trainer-helpers.ts';

describe('evaluation and diagnostics as runs', () => {
  it('a 10,000-step program holds a few runs for evaluation and diagnostics, not one per window', () => {
    const c = traceCell(cells.elman!, { sizes: SMALL, batch: 2 });
    const p = planTraining(c, 10_000, { k1: 10, k2: 10 }, 1, true);
    expect(p.evaluationSequence.length).toBeLessThanOrEqual(2);
    expect(p.evaluationSequence.reduce((n, r) => n + r.count, 0)).toBe(1_000);
    expect(p.diagnostics!.sequence.length).toBe(p.sequence.length);
    expect(p.diagnostics!.sequence.length).toBeLessThanOrEqual(3);
    // a last-step loss: the chunks before the last carry no loss, the last one holds it
    const last = planTraining(traceCell(cells.elman!, { sizes: SMALL, batch: 2, lossOn: 'last' }), 10_000, { k1: 10, k2: 10 });
    expect(last.evaluationSequence.map((r) => r.count)).toEqual([999, 1]);
    expect(last.evaluation.map((e) => e.hasLoss)).toEqual([false, true]);
  });

  it.each([
    ['every', 8], ['every', 7], ['last', 8], ['last', 7], ['last', 2],
  ] as const)('evaluate equals lossAndGrad from zeros (loss on %s step, T = %i, chunks of 2)', async (lossOn, T) => {
    const c = traceCell(cells.lstm!, { sizes: SMALL, batch: 3, lossOn });
    const { mod } = await compileAndLoad(c, { seq: T, truncation: { k1: 2, k2: 2 }, float: 'f64' });
    const t = mod.createTrainer({ seed: 4 });
    const batch = batchOf(c, randomEnv(c, T, 9), 'f64');
    const ev = t.evaluate(batch);
    t.resetState();
    expect(Math.abs(ev - t.lossAndGrad(batch))).toBeLessThan(1e-12);
  });
});

describe('variable lengths with the trainer API of issue 11', () => {
  const T = 5, B = 3;
  const c = traceCell(cells.elman!, { sizes: SMALL, batch: B, lengths: true });
  const lengths = Int32Array.from([5, 2, 3]);
  const load = () => compileAndLoad(c, { seq: T, float: 'f64', optimizer: { kind: 'adam', lr: 0.05, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, alpha: 0.99 } });
  const batchFor = (seed: number) => ({ ...batchOf(c, randomEnv(c, T, seed), 'f64'), lengths });

  it("predict(inputs, out?, { lengths, final }) from zeros: lossAndGrad's final state, the training state left alone", async () => {
    const { mod } = await load();
    const t = mod.createTrainer({ seed: 2 });
    const batch = batchFor(5);
    const final: Record<string, FloatArray> = {};
    t.state.h!.fill(0.25);
    const logits = t.predict(batch.inputs, undefined, { lengths, final });
    expect(Array.from(t.state.h!)).toEqual(new Array(t.state.h!.length).fill(0.25));
    t.resetState();
    t.lossAndGrad(batch);
    expect(Array.from(final.h!)).toEqual(Array.from(t.state.h!));
    // fewer sequences than the batch: the first two, with their two lengths, give their rows
    const n = 2, X = SMALL.X, Y = SMALL.Y;
    const x = batch.inputs.x as Float64Array;
    const some = Float64Array.from({ length: T * n * X }, (_, i) => x[Math.floor(i / (n * X)) * B * X + (i % (n * X))]!);
    const part = t.predict({ x: some }, undefined, { lengths: lengths.slice(0, n) });
    for (let s = 0; s < T; s++) for (let j = 0; j < n * Y; j++) expect(part[s * n * Y + j]).toBeCloseTo(logits[s * B * Y + j]!, 12);
    expect(() => t.predict({ x: some }, undefined, { lengths })).toThrow(/^predict: options\.lengths has 3 values, expected 2 \[2\]/);
    expect(() => t.predict(batch.inputs, undefined, { lengths: Int32Array.from([5, 0, 3]) })).toThrow(/predict: options\.lengths\[1\] = 0 is out of range: a length is 1\.\.5/);
  });

  it('evaluate refuses --lengths in one line and changes nothing', async () => {
    const { mod } = await load();
    const t = mod.createTrainer({ seed: 2 });
    const before = Array.from(t.exportParams());
    expect(() => t.evaluate(batchFor(5))).toThrow(/^evaluate: not built with variable lengths \(--lengths\) yet; [^\n]*$/);
    expect(Array.from(t.exportParams())).toEqual(before);
  });

  it('--diagnose with --lengths is refused at compile time, in one line', () => {
    expect(() => compileTrainer(c, { seq: T, diagnose: true })).toThrow(/^diagnose: not built with variable lengths \(--lengths\) yet; compile without --diagnose$/);
  });

  it('a checkpoint of a --lengths trainer resumes exactly', async () => {
    const { mod } = await load();
    const a = mod.createTrainer({ seed: 3 }), b = mod.createTrainer({ seed: 99 });
    a.step(batchFor(1));
    b.loadCheckpoint(a.saveCheckpoint());
    for (const seed of [2, 3]) expect(b.step(batchFor(seed))).toBe(a.step(batchFor(seed)));
    expect(Array.from(b.exportParams())).toEqual(Array.from(a.exportParams()));
  });
});
