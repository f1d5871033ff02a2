// Bad: concatenates a [H] vector with a [H, X] matrix.
import { cell, concat, tanh } from '../../../src/dsl/index.ts';

export default cell('concat_shape', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W_ih = param('weight_ih', [H, X]);
  const both = concat(h, W_ih); // ← error
  return { next: { h: tanh(both) }, output: x };
});
