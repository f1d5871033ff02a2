/** The TypeScript backend's lowering table for elementwise ops: one line each, an expression. */
import type { BinaryOp, TernaryOp, UnaryOp } from '../../ir/op.ts';

export const unaryExpr: Record<UnaryOp, (a: string) => string> = {
  neg: (a) => `-(${a})`,
  exp: (a) => `Math.exp(${a})`,
  log: (a) => `Math.log(${a})`,
  tanh: (a) => `Math.tanh(${a})`,
  sigmoid: (a) => `1 / (1 + Math.exp(-(${a})))`,
  relu: (a) => `Math.max(${a}, 0)`,
  relu_deriv: (a) => `(${a} > 0 ? 1 : 0)`,
  stop_gradient: (a) => a,
};

export const binaryExpr: Record<BinaryOp, (a: string, b: string) => string> = {
  add: (a, b) => `${a} + ${b}`,
  sub: (a, b) => `${a} - (${b})`,
  mul: (a, b) => `(${a}) * (${b})`,
  div: (a, b) => `(${a}) / (${b})`,
  sqerr: (a, b) => `((${a}) - (${b})) ** 2`,
};

export const ternaryExpr: Record<TernaryOp, (c: string, a: string, b: string) => string> = {
  where: (c, a, b) => `(${c} > 0 ? ${a} : ${b})`,
};

/** A number as a TypeScript expression (negative ones parenthesised, non-finite ones named). */
export function literal(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  return v < 0 ? `(${v})` : String(v);
}
