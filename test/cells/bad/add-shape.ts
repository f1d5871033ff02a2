// Bad: adds a [4H] vector to an [H] bias.
import { cell, tanh } from '../../../src/dsl/index.ts';

export default cell('add_shape', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W_ih = param('weight_ih', [4 * H, X]);
  const b_ih = param('bias_ih', [H]);
  const z = W_ih.mv(x).add(b_ih); // ← error
  return { next: { h: tanh(z) }, output: h };
});
