// LSTM, as PyTorch's nn.LSTM: the gates i, f, g, o are the four row blocks of W_ih and W_hh.
import { cell, init, sigmoid, tanh } from '../../src/dsl/index.ts';

export default cell('lstm', { X: 16, H: 32, Y: 8 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]);
  const c = state('c', [H]);
  const W_ih = param('weight_ih', [4 * H, X], init.pytorch(H));
  const W_hh = param('weight_hh', [4 * H, H], init.pytorch(H));
  const b_ih = param('bias_ih', [4 * H], init.pytorch(H));
  const b_hh = param('bias_hh', [4 * H], init.pytorch(H));
  const [i, f, g, o] = W_ih.mv(x).add(b_ih).add(W_hh.mv(h)).add(b_hh).split(4);
  const c1 = sigmoid(f!).mul(c).add(sigmoid(i!).mul(tanh(g!)));
  const h1 = sigmoid(o!).mul(tanh(c1));
  return { next: { h: h1, c: c1 }, output: h1 };
});
