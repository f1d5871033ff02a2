// Bad: a syntax error (a bracket too many); its message used to be cut off before its line and cause.
// JavaScript that Node loads itself, which names no line (rnnc finds it with TypeScript's parser);
// syntax-error.jsx is the same cell as tsx loads a .ts one. Not a .ts file: `npm run typecheck`
// would reject one that does not parse.
import { cell, tanh } from '../../../src/dsl/index.ts';

export default cell('syntax_error', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const h = state('h', [H]]); // ← error
  const h1 = tanh(param('weight_ih', [H, X]).mv(input('x', [X])).add(h));
  return { next: { h: h1 }, output: h1 };
});
