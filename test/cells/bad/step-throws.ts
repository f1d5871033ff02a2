// Bad: a typo in a method name; JavaScript throws a TypeError inside the step.
import { cell, tanh } from '../../../src/dsl/index.ts';

export default cell('step_throws', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W_ih = param('weight_ih', [H, X]);
  // @ts-expect-error: TypeScript sees the typo too; a cell written in JavaScript would not
  const z = W_ih.mvv(x); // ← error
  return { next: { h: tanh(z.add(h)) }, output: h };
});
