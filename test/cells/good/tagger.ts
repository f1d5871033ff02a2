// A tagger cell written with token ids and a lookup of its own (not --embed), and a second, dense
// input beside them: h' = tanh(W_ih [E[w]; f] + b_ih + W_hh h + b_hh).
import { cell, concat, init, tanh } from '../../../src/dsl/index.ts';

export default cell('tagger', { V: 7, E: 3, F: 2, H: 4, Y: 3 }, ({ V, E, F, H }, { input, tokens, state, param }) => {
  const w = tokens('w', V);
  const f = input('f', [F]);
  const h = state('h', [H]);
  const table = param('embedding', [V, E], init.normal(1));
  const W_ih = param('weight_ih', [H, E + F], init.xavier());
  const W_hh = param('weight_hh', [H, H], init.orthogonal());
  const b_ih = param('bias_ih', [H], init.zeros());
  const b_hh = param('bias_hh', [H], init.zeros());
  const x = concat(table.lookup(w), f);
  const h1 = tanh(W_ih.mv(x).add(b_ih).add(W_hh.mv(h)).add(b_hh));
  return { next: { h: h1 }, output: h1 };
});
