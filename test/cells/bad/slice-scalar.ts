// Bad: slices a scalar (a sum); there is no last axis (it used to slice the batch).
import { cell, tanh } from '../../../src/dsl/index.ts';

export default cell('slice_scalar', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W_ih = param('weight_ih', [H, X]);
  const s = h.sum().slice(0, 1); // ← error
  return { next: { h: tanh(W_ih.mv(x).add(s)) }, output: h };
});
