// Bad: subtracts the [X] input from the [H] state.
import { cell, tanh } from '../../../src/dsl/index.ts';

export default cell('sub_shape', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W_hh = param('weight_hh', [H, H]);
  const d = h.sub(x); // ← error
  return { next: { h: tanh(W_hh.mv(d)) }, output: h };
});
