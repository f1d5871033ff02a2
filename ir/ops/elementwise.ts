import * as b from '../build.ts';
import { fmtShape, ShapeError } from '../error.ts';
import type { Node } from '../node.ts';
import type { BinaryOp, UnaryOp } from '../op.ts';
import { tensor, type Tensor } from '../tensor.ts';
import { single, type OpDef } from './types.ts';

const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/** Unary ops: element function and VJP (tanh, sigmoid, exp in terms of their output `y`). */
const unaryRules: Record<UnaryOp, { f: (x: number) => number; vjp: (g: Node, y: Node, x: Node) => Node | null; kinked?: true }> = {
  neg: { f: (x) => -x, vjp: (g) => b.neg(g) },
  exp: { f: Math.exp, vjp: (g, y) => b.mul(g, y) }, // d exp = exp
  log: { f: Math.log, vjp: (g, _y, x) => b.div(g, x) }, // d log x = 1/x
  tanh: { f: Math.tanh, vjp: (g, y) => b.mul(g, b.sub(b.constant(1, y.shape, y.dtype), b.mul(y, y))) }, // 1 - y²
  sigmoid: { f: sigmoid, vjp: (g, y) => b.mul(g, b.mul(y, b.sub(b.constant(1, y.shape, y.dtype), y))) }, // y (1 - y)
  relu: { f: (x) => (x > 0 ? x : 0), vjp: (g, _y, x) => b.mul(g, b.reluDeriv(x)), kinked: true },
  relu_deriv: { f: (x) => (x > 0 ? 1 : 0), vjp: () => null, kinked: true }, // piecewise constant
  stop_gradient: { f: (x) => x, vjp: () => null },
};

/** Binary ops on equal shapes (the DSL inserts explicit broadcasts): element function and VJP. */
const binaryRules: Record<BinaryOp, { f: (a: number, b: number) => number; vjp: (g: Node, a: Node, bb: Node, y: Node) => [Node | null, Node | null] }> = {
  add: { f: (x, y) => x + y, vjp: (g) => [g, g] },
  sub: { f: (x, y) => x - y, vjp: (g) => [g, b.neg(g)] },
  mul: { f: (x, y) => x * y, vjp: (g, x, y) => [b.mul(g, y), b.mul(g, x)] },
  // d(a/b) = g/b, -g·(a/b)/b
  div: { f: (x, y) => x / y, vjp: (g, _x, y, q) => [b.div(g, y), b.neg(b.div(b.mul(g, q), y))] },
  // d(a-b)² = 2(a-b), -2(a-b)
  sqerr: {
    f: (x, y) => (x - y) * (x - y),
    vjp: (g, x, y) => {
      const d = b.mul(g, b.scale(b.sub(x, y), 2));
      return [d, b.neg(d)];
    },
  },
};

function map1(x: Tensor, f: (v: number) => number): Tensor {
  const out = tensor(x.dtype, x.shape);
  for (let i = 0; i < out.data.length; i++) out.data[i] = f(x.data[i]!);
  return out;
}

function unaryDef(op: UnaryOp): OpDef {
  const rule = unaryRules[op];
  return {
    arity: 1,
    fusion: 'elementwise',
    kinked: rule.kinked ?? false,
    infer([x]) {
      if (x!.dtype === 'i32') throw new ShapeError(`operand is an integer tensor ${fmtShape(x!.shape)}`);
      return { dtype: x!.dtype, shape: x!.shape };
    },
    evaluate: ([x]) => map1(x!, rule.f),
    vjp: (node, g) => [rule.vjp(single(g), node, node.srcs[0]!)],
  };
}

function binaryDef(op: BinaryOp): OpDef {
  const rule = binaryRules[op];
  return {
    arity: 2,
    fusion: 'elementwise',
    kinked: false,
    infer([x, y]) {
      if (!b.sameShape(x!.shape, y!.shape)) throw new ShapeError(`shapes ${fmtShape(x!.shape)} and ${fmtShape(y!.shape)} do not match`);
      if (x!.dtype !== y!.dtype) throw new ShapeError(`dtypes ${x!.dtype} and ${y!.dtype} differ`);
      if (x!.dtype === 'i32') throw new ShapeError(`operands are integer tensors ${fmtShape(x!.shape)}`);
      return { dtype: x!.dtype, shape: x!.shape };
    },
    evaluate([x, y]) {
      const out = tensor(x!.dtype, x!.shape);
      for (let i = 0; i < out.data.length; i++) out.data[i] = rule.f(x!.data[i]!, y!.data[i]!);
      return out;
    },
    vjp: (node, g) => rule.vjp(single(g), node.srcs[0]!, node.srcs[1]!, node),
  };
}

export const unaryDefs = Object.fromEntries(Object.keys(unaryRules).map((op) => [op, unaryDef(op as UnaryOp)])) as Record<UnaryOp, OpDef>;
export const binaryDefs = Object.fromEntries(Object.keys(binaryRules).map((op) => [op, binaryDef(op as BinaryOp)])) as Record<BinaryOp, OpDef>;
/** Element functions, shared with backends that want the exact reference formula. */
export const unaryFns = Object.fromEntries(Object.entries(unaryRules).map(([k, r]) => [k, r.f])) as Record<UnaryOp, (x: number) => number>;
export const binaryFns = Object.fromEntries(Object.entries(binaryRules).map(([k, r]) => [k, r.f])) as Record<BinaryOp, (a: number, b: number) => number>;

/**
 * where(cond, a, b) = cond > 0 ? a : b, elementwise on one shape. The selected operand gets the
 * cotangent where it was chosen and a zero where it was not; the mask gets none (piecewise
 * constant). It is how a padded position holds its state: where(mask, next, old).
 */
export const whereDef: OpDef = {
  arity: 3,
  fusion: 'elementwise',
  kinked: true,
  infer([c, x, y]) {
    if (!b.sameShape(c!.shape, x!.shape) || !b.sameShape(x!.shape, y!.shape)) {
      throw new ShapeError(`shapes ${fmtShape(c!.shape)}, ${fmtShape(x!.shape)} and ${fmtShape(y!.shape)} do not match`);
    }
    if (c!.dtype !== x!.dtype || x!.dtype !== y!.dtype) throw new ShapeError(`dtypes ${c!.dtype}, ${x!.dtype} and ${y!.dtype} differ`);
    if (x!.dtype === 'i32') throw new ShapeError(`operands are integer tensors ${fmtShape(x!.shape)}`);
    return { dtype: x!.dtype, shape: x!.shape };
  },
  evaluate([c, x, y]) {
    const out = tensor(x!.dtype, x!.shape);
    for (let i = 0; i < out.data.length; i++) out.data[i] = whereFn(c!.data[i]!, x!.data[i]!, y!.data[i]!);
    return out;
  },
  vjp(node, cot) {
    const g = single(cot), c = node.srcs[0]!, zero = b.zerosLike(g);
    return [null, b.where(c, g, zero), b.where(c, zero, g)];
  },
};

/** The element function of where, shared with backends that want the exact reference formula. */
export function whereFn(c: number, x: number, y: number): number {
  return c > 0 ? x : y;
}
