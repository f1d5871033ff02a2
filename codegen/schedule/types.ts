/**
 * The schedule: what a trainer runs, as data every target renders. A schedule is a list of
 * functions (one per truncation window, the inference forward pass); each function is a list of
 * items — kernels and loops over time steps — over named buffers. Every decision about order,
 * fusion, views and memory is made when the schedule is built (build.ts) and planned (memory.ts);
 * a target turns items into code and decides nothing. docs/schedule.md describes it.
 */
import type { DType } from '../../ir/node.ts';
import type { BinaryOp, TernaryOp, UnaryOp } from '../../ir/op.ts';
import type { Run, WindowRun } from '../../ir/program.ts';

/** c + Σ k·v over the function's integer variables: `start` (a window's first step), `t0`, `t1`… (loop steps). */
export interface Affine {
  readonly c: number;
  readonly terms: readonly (readonly [variable: string, coefficient: number])[];
}

/**
 * Where a buffer's values come from, and who may see them: parameters, their gradients, the
 * recurrent state and the optimizer's moments live for the trainer's lifetime; inputs are the
 * caller's arrays bound per call; scratch buffers share one planned arena; constants are filled once.
 */
export type BufferKind = 'param' | 'grad' | 'state' | 'input' | 'target' | 'scratch' | 'const';

export interface BufferDecl {
  readonly name: string;
  readonly kind: BufferKind;
  /** 'f32' is the module's float type (float32, or float64 for checks). */
  readonly dtype: DType;
  /** Elements. */
  readonly size: number;
  /** A constant's value. */
  readonly value?: number;
}

/** A contiguous row-major block of a buffer, from element `off`. */
export interface View {
  readonly buf: string;
  readonly off: Affine;
}

/**
 * A strided access inside an elementwise kernel: the element at iteration coordinates (i₀, i₁, …)
 * is buf[off + Σ iₖ·strides[k]]. A broadcast is a zero stride, a slice an offset, a per-step slot
 * of a stack an offset in the step variable.
 */
export interface Access {
  readonly buf: string;
  readonly off: Affine;
  readonly strides: readonly number[];
}

/** An element's value, per iteration point. Unary and binary ops are the IR's own. */
export type Expr =
  | { readonly op: 'load'; readonly access: Access }
  | { readonly op: 'literal'; readonly value: number }
  /** A scalar argument of the function (the gradient scale of a window). */
  | { readonly op: 'scalar'; readonly name: string }
  /** A value computed earlier in the same iteration of the same kernel. */
  | { readonly op: 'local'; readonly id: number }
  /** 1 where the class id loaded by `index` equals the coordinate `cls` (an affine map of the iteration), else 0. */
  | { readonly op: 'onehot'; readonly index: Access; readonly cls: { readonly off: number; readonly strides: readonly number[] } }
  | { readonly op: UnaryOp; readonly a: Expr }
  | { readonly op: BinaryOp; readonly a: Expr; readonly b: Expr }
  /** `a` where `c` > 0, else `b`. */
  | { readonly op: TernaryOp; readonly c: Expr; readonly a: Expr; readonly b: Expr };

/**
 * One loop nest over `shape` that computes `locals` in order and then performs `stores`, per
 * element: several outputs of one fused region in one pass over memory. Loads of a buffer the
 * kernel also writes are always locals, so every read of an element precedes its write.
 */
export interface ElementwiseKernel {
  readonly kind: 'elementwise';
  readonly shape: readonly number[];
  readonly locals: readonly Expr[];
  readonly stores: readonly { readonly to: Access; readonly value: Expr }[];
  /** The IR ops fused here, for printing and drawing. */
  readonly fused: readonly string[];
}

/** C = op(A)·op(B), [M, K]·[K, N]; after orient-products almost always A·Bᵀ. */
export interface MatmulKernel {
  readonly kind: 'matmul';
  readonly a: View;
  readonly b: View;
  readonly c: View;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly transA: boolean;
  readonly transB: boolean;
}

export type Kernel =
  | ElementwiseKernel
  | MatmulKernel
  | { readonly kind: 'transpose'; readonly x: View; readonly out: View; readonly rows: number; readonly cols: number }
  /** Sum of x (of `shape`) over `axes`. */
  | { readonly kind: 'sum'; readonly x: View; readonly out: View; readonly shape: readonly number[]; readonly axes: readonly number[] }
  /** Row-wise log-softmax of [rows, cols], or (with `target`) cross-entropy against class ids. */
  | { readonly kind: 'log_softmax'; readonly x: View; readonly out: View; readonly rows: number; readonly cols: number }
  | { readonly kind: 'softmax_ce'; readonly x: View; readonly target: View; readonly out: View; readonly rows: number; readonly cols: number }
  /** out[r, :] = table[idx[r], :]. */
  | { readonly kind: 'gather'; readonly table: View; readonly idx: View; readonly out: View; readonly rows: number; readonly cols: number }
  /** out = 0, then out[idx[r], :] += values[r, :]. */
  | { readonly kind: 'scatter_add'; readonly idx: View; readonly values: View; readonly out: View; readonly rows: number; readonly cols: number; readonly size: number }
  /** out = 0 with x's blocks at `before` along the axis: [outer, inner·srcAxis] into [outer, inner·outAxis]. */
  | { readonly kind: 'pad'; readonly x: View; readonly out: View; readonly outer: number; readonly block: number; readonly outBlock: number; readonly offset: number; readonly size: number };

export type KernelKind = Kernel['kind'];

/** A loop over `length` time steps; `variable` is the step's position in the sequence (counting down when reversed). */
export interface Loop {
  readonly kind: 'loop';
  readonly variable: string;
  readonly length: number;
  readonly reverse: boolean;
  readonly body: readonly Item[];
}

export type Item = Kernel | Loop;

export interface ScheduleFunction {
  readonly name: string;
  /** Integer arguments (`start`) and float arguments (`scale`), in call order. */
  readonly args: readonly { readonly name: string; readonly type: 'int' | 'float' }[];
  readonly items: readonly Item[];
  /** Element 0 of this view is the function's result (a window's loss sum). */
  readonly result?: View;
  /** Views the caller reads after the function returns (the logits of inference). */
  readonly liveOut: readonly View[];
}

/** Where each scratch buffer sits in the arena (elements), and what sharing saved. */
export interface MemoryPlan {
  readonly offsets: ReadonlyMap<string, number>;
  readonly arenaSize: number;
  /** Elements if every scratch buffer had its own array. */
  readonly separateSize: number;
  /** Offsets are multiples of this many elements. */
  readonly align: number;
}

/** A named block of the parameter (or state) buffer: a parameter [shape], a state [B, ...shape]. */
export interface Slot {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  readonly shape: readonly number[];
}

export interface Schedule {
  readonly buffers: readonly BufferDecl[];
  readonly functions: readonly ScheduleFunction[];
  /** The parameters in P (and their gradients in G), the states in S. */
  readonly params: readonly Slot[];
  readonly states: readonly Slot[];
  /** The window functions covering the sequence, in order, as runs: `count` calls of `fn` from steps start, start + stride, …. */
  readonly sequence: readonly WindowRun[];
  /** The inference functions covering a sequence, in order, as runs (one call, unless the trainer is truncated). */
  readonly inferenceSequence: readonly Run[];
  /** The evaluation functions covering a sequence, as runs (the inference chunks, with the loss). */
  readonly evaluationSequence: readonly Run[];
  /** The diagnostics functions covering a sequence, as `sequence` (null when the trainer's windows overlap). */
  readonly diagnosticsSequence: readonly WindowRun[] | null;
}
