// Bad: next is the new state itself, not an object naming the state it updates.
import { cell, tanh, type Tensor } from '../../../src/dsl/index.ts';

export default cell('next_not_object', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => { // ← error
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W_ih = param('weight_ih', [H, X]);
  const h1 = tanh(W_ih.mv(x).add(h));
  return { next: h1 as unknown as Record<string, Tensor>, output: h1 };
});
