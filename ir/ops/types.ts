import type { Attrs, Node, TensorType } from '../node.ts';
import type { Tensor } from '../tensor.ts';
import type { VjpContext } from '../passes/differentiate.ts';

/** A cotangent: one node for a single-result op, one (possibly zero) node per result for Scan. */
export type Cotangent = Node | readonly (Node | null)[];

/** One definition per op: its type rule, its float64 reference evaluation and its VJP. */
export interface OpDef {
  readonly arity: number | 'variadic';
  /** Result type; throws ShapeError (plain words, shapes included) on bad operands. */
  infer(srcs: readonly Node[], attrs: Attrs): TensorType & { results?: readonly TensorType[] };
  /** Reference evaluation in float64. Scan returns one tensor per result. */
  evaluate(inputs: readonly Tensor[], node: Node): Tensor | readonly Tensor[];
  /** Gradient contribution to each source; null is a symbolic zero. */
  vjp(node: Node, g: Cotangent, ctx: VjpContext): readonly (Node | null)[];
}

export function single(g: Cotangent): Node {
  if (!('id' in g)) throw new Error('expected a single cotangent');
  return g as Node;
}
