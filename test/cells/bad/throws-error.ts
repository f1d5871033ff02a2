// Bad: the cell file's top-level code throws (a typo outside the step): at its line.
import { cell, tanh } from '../../../src/dsl/index.ts';

const sizes = { X: 2, H: 3, Y: 2 };
// @ts-expect-error: TypeScript sees the typo too; a cell written in JavaScript would not
const H = sizes.hidden.valueOf(); // ← error

export default cell('throws_error', sizes, ({ X }, { input, state, param }) => {
  const h1 = tanh(param('weight_ih', [H, X]).mv(input('x', [X])).add(state('h', [H])));
  return { next: { h: h1 }, output: h1 };
});
