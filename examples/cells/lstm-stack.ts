// Two LSTM layers, the second reading the first's output: PyTorch's nn.LSTM(num_layers=2).
// Parameters weight_ih_l0 ... bias_hh_l1, states h_l0, c_l0, h_l1, c_l1; one Scan runs both layers.
import { stack } from '../../src/dsl/index.ts';
import lstm from './lstm.ts';

export default stack(lstm, lstm);
