// Bad: the cell file throws null as it is imported (it used to be an internal error).
import { cell, tanh } from '../../../src/dsl/index.ts';

// a cell written in JavaScript can throw anything
const fail = (): never => {
  throw null;
};
fail();

export default cell('throws_null', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const h1 = tanh(param('weight_ih', [H, X]).mv(input('x', [X])).add(state('h', [H])));
  return { next: { h: h1 }, output: h1 };
});
