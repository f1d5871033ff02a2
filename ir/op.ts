/** The closed set of IR ops, grouped so that generic rules key off groups, not name lists. */
export const UNARY = ['neg', 'exp', 'log', 'tanh', 'sigmoid', 'relu', 'relu_deriv', 'stop_gradient'] as const;
export const BINARY = ['add', 'sub', 'mul', 'div', 'sqerr'] as const;
/** where(cond, a, b): a where cond > 0, else b (a mask of 0s and 1s selects). */
export const TERNARY = ['where'] as const;
export const MOVEMENT = ['broadcast', 'reshape', 'transpose', 'slice', 'pad', 'concat'] as const;
export const REDUCE = ['sum'] as const;
export const LEAF = ['arg', 'const'] as const;
export const OTHER = ['matmul', 'gather', 'scatter_add', 'onehot', 'log_softmax', 'softmax_ce', 'scan', 'proj'] as const;

export type UnaryOp = (typeof UNARY)[number];
export type BinaryOp = (typeof BINARY)[number];
export type TernaryOp = (typeof TERNARY)[number];
export type Op = UnaryOp | BinaryOp | TernaryOp | (typeof MOVEMENT)[number] | (typeof REDUCE)[number] | (typeof LEAF)[number] | (typeof OTHER)[number];

export const ELEMENTWISE: ReadonlySet<Op> = new Set<Op>([...UNARY, ...BINARY, ...TERNARY]);
export const COMMUTATIVE: ReadonlySet<Op> = new Set<Op>(['add', 'mul']);

export function isUnary(op: Op): op is UnaryOp {
  return (UNARY as readonly Op[]).includes(op);
}
export function isBinary(op: Op): op is BinaryOp {
  return (BINARY as readonly Op[]).includes(op);
}
export function isTernary(op: Op): op is TernaryOp {
  return (TERNARY as readonly Op[]).includes(op);
}
