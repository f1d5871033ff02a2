// The tagger with two bidirectional layers: nn.LSTM(num_layers=2, bidirectional=True) over the
// first layer's word and shape-class embeddings.
import { bidirectional, stack } from '../../src/dsl/index.ts';
import lstm from './lstm.ts';
import taggerLstm from './tagger-lstm.ts';

export default stack(bidirectional(taggerLstm), bidirectional(lstm));
