/** Typed constructors for IR nodes. Everything that makes nodes (DSL, VJP rules, passes) goes through here. */
import { fmtShape, RnncError } from './error.ts';
import type { Graph } from './graph.ts';
import { mk, type DType, type Node, type Shape } from './node.ts';
import type { BinaryOp, UnaryOp } from './op.ts';

export type ArgRole = 'param' | 'state' | 'input' | 'target' | 'cotangent' | 'carry' | 'x' | 'const';

export const arg = (name: string, dtype: DType, shape: Shape, role: ArgRole): Node =>
  mk('arg', [], { name, dtype, shape: [...shape], role });
export const constant = (value: number, shape: Shape, dtype: DType = 'f32'): Node =>
  mk('const', [], { value, dtype, shape: [...shape] });
export const zerosLike = (x: Node): Node => constant(0, x.shape, x.dtype);

export const unary = (op: UnaryOp, x: Node): Node => mk(op, [x]);
export const binary = (op: BinaryOp, a: Node, b: Node): Node => mk(op, [a, b]);
export const neg = (x: Node) => unary('neg', x);
export const exp = (x: Node) => unary('exp', x);
export const log = (x: Node) => unary('log', x);
export const tanh = (x: Node) => unary('tanh', x);
export const sigmoid = (x: Node) => unary('sigmoid', x);
export const relu = (x: Node) => unary('relu', x);
export const reluDeriv = (x: Node) => unary('relu_deriv', x);
export const stopGradient = (x: Node) => unary('stop_gradient', x);
export const add = (a: Node, b: Node) => binary('add', a, b);
export const sub = (a: Node, b: Node) => binary('sub', a, b);
export const mul = (a: Node, b: Node) => binary('mul', a, b);
export const div = (a: Node, b: Node) => binary('div', a, b);
export const sqerr = (a: Node, b: Node) => binary('sqerr', a, b);
/** a where cond > 0, else b: all three of one shape and float type (cond a 0/1 mask). */
export const where = (cond: Node, a: Node, b: Node) => mk('where', [cond, a, b]);
/** x * c for a number c (a constant of x's shape). */
export const scale = (x: Node, c: number) => mul(x, constant(c, x.shape, x.dtype));

export const matmul = (a: Node, b: Node, transA = false, transB = false): Node =>
  mk('matmul', [a, b], { transA, transB });

export const broadcast = (x: Node, shape: Shape): Node =>
  sameShape(x.shape, shape) ? x : mk('broadcast', [x], { shape: [...shape] });
export const reshape = (x: Node, shape: Shape): Node =>
  sameShape(x.shape, shape) ? x : mk('reshape', [x], { shape: [...shape] });
/** The transpose of a matrix [M, N] -> [N, M]. */
export const transpose = (x: Node): Node => (x.op === 'transpose' ? x.srcs[0]! : mk('transpose', [x]));
export const sum = (x: Node, axes: readonly number[]): Node =>
  axes.length === 0 ? x : mk('sum', [x], { axes: [...axes].sort((a, b) => a - b) });
export const sumAll = (x: Node): Node => sum(x, x.shape.map((_, i) => i));
export const slice = (x: Node, axis: number, start: number, end: number): Node =>
  start === 0 && end === x.shape[axis] ? x : mk('slice', [x], { axis, start, end });
export const pad = (x: Node, axis: number, before: number, after: number): Node =>
  before === 0 && after === 0 ? x : mk('pad', [x], { axis, before, after });
export const concat = (xs: readonly Node[], axis: number): Node => (xs.length === 1 ? xs[0]! : mk('concat', xs, { axis }));

export const gather = (table: Node, indices: Node): Node => mk('gather', [table, indices]);
export const scatterAdd = (indices: Node, values: Node, rows: number): Node => mk('scatter_add', [indices, values], { rows });
export const onehot = (indices: Node, depth: number, dtype: DType = 'f32'): Node => mk('onehot', [indices], { depth, dtype });
export const logSoftmax = (x: Node): Node => mk('log_softmax', [x]);
export const softmaxCE = (logits: Node, targets: Node): Node => mk('softmax_ce', [logits, targets]);

export const scan = (body: Graph, srcs: readonly Node[], counts: { consts: number; carries: number; xs: number }, length: number, reverse = false): Node =>
  mk('scan', srcs, { body, consts: counts.consts, carries: counts.carries, xs: counts.xs, length, reverse });
export const proj = (tuple: Node, index: number): Node => mk('proj', [tuple], { index });

/** Reduce a gradient of shape `g.shape` back to `shape` that was broadcast to it (the one place this happens). */
export function unbroadcast(g: Node, shape: Shape): Node {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.shape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.shape.length; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  return reshape(sum(g, axes), shape);
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function checkSameShape(what: string, a: Node, b: Node): void {
  if (!sameShape(a.shape, b.shape)) throw new RnncError(`${what}: shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} differ`);
}

/** The same op and attributes over new sources (passes use this to rebuild a node). */
export const rebuild = (node: Node, srcs: readonly Node[]): Node => mk(node.op, srcs, node.attrs);
