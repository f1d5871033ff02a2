/** The reference interpreter: evaluates any graph in float64. The oracle for every later stage. */
import { fmtShape, RnncError } from './error.ts';
import { graphNodes, type Graph } from './graph.ts';
import type { Node } from './node.ts';
import { opDefs } from './ops/registry.ts';
import type { EvalContext } from './ops/types.ts';
import type { Tensor } from './tensor.ts';

const schedules = new WeakMap<Graph, Node[]>();
// handed to each op's evaluation: Scan runs its body with it (the op files cannot import this module,
// which reaches them through the registry)
const ctx: EvalContext = { evaluate };

/** Evaluate `g` with input values by arg name; returns every output by name. */
export function evaluate(g: Graph, inputs: Readonly<Record<string, Tensor>>): Record<string, Tensor> {
  let order = schedules.get(g);
  if (!order) schedules.set(g, (order = graphNodes(g)));
  const values = new Map<number, Tensor | readonly Tensor[]>();
  for (const node of order) {
    if (node.op === 'arg') {
      const name = node.attr<string>('name');
      const v = inputs[name];
      if (!v) throw new RnncError(`evaluate: no value for input '${name}' ${node.dtype}${fmtShape(node.shape)}`);
      if (v.data.length !== node.size) throw new RnncError(`evaluate: input '${name}' has ${v.data.length} values, expected ${fmtShape(node.shape)}`);
      values.set(node.id, v);
      continue;
    }
    const args = node.srcs.map((s) => values.get(s.id) as Tensor);
    values.set(node.id, opDefs[node.op].evaluate(args, node, ctx));
  }
  const out: Record<string, Tensor> = {};
  for (const [name, n] of Object.entries(g.outputs)) out[name] = values.get(n.id) as Tensor;
  return out;
}
