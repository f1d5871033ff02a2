/**
 * Reverse-mode autodiff as a graph-to-graph transformation. Zero gradients stay symbolic (null),
 * fan-out accumulates with `add`, stop_gradient and integer values cut the flow, and broadcast
 * gradients are reduced back by broadcast's own VJP.
 */
import * as b from '../build.ts';
import { fmtShape, RnncError } from '../error.ts';
import { applyReplacements, makeGraph, topoSort, type Graph } from '../graph.ts';
import { withSite, type Node } from '../node.ts';
import { opDefs } from '../ops/registry.ts';
import type { Gradients, Seed, VjpContext } from '../ops/types.ts';

export function gradients(seeds: readonly Seed[], wrt: readonly Node[]): Gradients {
  const order = topoSort(seeds.map((s) => s.node));
  // only nodes that depend on some `wrt` node carry gradients
  const live = new Set(wrt.map((n) => n.id));
  for (const n of order) if (n.srcs.some((s) => live.has(s.id))) live.add(n.id);

  const cots = new Map<number, Node>();
  const tupleCots = new Map<number, (Node | null)[]>();
  const replacements = new Map<number, Node>();
  const ctx: VjpContext = { replace: (old, rep) => replacements.set(old.id, rep), needsGrad: (n) => live.has(n.id) && n.dtype !== 'i32', gradients };

  const accumulate = (target: Node, g: Node | null, from: Node) => {
    if (g === null || !live.has(target.id) || target.dtype === 'i32') return;
    if (!b.sameShape(g.shape, target.shape)) {
      throw new RnncError(`gradient of ${from.op}: operand ${target.op} has shape ${fmtShape(target.shape)} but its gradient has ${fmtShape(g.shape)}`, from.site);
    }
    const prev = cots.get(target.id);
    cots.set(target.id, prev ? b.add(prev, g) : g);
  };
  for (const s of seeds) accumulate(s.node, s.cotangent, s.node);

  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i]!;
    if (!live.has(node.id)) continue;
    if (node.op === 'proj') {
      const g = cots.get(node.id);
      if (!g) continue;
      const tuple = node.srcs[0]!;
      const slots = tupleCots.get(tuple.id) ?? new Array<Node | null>(tuple.results!.length).fill(null);
      const k = node.attr<number>('index');
      slots[k] = slots[k] ? b.add(slots[k]!, g) : g;
      tupleCots.set(tuple.id, slots);
      continue;
    }
    const g = node.results ? tupleCots.get(node.id) : cots.get(node.id);
    if (!g || node.srcs.length === 0) continue;
    const srcGrads = withSite(node.site, () => opDefs[node.op].vjp(node, g, ctx));
    node.srcs.forEach((s, k) => accumulate(s, srcGrads[k] ?? null, node));
  }
  return { grads: wrt.map((w) => cots.get(w.id) ?? null), replacements };
}

export interface DifferentiateOptions {
  /** A scalar output seeded with 1 (a loss). */
  readonly loss?: string;
  /** Outputs seeded with cotangent inputs named `cot_<output>` (for VJP checks). */
  readonly cotangents?: readonly string[];
  /** Input names to differentiate with respect to. */
  readonly wrt: readonly string[];
}

/** The pass: returns a graph computing the original outputs and `grad_<name>` for each `wrt` input. */
export function differentiate(g: Graph, opts: DifferentiateOptions): Graph {
  const seeds: Seed[] = [];
  const extraInputs: Node[] = [];
  if (opts.loss !== undefined) {
    const loss = g.outputs[opts.loss];
    if (!loss || loss.shape.length !== 0) throw new RnncError(`differentiate: loss '${opts.loss}' must be a scalar output`);
    seeds.push({ node: loss, cotangent: b.constant(1, [], loss.dtype) });
  }
  for (const name of opts.cotangents ?? []) {
    const out = g.outputs[name];
    if (!out) throw new RnncError(`differentiate: no output '${name}'`);
    const cot = b.arg(`cot_${name}`, out.dtype, out.shape, 'cotangent');
    extraInputs.push(cot);
    seeds.push({ node: out, cotangent: cot });
  }
  const wrt = opts.wrt.map((name) => {
    const n = g.inputs.find((i) => i.attr<string>('name') === name);
    if (!n) throw new RnncError(`differentiate: no input '${name}'`);
    return n;
  });
  const { grads, replacements } = gradients(seeds, wrt);
  const outputs: Record<string, Node> = { ...g.outputs };
  wrt.forEach((w, i) => (outputs[`grad_${w.attr<string>('name')}`] = grads[i] ?? b.zerosLike(w)));
  return applyReplacements(makeGraph([...g.inputs, ...extraInputs], outputs), replacements);
}
