// A TypeScript program (an ES-module package), run with `npx tsx app.ts` and checked with `npx tsc`.
// The trainer is TypeScript too: its `spec` is a literal type, so the sizes below are known to the
// compiler, and a batch of the wrong array type does not type-check.
import { createTrainer, spec, type Batch } from './trainer.ts';

// A toy task: the tag of each step is which of the previous step's first Y inputs was largest
// (step 0: tag 0), so the network has to remember one step.
function toyBatch(seed: number): Batch {
  const { batch: B, seq: T } = spec, { X, Y } = spec.sizes;
  const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const x = new Float32Array(T * B * X).map(() => 2 * rand() - 1);
  const targets = new Int32Array(T * B);
  for (let t = 1; t < T; t++) for (let b = 0; b < B; b++) {
    const prev = ((t - 1) * B + b) * X;
    let best = 0;
    for (let k = 1; k < Y; k++) if (x[prev + k] > x[prev + best]) best = k;
    targets[t * B + b] = best;
  }
  return { inputs: { x }, targets };
}

const batch = toyBatch(1);
const trainer = createTrainer({ seed: 1 });
for (let i = 1; i <= 20; i++) {
  trainer.resetState(); // every step trains on the same sequences from the start
  console.log(`step ${i}: loss ${trainer.step(batch).toFixed(4)}`);
}
