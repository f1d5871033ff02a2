// Bad: looks up a dense input; lookup takes token ids from tokens(...).
import { cell, tanh } from '../../../src/dsl/index.ts';

export default cell('lookup_dense', { V: 5, E: 4, H: 3, Y: 2 }, ({ V, E, H }, { input, state, param }) => {
  const x = input('x', [2]);
  const h = state('h', [H]);
  const table = param('embedding', [V, E]);
  const W_ih = param('weight_ih', [H, E]);
  const e = table.lookup(x); // ← error
  return { next: { h: tanh(W_ih.mv(e).add(h)) }, output: h };
});
