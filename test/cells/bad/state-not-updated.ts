// Bad: the cell state c is declared but the step does not return its next value.
import { cell, tanh } from '../../../src/dsl/index.ts';

export default cell('not_updated', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]);
  const c = state('c', [H]); // ← error
  const W_ih = param('weight_ih', [H, X]);
  const h1 = tanh(W_ih.mv(x).add(h).add(c));
  return { next: { h: h1 }, output: h1 };
});
