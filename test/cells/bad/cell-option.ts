// Bad: an option value the cell does not know: caught where the cell is defined.
import { cell, tanh, type CellOptions } from '../../../src/dsl/index.ts';

export default cell('cell_option', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, state, param }) => { // ← error
  const x = input('x', [X]);
  const h = state('h', [H]);
  const W_ih = param('weight_ih', [H, X]);
  const h1 = tanh(W_ih.mv(x).add(h));
  return { next: { h: h1 }, output: h1 };
}, { loss: 'xent' } as unknown as CellOptions);
