// Bad: the step's output is a number, not a tensor.
import { cell, tanh, type Tensor } from '../../../src/dsl/index.ts';

export default cell('not_tensor', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => { // ← error
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W_ih = param('weight_ih', [H, X]);
  const h1 = tanh(W_ih.mv(x).add(h));
  // the cast hides from TypeScript what a cell written in JavaScript could do
  return { next: { h: h1 }, output: 42 as unknown as Tensor };
});
