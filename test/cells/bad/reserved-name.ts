// Bad: a state named 'output', a name rnnc uses for the step's output (it used to lose its next value).
import { cell, tanh } from '../../../src/dsl/index.ts';

export default cell('reserved', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const s = state('output', [H]); // ← error
  const W_ih = param('weight_ih', [H, X]);
  const W_hh = param('weight_hh', [H, H]);
  const h1 = tanh(W_ih.mv(x).add(W_hh.mv(s)));
  return { next: { output: h1 }, output: h1.mul(2) };
});
