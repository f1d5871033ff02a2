// Bad: splits the [4H] = [12] gates of an LSTM into 5 parts.
import { cell, sigmoid } from '../../../src/dsl/index.ts';

export default cell('split_count', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W_ih = param('weight_ih', [4 * H, X]);
  const [i, f] = W_ih.mv(x).split(5); // ← error
  return { next: { h: sigmoid(i!).mul(h).add(f!) }, output: h };
});
