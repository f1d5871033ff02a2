// Bad: the step reads a size 'Q' that the cell does not declare.
import { cell, tanh } from '../../../src/dsl/index.ts';

export default cell('unknown_read', { X: 2, H: 3, Y: 2 }, (sizes, { input, state, param }) => {
  const x = input('x', [sizes.X]);
  const h = state('h', [sizes.H]);
  // @ts-expect-error: TypeScript sees the typo too; the trace must still report it well
  const Q: number = sizes.Q; // ← error
  const W = param('weight_ih', [Q, sizes.X]);
  return { next: { h: tanh(W.mv(x)) }, output: h };
});
