/**
 * Nothing grows with T under truncation (issue 13): a trainer compiled with --truncate k runs its
 * windows as loops and its inference k1 steps at a time, so its module, its scratch arena and the
 * buffers it allocates depend on k, not on the sequence length. (Full BPTT keeps O(T) saved values
 * for the backward pass, as it must.)
 */
import { describe, expect, it } from 'vitest';
import lstm from '../examples/cells/lstm.ts';
import { compileTrainer } from '../src/compile.ts';
import { traceCell } from '../src/dsl/trace.ts';
import { windowRunsOf, windowsOf } from '../src/layout.ts';
import { planTraining } from '../src/program.ts';
import { importGenerated } from '../src/run-module.ts';
import type { GenModule } from './trainer-helpers.ts';

const SIZES = { X: 4, H: 5, Y: 3 };
const B = 2;
const scratch = (source: string) => /\/\/ Scratch memory: (.*)/.exec(source)![1]!;
const compile = (T: number, k: number) => compileTrainer(traceCell(lstm, { sizes: SIZES, batch: B }), { seq: T, truncation: { k1: k, k2: k } });

describe('long sequences under truncation', () => {
  it('the module and its arena are the same size at T = 1,000 and T = 100,000 (k = 50)', () => {
    const [a, b] = [compile(1_000, 50), compile(100_000, 50)];
    expect(scratch(b)).toBe(scratch(a));
    // the module differs only in the numbers that say T (spec, checks, loop counts)
    expect(Math.abs(b.length - a.length)).toBeLessThan(200);
  });

  it('at T = 10,000 step and predict run window by window and give finite results; predict matches a shorter trainer on the same steps', async () => {
    const T = 10_000;
    const long = (await importGenerated<GenModule>(compile(T, 50))).createTrainer({ seed: 3 });
    const short = (await importGenerated<GenModule>(compile(100, 50))).createTrainer({ seed: 3 });
    let s = 7;
    const x = Float32Array.from({ length: T * B * SIZES.X }, () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1);
    const targets = Int32Array.from({ length: T * B }, (_, i) => i % SIZES.Y);
    expect(Number.isFinite(long.step({ inputs: { x }, targets }))).toBe(true);
    long.resetState();
    short.importParams(long.exportParams());
    const logits = long.predict({ x });
    expect(logits).toHaveLength(T * B * SIZES.Y);
    expect(logits.every(Number.isFinite)).toBe(true);
    // inference is causal and starts from the same state: its first 100 steps are the short trainer's
    expect(Array.from(logits.subarray(0, 100 * B * SIZES.Y))).toEqual(Array.from(short.predict({ x: x.subarray(0, 100 * B * SIZES.X) })));
  }, 120_000);
});

/** The windows of TBPTT(k1, k2) one by one, as src/layout.ts listed them before they became a formula. */
function referenceWindows(seq: number, k1: number, k2: number) {
  const ends: number[] = [];
  for (let e = k1; e < seq; e += k1) ends.push(e);
  ends.push(seq);
  const history = k2 >= seq ? seq : k2 - k1;
  const startOf = (lossStart: number) => Math.max(0, lossStart - history);
  return ends.map((end, i) => {
    const prevEnd = i === 0 ? 0 : ends[i - 1]!;
    const start = startOf(prevEnd);
    const nextStart = i + 1 < ends.length ? startOf(end) : end;
    return { start, len: end - start, lossFrom: prevEnd - start, carryAt: nextStart - start };
  });
}

describe('the windows of a sequence as a formula', () => {
  it('expand to the windows one by one, for every T up to 40 and every k1 <= k2', () => {
    for (let seq = 1; seq <= 40; seq++) {
      for (let k1 = 1; k1 <= seq; k1++) {
        for (let k2 = k1; k2 <= seq + 1; k2++) {
          const t = { k1, k2: Math.min(k2, seq) };
          expect(windowsOf(seq, t), `T=${seq} ${k1}:${k2}`).toEqual(referenceWindows(seq, t.k1, t.k2));
          // a few runs: the windows whose history is cut at step 0, the equal ones, the last
          if (t.k2 < seq) expect(windowRunsOf(seq, t).length).toBeLessThanOrEqual(Math.ceil((t.k2 - t.k1) / t.k1) + 2);
        }
      }
    }
  });

  it('a program over 1,000,000 steps in windows of 1 holds a few runs, not a million windows', () => {
    const p = planTraining(traceCell(lstm, { sizes: SIZES, batch: B }), 1_000_000, { k1: 1, k2: 1 });
    expect(p.sequence.map(({ fn, start, stride, count }) => ({ fn, start, stride, count }))).toEqual([{ fn: 'window0', start: 0, stride: 1, count: 1_000_000 }]);
    expect(p.inferenceSequence.map(({ fn, start, stride, count }) => ({ fn, start, stride, count }))).toEqual([{ fn: 'forward', start: 0, stride: 1, count: 1_000_000 }]);
    const q = planTraining(traceCell(lstm, { sizes: SIZES, batch: B }), 1_000_003, { k1: 5, k2: 7 });
    // the first window has no history before it, then 199,999 equal windows, then the 3 steps left
    expect(q.sequence.map(({ start, stride, count, len, index }) => ({ start, stride, count, len, index }))).toEqual([
      { start: 0, stride: 0, count: 1, len: 5, index: 0 },
      { start: 3, stride: 5, count: 199_999, len: 7, index: 1 },
      { start: 999_998, stride: 0, count: 1, len: 5, index: 200_000 },
    ]);
    expect(q.inferenceSequence.map(({ fn, start, count, len }) => ({ fn, start, count, len }))).toEqual([{ fn: 'forward', start: 0, count: 200_000, len: 5 }, { fn: 'forward1', start: 1_000_000, count: 1, len: 3 }]);
  });
});

describe('sizes a trainer cannot allocate', () => {
  it('are refused when compiling, with what the trainer would need', () => {
    const c = traceCell(lstm, { sizes: { X: 4, H: 40_000, Y: 3 }, batch: B });
    expect(() => compileTrainer(c, { seq: 4 })).toThrow(/these sizes need 6401080003 elements for the parameters, more than the 4294967296 a typed array can hold \(the trainer would need [\d.]+ GiB in all\)/);
  });

  it('a size past 2^53 is refused rather than rounded', () => {
    expect(() => traceCell(lstm, { sizes: { H: 2 ** 53 + 2 } })).toThrow(/size 'H' must be a positive integer below 2\^53/);
  });

  it("the module's header states all it allocates", () => {
    expect(compile(100, 50)).toMatch(/^\/\/ All it allocates: [\d.]+ MiB \(parameters, gradients, optimizer state, state, the copies step\(\) restores from, scratch\)\.$/m);
  });
});

describe('rnnc check past what it can run', () => {
  it('refuses a long sequence or huge sizes at once, with what to give instead', async () => {
    const { checkCell } = await import('../src/check.ts');
    const small = traceCell(lstm, { sizes: SIZES, batch: B });
    await expect(checkCell(small, 10_000, { k1: 10_000, k2: 10_000 })).rejects.toThrow(/--seq 10000: .* give --seq 500 or less/);
    const huge = traceCell(lstm, { sizes: { X: 4, H: 5000, Y: 3 }, batch: B });
    await expect(checkCell(huge, 4, { k1: 4, k2: 4 })).rejects.toThrow(/these sizes hold \d+ values .* check at smaller ones/);
  });
});
