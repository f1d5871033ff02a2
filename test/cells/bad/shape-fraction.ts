// Bad: H / 2 is not a whole number for H = 3.
import { cell, tanh } from '../../../src/dsl/index.ts';

export default cell('shape_fraction', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W_ih = param('weight_ih', [H / 2, X]); // ← error
  const h1 = tanh(W_ih.mv(x).add(h));
  return { next: { h: h1 }, output: h1 };
});
