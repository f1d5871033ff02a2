// Bad: the cell file awaits a Promise that never settles, so its import never ends (Node used to
// exit with code 13 and print nothing).
import { cell, tanh } from '../../../src/dsl/index.ts';

await new Promise(() => {});

export default cell('never', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const h1 = tanh(param('weight_ih', [H, X]).mv(input('x', [X])).add(state('h', [H])));
  return { next: { h: h1 }, output: h1 };
});
