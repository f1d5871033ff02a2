/**
 * Weight gradients as one product over the window. In a backward Scan, each parameter gradient
 * is a carry `acc' = acc + f_t` that only accumulates. When f_t is a matrix product over the
 * batch (`a_tᵀ b_t`), a batch sum, or an embedding scatter-add, the whole sum over t is the same
 * op over all steps at once:
 *   Σ_t a_tᵀ b_t = Aᵀ B with A, B the steps stacked as [L·N, ·]      (one big matmul)
 *   Σ_t sum_0(x_t) = sum_0,1(X)                                        (one reduction)
 *   Σ_t scatter_add(i_t, v_t) = scatter_add(I, V)                      (one scatter)
 * so the carry is removed, the operands become per-step outputs (or are the Scan's own stacked
 * inputs already), and the loop keeps only the truly sequential chain (dh through W_hh).
 */
import * as b from '../build.ts';
import { graphNodes, makeGraph, rewriteGraph, type Graph } from '../graph.ts';
import type { Node } from '../node.ts';
import { scanParts } from '../ops/scan.ts';

type Term =
  | { kind: 'matmulT'; a: Node; c: Node } // aᵀ c, a [N, M], c [N, K]
  | { kind: 'sum0'; x: Node } // sum over axis 0 of x [N, ...]
  | { kind: 'scatter'; idx: Node; vals: Node; rows: number };

/** Split f_t into hoistable terms, or null if some part is not one of the three forms. */
function terms(f: Node, carry: Node): Term[] | null {
  if (f.op === 'add') {
    const l = terms(f.srcs[0]!, carry), r = terms(f.srcs[1]!, carry);
    return l && r ? [...l, ...r] : null;
  }
  if (f.op === 'matmul' && f.attr<boolean>('transA') && !f.attr<boolean>('transB')) return [{ kind: 'matmulT', a: f.srcs[0]!, c: f.srcs[1]! }];
  if (f.op === 'sum' && f.attr<number[]>('axes').join() === '0') return [{ kind: 'sum0', x: f.srcs[0]! }];
  if (f.op === 'scatter_add') return [{ kind: 'scatter', idx: f.srcs[0]!, vals: f.srcs[1]!, rows: f.attr<number>('rows') }];
  return null;
}

const dependsOn = (n: Node, target: Node): boolean => graphNodes(makeGraph([], { n })).includes(target);

export function hoistAccumulators(g: Graph): Graph {
  const projections = new Map<number, (index: number) => Node>();
  return rewriteGraph(g, (node, srcs) => {
    if (node.op === 'proj' && projections.has(node.srcs[0]!.id)) return projections.get(node.srcs[0]!.id)!(node.attr<number>('index'));
    const rebuilt = srcs.every((s, i) => s === node.srcs[i]) ? node : b.rebuild(node, srcs);
    if (node.op !== 'scan') return rebuilt;
    const r = hoistScan(rebuilt);
    if (r) projections.set(node.id, r);
    return rebuilt;
  });
}

/** For one Scan: a function from its result index to the replacement value, or null if nothing to hoist. */
function hoistScan(scan: Node): ((index: number) => Node) | null {
  const { body, nConsts, nCarries, length, reverse } = scanParts(scan.attrs);
  const outs = Object.entries(body.outputs);
  const uses = new Map<number, number>();
  for (const n of graphNodes(body)) for (const s of n.srcs) uses.set(s.id, (uses.get(s.id) ?? 0) + 1);
  for (const [, n] of outs) uses.set(n.id, (uses.get(n.id) ?? 0) + 1);

  const xArgs = body.inputs.slice(nConsts + nCarries);
  const plan = new Map<number, Term[]>(); // carry index -> its per-step terms
  for (let k = 0; k < nCarries; k++) {
    const carry = body.inputs[nConsts + k]!, next = outs[k]![1];
    if (next.op !== 'add' || uses.get(carry.id) !== 1) continue;
    const [l, r] = next.srcs as [Node, Node];
    const f = l === carry ? r : r === carry ? l : null;
    if (!f || dependsOn(f, carry)) continue;
    const ts = terms(f, carry);
    if (ts) plan.set(k, ts);
  }
  if (plan.size === 0) return null;

  // per-step values the hoisted ops need: the Scan's own stacked inputs where they are x args, its
  // outputs where they are ys already, new outputs otherwise
  const newYs: [string, Node][] = [];
  const stacked = (n: Node): ((scan2: Node) => Node) => {
    const xi = xArgs.indexOf(n);
    if (xi >= 0) return () => scan.srcs[nConsts + nCarries + xi]!;
    // already a per-step output (the gates' gradient is both dW's operand and the input's gradient)
    const yi = outs.slice(nCarries).findIndex(([, m]) => m === n);
    if (yi >= 0) return (scan2) => b.proj(scan2, keptCarries.length + yi);
    const found = newYs.find(([, m]) => m === n);
    const name = found ? found[0] : `__acc${newYs.length}`;
    if (!found) newYs.push([name, n]);
    return (scan2) => b.proj(scan2, keptCarries.length + (outs.length - nCarries) + newYs.findIndex(([k]) => k === name));
  };
  const flat = (x: Node) => b.reshape(x, [x.shape[0]! * x.shape[1]!, ...x.shape.slice(2)]);
  const hoisted = new Map<number, (scan2: Node) => Node>();
  const keptCarries = [...Array(nCarries).keys()].filter((k) => !plan.has(k));
  for (const [k, ts] of plan) {
    const parts = ts.map((t) => {
      if (t.kind === 'matmulT') {
        const [A, C] = [stacked(t.a), stacked(t.c)];
        return (s2: Node) => b.matmul(flat(A(s2)), flat(C(s2)), true, false);
      }
      if (t.kind === 'sum0') {
        const X = stacked(t.x);
        return (s2: Node) => b.sum(X(s2), [0, 1]);
      }
      const [I, V] = [stacked(t.idx), stacked(t.vals)];
      return (s2: Node) => b.scatterAdd(b.reshape(I(s2), [I(s2).size]), flat(V(s2)), t.rows);
    });
    hoisted.set(k, (s2) => parts.map((p) => p(s2)).reduce((x, y) => b.add(x, y)));
  }

  const carryArgs = keptCarries.map((k) => body.inputs[nConsts + k]!);
  const bodyOuts: Record<string, Node> = {};
  keptCarries.forEach((k) => (bodyOuts[outs[k]![0]] = outs[k]![1]));
  outs.slice(nCarries).forEach(([name, n]) => (bodyOuts[name] = n));
  newYs.forEach(([name, n]) => (bodyOuts[name] = n));
  const body2 = makeGraph([...body.inputs.slice(0, nConsts), ...carryArgs, ...xArgs], bodyOuts);
  const srcs2 = [...scan.srcs.slice(0, nConsts), ...keptCarries.map((k) => scan.srcs[nConsts + k]!), ...scan.srcs.slice(nConsts + nCarries)];
  const scan2 = b.scan(body2, srcs2, { consts: nConsts, carries: keptCarries.length, xs: xArgs.length }, length, reverse);

  return (index) => {
    if (index >= nCarries) return b.proj(scan2, keptCarries.length + index - nCarries);
    if (!plan.has(index)) return b.proj(scan2, keptCarries.indexOf(index));
    const init = scan.srcs[nConsts + index]!;
    const total = hoisted.get(index)!(scan2);
    return init.op === 'const' && init.attr<number>('value') === 0 ? total : b.add(init, total); // 0 + x -> x
  };
}
