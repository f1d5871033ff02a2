// The model: an Elman RNN (PyTorch's nn.RNN, tanh) that tags every step of a sequence with one of
// Y classes. A cell file is TypeScript; rnnc reads it at compile time only.
import { cell, init, tanh } from 'rnnc/dsl';

export default cell('tagger', { X: 4, H: 16, Y: 3 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W_ih = param('weight_ih', [H, X], init.pytorch(H));
  const W_hh = param('weight_hh', [H, H], init.pytorch(H));
  const b = param('bias', [H], init.zeros());
  const h1 = tanh(W_ih.mv(x).add(W_hh.mv(h)).add(b));
  return { next: { h: h1 }, output: h1 };
});
