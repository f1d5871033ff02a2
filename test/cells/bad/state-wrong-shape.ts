// Bad: the next value of h has twice the state's size.
import { cell, concat, tanh } from '../../../src/dsl/index.ts';

export default cell('wrong_shape', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W_ih = param('weight_ih', [H, X]);
  const h1 = tanh(W_ih.mv(x).add(h));
  const both = concat(h1, h1); // ← error
  return { next: { h: both }, output: h1 };
});
