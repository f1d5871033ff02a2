/**
 * The compile pipeline: one flat, named list of passes over IR graphs. Each pass is a pure
 * function; the graph is verified on the way into and out of every pass, so a broken pass is
 * caught at its own name. Common subexpressions merge at construction (nodes are interned) and
 * dead code never exists (a graph is what its outputs reach), so neither needs a pass here.
 */
import type { Graph } from '../ir/graph.ts';
import { differentiate } from '../ir/passes/differentiate.ts';
import { hoistInvariants } from '../ir/passes/hoist-invariants.ts';
import { sinkReadout } from '../ir/passes/sink-readout.ts';
import { hoistAccumulators } from '../ir/passes/hoist-accumulators.ts';
import { orientProducts } from '../ir/passes/orient-products.ts';
import { simplify } from '../ir/passes/simplify.ts';
import { RnncError } from '../ir/error.ts';
import { verifyGraph } from '../ir/verify.ts';

export interface Pass {
  readonly name: string;
  readonly what: string;
  run(g: Graph, ctx: { loss: string | null; wrt: readonly string[] }): Graph;
}

export const passes: readonly Pass[] = [
  { name: 'hoist-invariants', what: 'input projections (x_t W_ihᵀ, embedding lookups) leave the Scan as one product over all steps', run: (g) => hoistInvariants(g) },
  { name: 'sink-readout', what: 'the readout and per-step loss leave the Scan: one product and one batched loss after the loop', run: (g) => sinkReadout(g) },
  { name: 'differentiate', what: 'reverse-mode autodiff: adds grad_<param> outputs (Scan VJP = reverse Scan)', run: (g, c) => (c.loss ? differentiate(g, { loss: c.loss, wrt: c.wrt }) : g) },
  { name: 'simplify', what: 'algebraic identities and constant folding, to a fixpoint', run: (g) => simplify(g) },
  { name: 'hoist-accumulators', what: 'parameter-gradient sums leave the backward Scan as one product per window', run: (g) => hoistAccumulators(g) },
  { name: 'orient-products', what: 'every product as A·Bᵀ (dot products of contiguous rows); transposes of weights leave the loops', run: (g) => orientProducts(g) },
];

export const passNames = passes.map((p) => p.name);

/** `name` if it names a pass of the pipeline; a clear error (for `--after`) otherwise. */
export function checkPassName(name: string): string {
  if (!passNames.includes(name)) throw new RnncError(`--after: unknown pass '${name}'; the passes are ${passNames.join(', ')}`);
  return name;
}

/**
 * The passes of an optimization level: 1 (the default) runs them all; 0 only differentiates, so
 * the generated code follows the graph as traced (loops that recompute the input projection,
 * accumulate weight gradients step by step): the baseline the optimizations are checked against.
 */
export function passesAt(level: 0 | 1): readonly Pass[] {
  return level === 1 ? passes : passes.filter((p) => p.name === 'differentiate');
}

/**
 * Run the pipeline (`list`, the compiler's own by default) up to and including `until` (all
 * passes by default), verifying the input once and each pass's output: a pass's input is the
 * previous pass's verified output.
 */
export function runPipeline(g: Graph, ctx: { loss: string | null; wrt: readonly string[] }, until?: string, list: readonly Pass[] = passes): Graph {
  if (until !== undefined) checkPassName(until);
  verifyGraph(g, 'pipeline input');
  let cur = g;
  for (const p of list) {
    cur = p.run(cur, ctx);
    verifyGraph(cur, `after ${p.name}`);
    if (p.name === until) break;
  }
  return cur;
}
