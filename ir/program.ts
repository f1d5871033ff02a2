/**
 * What a trainer runs, as data the back end reads: the model's interface (sizes, parameters with
 * their init schemes, states, inputs, target, loss), one optimized graph per distinct truncation
 * window, the order in which the windows cover a sequence, and the inference graph. The front end
 * (src/program.ts) builds it; codegen reads it and builds no graphs of its own.
 */
import type { Graph } from './graph.ts';

/** Parameter initialisation schemes, as data: the generated trainer draws the numbers. */
export type Init =
  | { readonly kind: 'zeros' }
  | { readonly kind: 'uniform'; readonly bound: number } // U(-bound, bound); PyTorch's RNN default is bound = 1/sqrt(H)
  | { readonly kind: 'normal'; readonly std: number } // PyTorch's nn.Embedding default is N(0, 1)
  | { readonly kind: 'xavier' } // Glorot uniform: bound = sqrt(6 / (fan_in + fan_out))
  | { readonly kind: 'orthogonal'; readonly gain: number } // each square block orthogonal (QR of a Gaussian)
  | { readonly kind: 'identity'; readonly scale: number } // scale * I, per square block (IRNN: Le et al. 2015)
  | { readonly kind: 'constant'; readonly value: number }
  // equal parts along the first axis, each with its own scheme: the gates of a stacked LSTM weight
  // or bias (the forget gate's bias at 1: Gers et al. 2000, Jozefowicz et al. 2015)
  | { readonly kind: 'split'; readonly parts: readonly Init[] };

export interface Truncation {
  readonly k1: number;
  readonly k2: number;
}

export type OptimizerKind = 'sgd' | 'momentum' | 'adam' | 'adamw' | 'rmsprop';

export interface OptimizerSpec {
  readonly kind: OptimizerKind;
  readonly lr: number;
  readonly momentum: number;
  readonly beta1: number;
  readonly beta2: number;
  /** Adam, AdamW and RMSprop. */
  readonly eps: number;
  /** AdamW's decoupled weight decay (p ← p − lr·λ·p before the Adam step). */
  readonly weightDecay: number;
  /** RMSprop's smoothing constant (PyTorch's `alpha`). */
  readonly alpha: number;
}

/** How many arrays of the parameters' size an optimizer keeps (m, v). */
export const optimizerMoments = (kind: OptimizerKind): { m: boolean; v: boolean } => ({
  m: kind === 'momentum' || kind === 'adam' || kind === 'adamw',
  v: kind === 'adam' || kind === 'adamw' || kind === 'rmsprop',
});

export interface TargetInfo {
  /** 'class': i32 ids in [0, classes); 'dense': f32 of `shape` per example. */
  readonly kind: 'class' | 'dense';
  readonly classes?: number;
  readonly shape: readonly number[];
}

/** The model as its trainer's user sees it: names, shapes and schemes, no graphs. */
export interface ModelInterface {
  readonly name: string;
  readonly sizes: Readonly<Record<string, number>>;
  readonly batch: number;
  /** `recurrent`: the step multiplies the parameter with a value that depends on the state (W_hh). */
  readonly params: readonly { readonly name: string; readonly shape: readonly number[]; readonly init: Init; readonly recurrent?: boolean }[];
  /** Per example: the trainer keeps [B, ...shape]. */
  readonly states: readonly { readonly name: string; readonly shape: readonly number[] }[];
  /** Per example and step: a dense input is [T, B, ...shape], a token input [T, B] ids < vocab. */
  readonly inputs: readonly { readonly name: string; readonly kind: 'dense' | 'tokens'; readonly shape: readonly number[]; readonly vocab?: number }[];
  readonly target: TargetInfo;
  readonly loss: 'ce' | 'mse';
  readonly lossOn: 'every' | 'last';
  /** Elements per position that the mean loss divides by (B for cross-entropy, B·Y for MSE). */
  readonly lossElements: number;
  /**
   * Compiled for variable lengths: every graph takes the step mask `__mask` [len, B] after the
   * inputs, and a window the loss weight `__weight` [len, B] after its target.
   */
  readonly lengths: boolean;
}

export interface WindowProgram {
  readonly fn: string;
  readonly len: number;
  /**
   * Inputs: the parameters, the states, the window's stacked inputs [len, B, ...] (in the model's
   * input order), then its target. Outputs: carry_<state> (the state where the next window
   * starts), and with a loss, loss_sum and grad_<param>.
   */
  readonly graph: Graph;
  readonly hasLoss: boolean;
}

/**
 * `count` calls of one function, from steps start, start + stride, …: the windows (or inference
 * chunks) of a sequence as a formula, so nothing compiled grows with their number. `index` is the
 * first call's place among all of them (for messages).
 */
export interface Run {
  readonly fn: string;
  readonly start: number;
  /** 0 when `count` is 1. */
  readonly stride: number;
  readonly count: number;
  readonly index: number;
  readonly len: number;
}

export interface WindowRun extends Run {
  /** Loss positions in each window (0: it only carries the state on). */
  readonly positions: number;
}

export interface TrainingProgram {
  readonly model: ModelInterface;
  readonly seq: number;
  readonly truncation: Truncation;
  /** The optimization level the graphs went through (0: autodiff only; 1: every pass). */
  readonly level: 0 | 1;
  readonly windows: readonly WindowProgram[];
  /** The windows covering a sequence, in order, as runs of one function each (a few, however many windows). */
  readonly sequence: readonly WindowRun[];
  /** Loss positions of the whole sequence (T, or 1 for a last-step loss). */
  readonly totalPositions: number;
  /**
   * Inference, one graph per distinct chunk length: inputs the parameters, the states, the stacked
   * inputs [len, B, ...]; outputs logits [len, B, Y] and each final state by name. A truncated
   * trainer runs inference k1 steps at a time, so its memory does not grow with T.
   */
  readonly inference: readonly { readonly fn: string; readonly len: number; readonly graph: Graph }[];
  /** The chunks covering a sequence, in order, as runs (at most two: chunks of k1 steps and a shorter last one). */
  readonly inferenceSequence: readonly Run[];
  /**
   * Evaluation (the loss without a backward pass), in the inference chunks: inputs the parameters,
   * the states, the stacked inputs and, where the chunk holds a loss, the target (the chunk's
   * steps of it for a loss at every step, the last step's for a last-step loss); outputs each
   * final state by name and `loss_rows` [B], each example's loss summed over the chunk's positions.
   */
  readonly evaluation: readonly { readonly fn: string; readonly len: number; readonly hasLoss: boolean; readonly graph: Graph }[];
  /** The evaluation chunks covering a sequence, as runs (as `inferenceSequence`, with the evaluation functions). */
  readonly evaluationSequence: readonly Run[];
  /**
   * Diagnostics (null when windows overlap, under k1 < k2): per window, its graph with a zero probe
   * input per state — inputs the parameters, states, stacked inputs, probes [len, B, ...], then the
   * target — and outputs those of the window plus `trace_<state>` (each state
   * after every step) and, with a loss, `grad_probe_<state>` (∂(loss sum)/∂h_t at every step);
   * `sequence` is the training sequence (runs) with these functions.
   */
  readonly diagnostics: { readonly windows: readonly WindowProgram[]; readonly sequence: readonly WindowRun[] } | null;
}
