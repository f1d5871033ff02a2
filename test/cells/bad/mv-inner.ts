// Bad: the weight has H + 1 columns for an input of X = 2.
import { cell, tanh } from '../../../src/dsl/index.ts';

export default cell('mv_inner', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W_ih = param('weight_ih', [H, H + 1]);
  const W_hh = param('weight_hh', [H, H]);
  const pre = W_hh.mv(h);
  const z = pre.add(W_ih.mv(x)); // ← error
  return { next: { h: tanh(z) }, output: h };
});
