// A two-layer bidirectional LSTM: PyTorch's nn.LSTM(num_layers=2, bidirectional=True), its weights
// named as PyTorch names them (weight_ih_l0, weight_ih_l0_reverse, weight_ih_l1, ...), and a
// linear readout (out_weight [Y, 2H], out_bias [Y]) over both directions of the top layer.
import { bidirectional, stack } from '../../src/dsl/index.ts';
import lstm from './lstm.ts';

export default stack(bidirectional(lstm), bidirectional(lstm));
