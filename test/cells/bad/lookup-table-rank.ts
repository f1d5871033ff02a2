// Bad: an embedding table of one axis; lookup needs [V, E].
import { cell, tanh } from '../../../src/dsl/index.ts';

export default cell('lookup_rank', { V: 5, E: 4, H: 3, Y: 2 }, ({ V, E, H }, { tokens, state, param }) => {
  const w = tokens('w', V);
  const h = state('h', [H]);
  const table = param('embedding', [V]);
  const W_ih = param('weight_ih', [H, E]);
  const e = table.lookup(w); // ← error
  return { next: { h: tanh(W_ih.mv(e).add(h)) }, output: h };
});
