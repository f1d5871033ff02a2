// Bad: a size of zero.
import { cell, tanh } from '../../../src/dsl/index.ts';

export default cell('size_zero', { X: 2, H: 0, Y: 2 }, ({ X, H }, { input, state, param }) => { // ← error
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W_ih = param('weight_ih', [H, X]);
  const W_hh = param('weight_hh', [H, H]);
  const h1 = tanh(W_ih.mv(x).add(W_hh.mv(h)));
  return { next: { h: h1 }, output: h1 };
});
