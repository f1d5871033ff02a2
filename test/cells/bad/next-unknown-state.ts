// Bad: next names a state 'hidden' that the cell never declared (the state is 'h').
import { cell, tanh } from '../../../src/dsl/index.ts';

export default cell('next_unknown', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W_ih = param('weight_ih', [H, X]);
  const h1 = tanh(W_ih.mv(x).add(h)); // ← error
  return { next: { hidden: h1 }, output: h1 };
});
