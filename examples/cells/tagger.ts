// The part-of-speech tagger of examples/pos/: a bidirectional LSTM over words and their shape
// classes (examples/cells/tagger-lstm.ts), with a second bidirectional LSTM layer on top when
// stacked (tagger2.ts); the readout sees both directions of the top layer.
import { bidirectional } from '../../src/dsl/index.ts';
import taggerLstm from './tagger-lstm.ts';

export default bidirectional(taggerLstm);
