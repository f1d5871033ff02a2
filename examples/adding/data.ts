/**
 * The adding problem (Hochreiter & Schmidhuber 1997; Le, Jaitly & Hinton 2015): each step carries a
 * value drawn from U(0, 1) and a marker; exactly two steps are marked, one in each half of the
 * sequence, and the target, read on the last step, is the sum of the two marked values. Always
 * answering 1 (the mean of the sum) scores the variance of the sum, 2/12 ≈ 0.167.
 */

/** mulberry32, the project's seeded generator (ir/gradcheck.ts): a run is reproducible from its seed. */
export { rng as random } from '../../ir/gradcheck.ts';

/** The MSE of always answering the mean: Var(U + U') = 2/12. */
export const BASELINE_MSE = 1 / 6;

/** A batch in the trainer's layout: x [T, B, 2] time-major (value, marker), targets [B, 1]. */
export function addingBatch(rand: () => number, T: number, B: number): { inputs: { x: Float32Array }; targets: Float32Array } {
  const x = new Float32Array(T * B * 2), targets = new Float32Array(B);
  const half = Math.floor(T / 2);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) x[(t * B + b) * 2] = rand();
    const first = Math.floor(rand() * half), second = half + Math.floor(rand() * (T - half));
    x[(first * B + b) * 2 + 1] = 1;
    x[(second * B + b) * 2 + 1] = 1;
    targets[b] = x[(first * B + b) * 2]! + x[(second * B + b) * 2]!;
  }
  return { inputs: { x }, targets };
}
