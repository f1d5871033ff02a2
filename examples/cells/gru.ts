// GRU, as PyTorch's nn.GRU: gates r, z, n; the reset gate scales (W_hn h + b_hn), and
// h' = (1 - z) n + z h.
import { cell, init, sigmoid, tanh } from '../../src/dsl/index.ts';

export default cell('gru', { X: 16, H: 32, Y: 8 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W_ih = param('weight_ih', [3 * H, X], init.pytorch(H));
  const W_hh = param('weight_hh', [3 * H, H], init.pytorch(H));
  const b_ih = param('bias_ih', [3 * H], init.pytorch(H));
  const b_hh = param('bias_hh', [3 * H], init.pytorch(H));
  const [xr, xz, xn] = W_ih.mv(x).add(b_ih).split(3);
  const [hr, hz, hn] = W_hh.mv(h).add(b_hh).split(3);
  const r = sigmoid(xr!.add(hr!));
  const z = sigmoid(xz!.add(hz!));
  const n = tanh(xn!.add(r.mul(hn!)));
  const h1 = z.neg().add(1).mul(n).add(z.mul(h));
  return { next: { h: h1 }, output: h1 };
});
