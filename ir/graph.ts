import { rebuild } from './build.ts';
import { withSite, type Node } from './node.ts';

/**
 * A graph: ordered inputs (`arg` nodes) and named outputs. Nodes are interned, so a graph is
 * identified by its input and output node ids.
 */
export interface Graph {
  readonly inputs: readonly Node[];
  readonly outputs: Readonly<Record<string, Node>>;
  readonly key: string;
}

export function makeGraph(inputs: readonly Node[], outputs: Record<string, Node>): Graph {
  const key = `${inputs.map((n) => n.id).join(',')}->${Object.entries(outputs)
    .map(([k, n]) => `${k}:${n.id}`)
    .join(',')}`;
  return { inputs: [...inputs], outputs: { ...outputs }, key };
}

/** Nodes reachable from `roots`, sources before users (a deterministic post-order). */
export function topoSort(roots: readonly Node[]): Node[] {
  const order: Node[] = [];
  const seen = new Set<number>();
  // iterative DFS: graphs unrolled over long sequences are deep
  for (const root of roots) {
    if (seen.has(root.id)) continue;
    const stack: [Node, number][] = [[root, 0]];
    seen.add(root.id);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const [node, i] = top;
      if (i < node.srcs.length) {
        top[1]++;
        const s = node.srcs[i]!;
        if (!seen.has(s.id)) {
          seen.add(s.id);
          stack.push([s, 0]);
        }
      } else {
        stack.pop();
        order.push(node);
      }
    }
  }
  return order;
}

export function graphNodes(g: Graph): Node[] {
  return topoSort(Object.values(g.outputs));
}

/** Number of users of each node inside the graph (outputs count as users). */
export function useCounts(g: Graph): Map<number, number> {
  const uses = new Map<number, number>();
  for (const n of graphNodes(g)) for (const s of n.srcs) uses.set(s.id, (uses.get(s.id) ?? 0) + 1);
  for (const n of Object.values(g.outputs)) uses.set(n.id, (uses.get(n.id) ?? 0) + 1);
  return uses;
}

/** Rebuild a graph bottom-up with `rewrite` applied to each node (its sources already rewritten). */
export function rewriteGraph(g: Graph, rewrite: (node: Node, srcs: Node[]) => Node): Graph {
  const memo = new Map<number, Node>();
  for (const n of graphNodes(g)) memo.set(n.id, rewrite(n, n.srcs.map((s) => memo.get(s.id)!)));
  const outs: Record<string, Node> = {};
  for (const [k, n] of Object.entries(g.outputs)) outs[k] = memo.get(n.id)!;
  return makeGraph(g.inputs.map((i) => memo.get(i.id) ?? i), outs);
}

/** The outputs of `g` with some of its inputs (by arg name) replaced by other nodes: inlining. */
export function inlineGraph(g: Graph, values: Readonly<Record<string, Node>>): Record<string, Node> {
  const memo = new Map<number, Node>();
  for (const n of graphNodes(g)) {
    const srcs = n.srcs.map((s) => memo.get(s.id)!);
    const bound = n.op === 'arg' ? values[n.attr<string>('name')] : undefined;
    memo.set(n.id, bound ?? (srcs.every((s, i) => s === n.srcs[i]) ? n : rebuild(n, srcs)));
  }
  const outs: Record<string, Node> = {};
  for (const [k, n] of Object.entries(g.outputs)) outs[k] = memo.get(n.id)!;
  return outs;
}

/**
 * Apply Scan replacements to a graph. A replacement was built over the old sources, which may
 * themselves be replaced (a window's Scan reads the previous window's state), so it is rebuilt
 * over the rewritten sources: one copy of each Scan remains, feeding both loss and gradient.
 */
export function applyReplacements(g: Graph, replacements: ReadonlyMap<number, Node>): Graph {
  if (replacements.size === 0) return g;
  const memo = new Map<number, Node>();
  const apply = (node: Node): Node => {
    const hit = memo.get(node.id);
    if (hit) return hit;
    let target = node;
    while (replacements.has(target.id)) target = replacements.get(target.id)!;
    const srcs = target.srcs.map(apply);
    const out = srcs.every((s, i) => s === target.srcs[i]) ? target : remake(target, srcs);
    memo.set(node.id, out);
    return out;
  };
  const outputs: Record<string, Node> = {};
  for (const [k, n] of Object.entries(g.outputs)) outputs[k] = apply(n);
  return makeGraph(g.inputs, outputs);
}

function remake(node: Node, srcs: readonly Node[]): Node {
  return withSite(node.site, () => rebuild(node, srcs));
}

/**
 * Names unlike any in `taken` (and unlike each other): the compiler's own inputs and outputs of a
 * body (hoisted values, saved residuals, cotangents) are named this way, so a user's parameter,
 * state or input of any name can never collide with one, whatever it is called.
 */
export function freshNames(taken: Iterable<string>): (base: string) => string {
  const used = new Set(taken);
  return (base) => {
    let name = base;
    while (used.has(name)) name += '_';
    used.add(name);
    return name;
  };
}
