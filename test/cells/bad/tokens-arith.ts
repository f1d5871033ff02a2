// Bad: arithmetic on token ids, which are indices, not numbers.
import { cell, tanh } from '../../../src/dsl/index.ts';

export default cell('tokens_arith', { V: 5, E: 4, H: 3, Y: 2 }, ({ V, E, H }, { tokens, state, param }) => {
  const w = tokens('w', V);
  const h = state('h', [H]);
  const table = param('embedding', [V, E]);
  const W_ih = param('weight_ih', [H, E]);
  const shifted = w.add(1); // ← error
  return { next: { h: tanh(W_ih.mv(table.lookup(shifted)).add(h)) }, output: h };
});
