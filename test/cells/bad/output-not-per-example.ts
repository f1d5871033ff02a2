// Bad: the step's output is computed from a parameter only, the same for every example.
import { cell, tanh } from '../../../src/dsl/index.ts';

export default cell('output_not_per_example', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W_ih = param('weight_ih', [H, X]);
  const bias = param('bias', [H]);
  const h1 = tanh(W_ih.mv(x).add(h));
  const out = tanh(bias); // ← error
  return { next: { h: h1 }, output: out };
});
