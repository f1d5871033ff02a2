// Bad: the cell file imports a module that does not exist.
// @ts-expect-error: TypeScript sees it too; a cell written in JavaScript would not
import { gates } from './no-such-helpers.ts';
import { cell, tanh } from '../../../src/dsl/index.ts';

export default cell('imports_missing', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const h1 = tanh(gates(param('weight_ih', [H, X]).mv(input('x', [X]))).add(state('h', [H])));
  return { next: { h: h1 }, output: h1 };
});
