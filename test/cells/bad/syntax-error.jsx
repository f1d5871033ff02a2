// Bad: a syntax error (a bracket too many); its message used to be cut off before its line and cause.
// tsx parses this file with esbuild, as it does a .ts cell, and esbuild names the line; .jsx, not
// .ts: `npm run typecheck` would reject a .ts file that does not parse (syntax-error.js is the
// same cell as Node loads it itself).
import { cell, tanh } from '../../../src/dsl/index.ts';

export default cell('syntax_error', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => {
  const h = state('h', [H]]); // ← error
  const h1 = tanh(param('weight_ih', [H, X]).mv(input('x', [X])).add(h));
  return { next: { h: h1 }, output: h1 };
});
