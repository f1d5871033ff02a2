// Bad: the default export is a cell(...) copied with a getter that throws as rnnc reads it
// (it used to be an internal error): at the getter's line.
import { cell, tanh } from '../../../src/dsl/index.ts';

const real = cell('default_getter', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const h1 = tanh(param('weight_ih', [H, X]).mv(input('x', [X])).add(state('h', [H])));
  return { next: { h: h1 }, output: h1 };
});

export default {
  ...real,
  get step(): typeof real.step {
    throw new Error('the step is not ready'); // ← error
  },
};
