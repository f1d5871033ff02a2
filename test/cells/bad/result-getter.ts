// Bad: the step's result has a getter that throws as rnnc reads it (it used to be an internal error): at the getter's line.
import { cell, tanh } from '../../../src/dsl/index.ts';

export default cell('result_getter', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const h1 = tanh(param('weight_ih', [H, X]).mv(input('x', [X])).add(state('h', [H])));
  return {
    next: { h: h1 },
    get output(): typeof h1 {
      throw new RangeError('no output yet'); // ← error
    },
  };
});
