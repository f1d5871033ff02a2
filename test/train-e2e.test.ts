/**
 * End to end: compile an Elman trainer (float32, Adam) and train it on a small task that needs
 * memory — at every step, name the token seen one step earlier (a delayed copy) — then check on
 * fresh, held-out sequences that it learned the task.
 */
import { describe, expect, it } from 'vitest';
import elman from '../examples/cells/elman.ts';
import { rng } from '../ir/gradcheck.ts';
import { defaultOptimizer } from '../src/compile.ts';
import { traceCell } from '../src/dsl/trace.ts';
import { compileAndLoad, type GenBatch } from './trainer-helpers.ts';

const V = 4, H = 16, B = 16, T = 10, STEPS = 300;

/** Sequences of random tokens, one-hot [T, B, V]; the target at step t is the token at t - 1 (0 at t = 0). */
function makeBatch(rand: () => number): { batch: GenBatch; tokens: Int32Array } {
  const tokens = Int32Array.from({ length: T * B }, () => Math.floor(rand() * V));
  const x = new Float32Array(T * B * V);
  tokens.forEach((tok, i) => (x[i * V + tok] = 1));
  const targets = Int32Array.from({ length: T * B }, (_, i) => (i < B ? 0 : tokens[i - B]!));
  return { batch: { inputs: { x }, targets }, tokens };
}

describe('training end to end', () => {
  it(`Elman (H = ${H}) learns a delayed copy with Adam in ${STEPS} steps`, async () => {
    const c = traceCell(elman, { sizes: { X: V, H, Y: V }, batch: B });
    const { mod } = await compileAndLoad(c, { seq: T, optimizer: defaultOptimizer('adam', 0.02), seed: 3 });
    const t = mod.createTrainer();
    const rand = rng(2024);
    const started = performance.now();
    const losses: number[] = [];
    for (let s = 0; s < STEPS; s++) {
      t.resetState(); // independent sequences
      losses.push(t.step(makeBatch(rand).batch));
    }
    const seconds = (performance.now() - started) / 1000;
    const first = losses[0]!; // the loss before any update
    const last = losses.slice(-10).reduce((a, b) => a + b) / 10;
    // chance level for 4 classes is ln 4 ≈ 1.386
    expect(first).toBeGreaterThan(1.2);
    expect(last).toBeLessThan(0.3 * first);

    // held out: fresh sequences from another generator; every step after the first
    const test = rng(777);
    let right = 0, total = 0;
    for (let k = 0; k < 8; k++) {
      const { batch, tokens } = makeBatch(test);
      t.resetState();
      const logits = t.predict(batch.inputs);
      for (let i = B; i < T * B; i++) {
        let best = 0;
        for (let y = 1; y < V; y++) if (logits[i * V + y]! > logits[i * V + best]!) best = y;
        right += best === tokens[i - B] ? 1 : 0;
        total++;
      }
    }
    const accuracy = right / total;
    // eslint-disable-next-line no-console
    console.log(`train-e2e: loss ${first.toFixed(3)} -> ${last.toFixed(3)} in ${STEPS} steps (${seconds.toFixed(2)} s), held-out accuracy ${(100 * accuracy).toFixed(1)}%`);
    expect(accuracy).toBeGreaterThan(0.95);
  }, 30_000);
});
