// Bad: divides the [H] state by an [X] parameter.
import { cell, tanh } from '../../../src/dsl/index.ts';

export default cell('div_shape', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W_ih = param('weight_ih', [H, X]);
  const scale = param('scale', [X]);
  const h1 = tanh(W_ih.mv(x)).div(scale); // ← error
  return { next: { h: h1.add(h) }, output: h1 };
});
