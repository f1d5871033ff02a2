// A two-layer bidirectional GRU: PyTorch's nn.GRU(num_layers=2, bidirectional=True).
import { bidirectional, stack } from '../../src/dsl/index.ts';
import gru from './gru.ts';

export default stack(bidirectional(gru), bidirectional(gru));
