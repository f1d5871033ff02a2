/** The verifier: every node's type matches its op's rule, and the graph is closed over its inputs. */
import { fmtShape, RnncError } from './error.ts';
import { graphNodes, type Graph } from './graph.ts';
import type { Node } from './node.ts';
import { opDefs } from './ops/registry.ts';

export function verifyGraph(g: Graph, where = 'graph'): void {
  const inputs = new Set(g.inputs.map((i) => i.id));
  const names = new Set<string>();
  for (const i of g.inputs) {
    if (i.op !== 'arg') throw new RnncError(`${where}: input %${i.id} is a ${i.op}, not an arg`);
    const name = i.attr<string>('name');
    if (names.has(name)) throw new RnncError(`${where}: two inputs named '${name}'`);
    names.add(name);
  }
  for (const n of graphNodes(g)) {
    if (n.op === 'arg' && !inputs.has(n.id)) {
      throw new RnncError(`${where}: arg '${n.attr<string>('name')}' ${n.dtype}${fmtShape(n.shape)} is used but is not an input`, n.site);
    }
    checkNode(n, where);
    if (n.op === 'scan') verifyGraph(n.attr<Graph>('body'), `${where}: scan body`);
  }
}

function checkNode(n: Node, where: string): void {
  const def = opDefs[n.op];
  if (def.arity !== 'variadic' && n.srcs.length !== def.arity) throw new RnncError(`${where}: ${n.op} has ${n.srcs.length} operands, expects ${def.arity}`, n.site);
  const t = def.infer(n.srcs, n.attrs);
  const same = t.dtype === n.dtype && t.shape.length === n.shape.length && t.shape.every((d, i) => d === n.shape[i]);
  if (!same) throw new RnncError(`${where}: ${n.op} is typed ${n.dtype}${fmtShape(n.shape)} but its rule gives ${t.dtype}${fmtShape(t.shape)}`, n.site);
}

/**
 * Run one pass with the graph verified on the way in and out, so a broken pass is caught at its
 * own name rather than by whatever reads its output.
 */
export function verifiedPass<A extends unknown[]>(name: string, pass: (g: Graph, ...args: A) => Graph, g: Graph, ...args: A): Graph {
  verifyGraph(g, `before ${name}`);
  const out = pass(g, ...args);
  verifyGraph(out, `after ${name}`);
  return out;
}
