// Bad: a bias vector used as the matrix of a matrix-vector product.
import { cell, tanh } from '../../../src/dsl/index.ts';

export default cell('mv_rank', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]);
  const b_ih = param('bias_ih', [H]);
  const z = b_ih.mv(x); // ← error
  return { next: { h: tanh(z.add(h)) }, output: h };
});
