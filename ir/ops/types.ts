/**
 * The shape of an op definition and of what its rules are handed. Type-only imports: this module
 * sits under the op files, the registry and the passes alike, so it must not reach any of them.
 */
import type { Graph } from '../graph.ts';
import type { Node, TypeRule } from '../node.ts';
import type { Tensor } from '../tensor.ts';

/** A cotangent: one node for a single-result op, one (possibly zero) node per result for Scan. */
export type Cotangent = Node | readonly (Node | null)[];

export interface Seed {
  readonly node: Node;
  readonly cotangent: Node;
}

export interface Gradients {
  /** One entry per `wrt` node, null where no gradient flows. */
  readonly grads: readonly (Node | null)[];
  /** Forward nodes to substitute in every graph that uses these gradients. */
  readonly replacements: ReadonlyMap<number, Node>;
}

/** What a VJP is handed by the autodiff driver (ir/passes/differentiate.ts). */
export interface VjpContext {
  /** Some VJPs (Scan's) need the forward node to produce more results: they ask to replace it. */
  replace(old: Node, replacement: Node): void;
  /** Whether a gradient for `node` is wanted (it lies on a path from a `wrt` node). */
  needsGrad(node: Node): boolean;
  /**
   * The driver itself, for a VJP that differentiates a body graph (Scan's step). Handed in rather
   * than imported: the driver reads every op's VJP through the registry, Scan's among them.
   */
  gradients(seeds: readonly Seed[], wrt: readonly Node[]): Gradients;
}

/** What an evaluation is handed by the interpreter (ir/interpret.ts). */
export interface EvalContext {
  /** The interpreter itself, for an op that runs a body graph (Scan); handed in for the same reason. */
  evaluate(g: Graph, inputs: Readonly<Record<string, Tensor>>): Record<string, Tensor>;
}

/**
 * How the back end's schedule treats an op (codegen/schedule/fuse.ts): `elementwise` ops fuse into
 * one loop with their neighbours; `index` ops (broadcast, slice, one-hot) are index maps composed
 * into the reads of a fused loop; `reshape` is a view of memory; `concat` has its sources written
 * into its slots; a `kernel` is an item of its own; `leaf` and `result` (a Scan's proj) are inputs.
 */
export type FusionClass = 'elementwise' | 'index' | 'reshape' | 'concat' | 'kernel' | 'leaf' | 'result';

/** One definition per op: its type rule (what `mk` applies), its fusion class, its float64 reference evaluation and its VJP. */
export interface OpDef extends TypeRule {
  readonly fusion: FusionClass;
  /** Whether its value or derivative switches branch where its (first) operand crosses 0 (relu): the gradient check steps around it. */
  readonly kinked: boolean;
  /** Reference evaluation in float64. Scan returns one tensor per result. */
  evaluate(inputs: readonly Tensor[], node: Node, ctx: EvalContext): Tensor | readonly Tensor[];
  /** Gradient contribution to each source; null is a symbolic zero. */
  vjp(node: Node, g: Cotangent, ctx: VjpContext): readonly (Node | null)[];
}

export function single(g: Cotangent): Node {
  if (!('id' in g)) throw new Error('expected a single cotangent');
  return g as Node;
}
