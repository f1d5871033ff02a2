// The first layer of the part-of-speech tagger (examples/pos/): PyTorch's nn.LSTM over the word's
// embedding (x, from --embed x=V) concatenated with an embedding of its shape class (`shape`: a
// suffix, capitalisation, hyphen or number class of every word, which is most of what a tagger
// knows of a word it has not seen). Stacked under a plain LSTM and run in both directions it is
// examples/cells/tagger.ts.
import { cell, concat, init, sigmoid, tanh } from '../../src/dsl/index.ts';

export default cell('tagger_lstm', { X: 48, S: 143, F: 16, H: 64, Y: 12 }, ({ X, S, F, H }, { input, tokens, state, param }) => {
  const word = input('x', [X]);
  const shape = param('shape_embedding', [S, F], init.normal(1)).lookup(tokens('shape', S));
  const x = concat(word, shape);
  const h = state('h', [H]);
  const c = state('c', [H]);
  const W_ih = param('weight_ih', [4 * H, X + F], init.pytorch(H));
  const W_hh = param('weight_hh', [4 * H, H], init.pytorch(H));
  const b_ih = param('bias_ih', [4 * H], init.pytorch(H));
  const b_hh = param('bias_hh', [4 * H], init.pytorch(H));
  const [i, f, g, o] = W_ih.mv(x).add(b_ih).add(W_hh.mv(h)).add(b_hh).split(4);
  const c1 = sigmoid(f!).mul(c).add(sigmoid(i!).mul(tanh(g!)));
  const h1 = sigmoid(o!).mul(tanh(c1));
  return { next: { h: h1, c: c1 }, output: h1 };
});
