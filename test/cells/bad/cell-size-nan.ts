// Bad: a size declared NaN (0 / 0 somewhere upstream): caught where the cell is defined.
import { cell, tanh } from '../../../src/dsl/index.ts';

export default cell('size_nan', { X: 2, H: NaN, Y: 2 }, ({ X, H }, { input, state, param }) => { // ← error
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W_ih = param('weight_ih', [H, X]);
  const h1 = tanh(W_ih.mv(x).add(h));
  return { next: { h: h1 }, output: h1 };
});
