/**
 * Parameter initialisation schemes, as data: the generated trainer emits code from them and the
 * seeded generator there draws the numbers.
 */
export type Init =
  | { readonly kind: 'zeros' }
  | { readonly kind: 'uniform'; readonly bound: number } // U(-bound, bound); PyTorch's RNN default is bound = 1/sqrt(H)
  | { readonly kind: 'normal'; readonly std: number } // PyTorch's nn.Embedding default is N(0, 1)
  | { readonly kind: 'xavier' } // Glorot uniform: bound = sqrt(6 / (fan_in + fan_out))
  | { readonly kind: 'orthogonal'; readonly gain: number } // each square block orthogonal (QR of a Gaussian)
  | { readonly kind: 'identity'; readonly scale: number }; // scale * I, per square block (IRNN: Le et al. 2015)

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
