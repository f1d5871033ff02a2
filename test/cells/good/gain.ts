// Scalars against vectors: a learned gain (a parameter of shape []) and a per-example scalar (the
// state's energy), each broadcast over [H]: h' = tanh(α (W x + U h)) / (1 + |h|²).
import { cell, init, tanh } from '../../../src/dsl/index.ts';

export default cell('gain', { X: 3, H: 4, Y: 3 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]);
  const alpha = param('alpha', [], init.uniform(1));
  const W = param('weight_ih', [H, X]);
  const U = param('weight_hh', [H, H]);
  const energy = h.mul(h).sum();
  const h1 = tanh(W.mv(x).add(U.mv(h)).mul(alpha)).div(energy.add(1));
  return { next: { h: h1 }, output: h1 };
});
