// Bad: a gate of 2H multiplies the [H] state (the gates were not split).
import { cell, sigmoid } from '../../../src/dsl/index.ts';

export default cell('mul_shape', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W_ih = param('weight_ih', [2 * H, X]);
  const gates = sigmoid(W_ih.mv(x));
  const h1 = gates.mul(h); // ← error
  return { next: { h: h1 }, output: h1 };
});
