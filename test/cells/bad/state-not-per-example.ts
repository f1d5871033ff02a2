// Bad: the state's next value is a parameter: the right size, but the same for every example.
import { cell, tanh } from '../../../src/dsl/index.ts';

export default cell('not_per_example', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W_ih = param('weight_ih', [H, X]);
  const h0 = param('h0', [H]); // ← error
  const h1 = tanh(W_ih.mv(x).add(h));
  return { next: { h: h0 }, output: h1 };
});
