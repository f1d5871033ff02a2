// Bad: a parameter takes the name of the state.
import { cell, tanh } from '../../../src/dsl/index.ts';

export default cell('duplicate', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]); // ← first
  const W_ih = param('weight_ih', [H, X]);
  const b = param('h', [H]); // ← error
  const h1 = tanh(W_ih.mv(x).add(b).add(h));
  return { next: { h: h1 }, output: h1 };
});
