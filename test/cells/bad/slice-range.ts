// Bad: elements [2, 5) of a [3] state.
import { cell, tanh } from '../../../src/dsl/index.ts';

export default cell('slice_range', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W_ih = param('weight_ih', [H, X]);
  const W_hh = param('weight_hh', [H, H]);
  const tail = h.slice(2, 5); // ← error
  return { next: { h: tanh(W_ih.mv(x).add(W_hh.mv(tail))) }, output: h };
});
