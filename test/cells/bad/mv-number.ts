// Bad: a number where mv needs a vector (it used to be an internal error, exit 70).
import { cell, tanh, type Tensor } from '../../../src/dsl/index.ts';

export default cell('mv_number', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W_ih = param('weight_ih', [H, X]);
  // the cast hides from TypeScript what a cell written in JavaScript could do
  const z = W_ih.mv(3 as unknown as Tensor); // ← error
  return { next: { h: tanh(z.add(h)) }, output: x };
});
