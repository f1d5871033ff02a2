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
