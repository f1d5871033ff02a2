// A custom cell: the minimal gated unit (Zhou et al. 2016), a GRU with one forget gate f doing
// the work of both r and z:  f = σ(W_f [x; h] + b_f),  n = tanh(W_n [x; f ⊙ h] + b_n),
// h' = (1 - f) ⊙ h + f ⊙ n. Written from primitives, like every cell.
import { cell, concat, init, sigmoid, tanh } from '../../src/dsl/index.ts';

export default cell('mgu', { X: 16, H: 32, Y: 8 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W_f = param('weight_f', [H, X + H], init.xavier());
  const b_f = param('bias_f', [H], init.zeros());
  const W_n = param('weight_n', [H, X + H], init.xavier());
  const b_n = param('bias_n', [H], init.zeros());
  const f = sigmoid(W_f.mv(concat(x, h)).add(b_f));
  const n = tanh(W_n.mv(concat(x, f.mul(h))).add(b_n));
  const h1 = f.neg().add(1).mul(h).add(f.mul(n));
  return { next: { h: h1 }, output: h1 };
});
