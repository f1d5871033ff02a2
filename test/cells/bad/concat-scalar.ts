// Bad: concatenates two scalars; there is no last axis to join along (it used to join the batch).
import { cell, concat, tanh } from '../../../src/dsl/index.ts';

export default cell('concat_scalar', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W = param('weight', [H, 2]);
  const pair = concat(x.sum(), h.sum()); // ← error
  return { next: { h: tanh(W.mv(pair)) }, output: h };
});
