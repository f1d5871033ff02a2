/**
 * Hoist the input projection out of the loop. Inside a Scan body, values that depend on the
 * step's inputs but not on the carried state (x_t W_ihᵀ + b_ih, an embedding lookup) can be
 * computed for all steps at once before the loop: the steps are stacked along the batch axis,
 * [L·B, ...], so L small matrix products become one large one. The body then reads the
 * precomputed value as a new per-step input. Done before autodiff, the gradient of that product
 * is one large product as well.
 */
import * as b from '../build.ts';
import { freshNames, graphNodes, inlineGraph, makeGraph, rewriteGraph, type Graph } from '../graph.ts';
import type { Node } from '../node.ts';
import { ELEMENTWISE, isBinary, isUnary } from '../op.ts';
import { scanParts } from '../ops/scan.ts';

export function hoistInvariants(g: Graph): Graph {
  return rewriteGraph(g, (node, srcs) => {
    const n = srcs.every((s, i) => s === node.srcs[i]) ? node : b.rebuild(node, srcs);
    return n.op === 'scan' ? hoistConstants(hoistScan(n)) : n;
  });
}

/**
 * Values the body would make afresh at every step from the parameters alone (a column block of a
 * weight, `W[:, X:]` after a split product) are computed once before the loop and read as new
 * consts. Elementwise ops and broadcasts stay: the code generator fuses them into their users.
 */
export function hoistConstants(scan: Node): Node {
  const { body, nConsts, nCarries, nXs, length: L, reverse } = scanParts(scan.attrs);
  const { stepVarying, carryDependent } = dependence(body, nConsts, nCarries);
  const invariant = (n: Node) => !stepVarying.has(n.id) && !carryDependent.has(n.id) && n.op !== 'arg' && n.op !== 'const';
  const materialized = (n: Node) => invariant(n) && !ELEMENTWISE.has(n.op) && n.op !== 'broadcast' && n.op !== 'reshape';
  const found = new Set<Node>();
  for (const n of graphNodes(body)) if (!invariant(n)) for (const s of n.srcs) if (materialized(s)) found.add(s);
  for (const o of Object.values(body.outputs)) if (materialized(o)) found.add(o);
  if (found.size === 0) return scan;
  const hoisted = [...found];
  const consts = Object.fromEntries(body.inputs.slice(0, nConsts).map((a, j) => [a.attr<string>('name'), scan.srcs[j]!]));
  const outside = inlineGraph(makeGraph(body.inputs, Object.fromEntries(hoisted.map((n, i) => [`c${i}`, n]))), consts);
  // names new to this body (an arg is interned by its name and type: a reused name would be the same node)
  const fresh = freshNames(body.inputs.map((a) => a.attr<string>('name')));
  const args = hoisted.map((n, i) => b.arg(fresh(`invariant${i}`), n.dtype, n.shape, 'const'));
  const subst = new Map(hoisted.map((n, i) => [n.id, args[i]!]));
  const inputs = [...body.inputs.slice(0, nConsts), ...args, ...body.inputs.slice(nConsts)];
  const body2 = rewriteGraph(makeGraph(inputs, body.outputs), (n, srcs) => subst.get(n.id) ?? (srcs.every((s, i) => s === n.srcs[i]) ? n : b.rebuild(n, srcs)));
  const srcs = [...scan.srcs.slice(0, nConsts), ...hoisted.map((_, i) => outside[`c${i}`]!), ...scan.srcs.slice(nConsts)];
  return b.scan(body2, srcs, { consts: nConsts + hoisted.length, carries: nCarries, xs: nXs }, L, reverse);
}

/** Which body values change from step to step (read a per-step x) and which read the carried state. */
function dependence(body: Graph, nConsts: number, nCarries: number) {
  const carries = new Set(body.inputs.slice(nConsts, nConsts + nCarries).map((n) => n.id));
  const xs = new Set(body.inputs.slice(nConsts + nCarries).map((n) => n.id));
  const stepVarying = new Set<number>(), carryDependent = new Set<number>();
  for (const n of graphNodes(body)) {
    if (xs.has(n.id) || n.srcs.some((s) => stepVarying.has(s.id))) stepVarying.add(n.id);
    if (carries.has(n.id) || n.srcs.some((s) => carryDependent.has(s.id))) carryDependent.add(n.id);
  }
  return { stepVarying, carryDependent, liftable: (n: Node) => stepVarying.has(n.id) && !carryDependent.has(n.id) };
}

/**
 * `[x, h] Wᵀ` as `x W_xᵀ + h W_hᵀ` (W's columns sliced): a product over a concatenation that
 * mixes an input part with a state part, as a cell written with one weight over `[x; h]` has (the
 * minimal gated unit), splits so that the input part can leave the loop. The multiply-adds are the
 * same; only products where some part is liftable and some is not are split.
 */
function splitMixedProducts(body: Graph, nConsts: number, nCarries: number): Graph {
  const { liftable, carryDependent } = dependence(body, nConsts, nCarries);
  const mixed = (n: Node) => {
    const [cat, w] = n.srcs;
    return n.op === 'matmul' && !n.attr<boolean>('transA') && n.attr<boolean>('transB') && cat!.op === 'concat' &&
      cat!.attr<number>('axis') === cat!.shape.length - 1 && !carryDependent.has(w!.id) &&
      cat!.srcs.some(liftable) && cat!.srcs.some((p) => !liftable(p));
  };
  return rewriteGraph(body, (n, srcs) => {
    if (!mixed(n)) return srcs.every((s, i) => s === n.srcs[i]) ? n : b.rebuild(n, srcs);
    const [cat, w] = srcs as [Node, Node];
    let offset = 0;
    const terms = cat.srcs.map((part) => {
      const k = part.shape[part.shape.length - 1]!;
      const term = b.matmul(part, b.slice(w, 1, offset, offset + k), false, true);
      offset += k;
      return term;
    });
    return terms.reduce((acc, t) => b.add(acc, t));
  });
}

function hoistScan(original: Node): Node {
  const parts = scanParts(original.attrs);
  const { nConsts, nCarries, nXs, length: L, reverse } = parts;
  const body = splitMixedProducts(parts.body, nConsts, nCarries);
  const scan = body.key === parts.body.key ? original : b.scan(body, original.srcs, { consts: nConsts, carries: nCarries, xs: nXs }, L, reverse);
  const order = graphNodes(body);
  const xArgs = body.inputs.slice(nConsts + nCarries);
  const xIndex = new Map(xArgs.map((a, i) => [a.id, i]));
  const { stepVarying, liftable } = dependence(body, nConsts, nCarries);
  const worth = (n: Node): boolean => n.op === 'matmul' || n.op === 'gather' || n.srcs.some((s) => liftable(s) && worth(s));

  // the frontier: liftable values read by the recurrent part (or returned)
  const frontier = new Set<Node>();
  for (const n of order) if (!liftable(n)) for (const s of n.srcs) if (liftable(s) && s.op !== 'arg' && worth(s)) frontier.add(s);
  for (const o of Object.values(body.outputs)) if (liftable(o) && o.op !== 'arg' && worth(o)) frontier.add(o);
  if (frontier.size === 0) return original;

  const memo = new Map<number, Node | null>();
  /** The value of `n` for all steps, stacked as [L·B, ...]; null where that is not expressible. */
  const lift = (n: Node): Node | null => {
    if (memo.has(n.id)) return memo.get(n.id)!;
    let r: Node | null = null;
    const [x, y] = n.srcs;
    if (xIndex.has(n.id)) {
      const src = scan.srcs[nConsts + nCarries + xIndex.get(n.id)!]!;
      r = n.shape.length >= 1 ? b.reshape(src, [L * n.shape[0]!, ...n.shape.slice(1)]) : null;
    } else if (!stepVarying.has(n.id)) {
      // an invariant [B, ...] operand of an elementwise op: repeated for every step
      r = n.shape.length >= 1 ? b.reshape(b.broadcast(b.reshape(n, [1, ...n.shape]), [L, ...n.shape]), [L * n.shape[0]!, ...n.shape.slice(1)]) : null;
    } else if (n.op === 'matmul' && !n.attr<boolean>('transA') && !stepVarying.has(y!.id)) {
      const a = lift(x!);
      r = a && b.matmul(a, y!, false, n.attr<boolean>('transB'));
    } else if (n.op === 'gather' && !stepVarying.has(x!.id)) {
      const idx = lift(y!);
      r = idx && b.gather(x!, idx);
    } else if (n.op === 'slice' && n.attr<number>('axis') > 0) {
      const a = lift(x!);
      r = a && b.slice(a, n.attr<number>('axis'), n.attr<number>('start'), n.attr<number>('end'));
    } else if (ELEMENTWISE.has(n.op) && isUnary(n.op)) {
      const a = lift(x!);
      r = a && b.unary(n.op, a);
    } else if (ELEMENTWISE.has(n.op) && isBinary(n.op) && (stepVarying.has(x!.id) ? y!.shape : x!.shape).length >= 1) {
      const [a, c] = [stepVarying.has(x!.id) ? lift(x!) : liftInvariant(x!), stepVarying.has(y!.id) ? lift(y!) : liftInvariant(y!)];
      r = a && c && b.binary(n.op, a, c);
    }
    memo.set(n.id, r);
    return r;
  };
  const liftInvariant = (n: Node): Node | null => (n.shape.length >= 1 ? lift(n) : null);

  const hoisted: { node: Node; stacked: Node; arg: Node }[] = [];
  const fresh = freshNames(body.inputs.map((a) => a.attr<string>('name')));
  for (const f of frontier) {
    const all = lift(f);
    if (!all) continue;
    const arg = b.arg(fresh(`hoisted${hoisted.length}`), f.dtype, f.shape, 'x');
    hoisted.push({ node: f, stacked: b.reshape(all, [L, ...f.shape]), arg });
  }
  if (hoisted.length === 0) return original;
  const subst = new Map(hoisted.map((h) => [h.node.id, h.arg]));
  const body2 = rewriteGraph(makeGraph([...body.inputs, ...hoisted.map((h) => h.arg)], body.outputs), (n, srcs) =>
    subst.get(n.id) ?? (srcs.every((s, i) => s === n.srcs[i]) ? n : b.rebuild(n, srcs)),
  );
  return b.scan(body2, [...scan.srcs, ...hoisted.map((h) => h.stacked)], { consts: nConsts, carries: nCarries, xs: nXs + hoisted.length }, L, reverse);
}
