// Bad: a token input with an empty vocabulary.
import { cell, tanh } from '../../../src/dsl/index.ts';

export default cell('tokens_zero', { V: 5, E: 4, H: 3, Y: 2 }, ({ V, E, H }, { tokens, state, param }) => {
  const w = tokens('w', V - 5); // ← error
  const h = state('h', [H]);
  const table = param('embedding', [V, E]);
  const W_ih = param('weight_ih', [H, E]);
  return { next: { h: tanh(W_ih.mv(table.lookup(w)).add(h)) }, output: h };
});
