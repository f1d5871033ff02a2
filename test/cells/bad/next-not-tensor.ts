// Bad: the next value of a state is a number; the error points at the state's declaration.
import { cell, tanh, type Tensor } from '../../../src/dsl/index.ts';

export default cell('next_not_tensor', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]); // ← error
  const W_ih = param('weight_ih', [H, X]);
  const h1 = tanh(W_ih.mv(x).add(h));
  return { next: { h: 0 as unknown as Tensor }, output: h1 };
});
