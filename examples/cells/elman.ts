// Elman RNN, as PyTorch's nn.RNN (tanh): h' = tanh(W_ih x + b_ih + W_hh h + b_hh).
import { cell, init, tanh } from '../../src/dsl/index.ts';

export default cell('elman', { X: 16, H: 32, Y: 8 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W_ih = param('weight_ih', [H, X], init.pytorch(H));
  const W_hh = param('weight_hh', [H, H], init.pytorch(H));
  const b_ih = param('bias_ih', [H], init.pytorch(H));
  const b_hh = param('bias_hh', [H], init.pytorch(H));
  const h1 = tanh(W_ih.mv(x).add(b_ih).add(W_hh.mv(h)).add(b_hh));
  return { next: { h: h1 }, output: h1 };
});
