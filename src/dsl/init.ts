/**
 * Parameter initialisation schemes, as data: the generated trainer emits code from them and the
 * seeded generator there draws the numbers.
 */
import type { Init } from '../../ir/program.ts';

export type { Init };

export const init = {
  zeros: (): Init => ({ kind: 'zeros' }),
  uniform: (bound: number): Init => ({ kind: 'uniform', bound }),
  /** PyTorch's default for nn.RNN/LSTM/GRU weights and biases: U(-1/sqrt(H), 1/sqrt(H)). */
  pytorch: (hidden: number): Init => ({ kind: 'uniform', bound: 1 / Math.sqrt(hidden) }),
  normal: (std = 1): Init => ({ kind: 'normal', std }),
  xavier: (): Init => ({ kind: 'xavier' }),
  orthogonal: (gain = 1): Init => ({ kind: 'orthogonal', gain }),
  identity: (): Init => ({ kind: 'identity', scale: 1 }),
  scaledIdentity: (scale: number): Init => ({ kind: 'identity', scale }),
};
