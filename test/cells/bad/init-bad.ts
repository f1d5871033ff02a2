// Bad: an init scheme given by name; param takes init.zeros() and the like.
import { cell, tanh, type Init } from '../../../src/dsl/index.ts';

export default cell('init_bad', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W_ih = param('weight_ih', [H, X], 'zeros' as unknown as Init); // ← error
  const h1 = tanh(W_ih.mv(x).add(h));
  return { next: { h: h1 }, output: h1 };
});
