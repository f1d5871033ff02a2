// Bad: the step returns the new state alone, not { next, output }.
import { cell, tanh, type StepResult } from '../../../src/dsl/index.ts';

export default cell('returns_tensor', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => { // ← error
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W_ih = param('weight_ih', [H, X]);
  const h1 = tanh(W_ih.mv(x).add(h));
  return h1 as unknown as StepResult;
});
