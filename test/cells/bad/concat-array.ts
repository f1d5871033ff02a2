// Bad: passes an array to concat, as torch.cat takes one; concat takes the tensors themselves.
import { cell, concat, tanh, type Tensor } from '../../../src/dsl/index.ts';

export default cell('concat_array', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W = param('weight', [H, X + H]);
  const xh = concat([x, h] as unknown as Tensor); // ← error
  return { next: { h: tanh(W.mv(xh)) }, output: h };
});
