// Bad: the matrix of mv is an input, different for every example; mv takes a parameter.
import { cell, tanh } from '../../../src/dsl/index.ts';

export default cell('mv_per_example', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state }) => {
  const m = input('m', [H, X]);
  const x = input('x', [X]);
  const h = state('h', [H]);
  const z = m.mv(x); // ← error
  return { next: { h: tanh(z.add(h)) }, output: h };
});
