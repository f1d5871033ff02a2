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
  constant: (value: number): Init => ({ kind: 'constant', value }),
  /**
   * Equal parts along the first axis, each with its own scheme, as `.split(k)` cuts the value:
   * `init.split([u, init.constant(1), u, u])` is an LSTM bias with the forget gate's quarter at 1.
   */
  split: (parts: readonly Init[]): Init => ({ kind: 'split', parts: [...parts] }),
};
