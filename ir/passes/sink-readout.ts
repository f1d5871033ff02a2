/**
 * Move the readout after the loop. The part of a Scan body that reads the state but does not
 * feed it back (logits = h_t W_outᵀ + b, the per-step loss) need not run step by step: the body
 * emits h_t, and after the loop one product over all steps, [L·B, H] · W_outᵀ, and one batched
 * loss replace L small ones. Its gradient then also leaves the backward loop, which keeps only the
 * recurrence. Mirrors hoist-invariants, which does the same for the input side.
 */
import * as b from '../build.ts';
import { freshNames, graphNodes, makeGraph, rewriteGraph, topoSort, type Graph } from '../graph.ts';
import type { Node } from '../node.ts';
import { ELEMENTWISE, isBinary, isUnary } from '../op.ts';
import { scanParts } from '../ops/scan.ts';

export function sinkReadout(g: Graph): Graph {
  const projections = new Map<number, (index: number) => Node>();
  return rewriteGraph(g, (node, srcs) => {
    if (node.op === 'proj' && projections.has(node.srcs[0]!.id)) return projections.get(node.srcs[0]!.id)!(node.attr<number>('index'));
    const n = srcs.every((s, i) => s === node.srcs[i]) ? node : b.rebuild(node, srcs);
    if (n.op !== 'scan') return n;
    const r = sinkScan(n);
    if (r) projections.set(node.id, r);
    return n;
  });
}

function sinkScan(scan: Node): ((index: number) => Node) | null {
  const { body, nConsts, nCarries, nXs, length: L, reverse } = scanParts(scan.attrs);
  const outs = Object.entries(body.outputs);
  const constArgs = new Set(body.inputs.slice(0, nConsts).map((n) => n.id));
  const xArgs = body.inputs.slice(nConsts + nCarries);
  const xIndex = new Map(xArgs.map((a, i) => [a.id, i]));
  const cone = new Set(topoSort(outs.slice(0, nCarries).map(([, n]) => n)).map((n) => n.id));
  const varying = new Set<number>();
  for (const n of graphNodes(body)) if ((n.op === 'arg' && !constArgs.has(n.id)) || n.srcs.some((s) => varying.has(s.id))) varying.add(n.id);

  // which ys can leave the loop, and which values of the recurrence they read (emitted per step)
  const emitted: Node[] = [];
  const liftable = (n: Node): boolean => {
    const [x, y] = n.srcs;
    if (n.shape.length === 0) return false;
    if (xIndex.has(n.id) || !varying.has(n.id)) return true;
    if (cone.has(n.id)) {
      if (!emitted.includes(n)) emitted.push(n);
      return true;
    }
    if (n.op === 'matmul') return !n.attr<boolean>('transA') && !varying.has(y!.id) && liftable(x!);
    if (n.op === 'softmax_ce' || (ELEMENTWISE.has(n.op) && isBinary(n.op))) return liftable(x!) && liftable(y!);
    if (n.op === 'log_softmax' || (ELEMENTWISE.has(n.op) && isUnary(n.op))) return liftable(x!);
    return false;
  };
  // a y outside the recurrence: a batched value, or the sum of one over every axis (a step's loss)
  const sinkable = new Map<number, Node>(); // result index -> the batched value it stacks or sums
  outs.slice(nCarries).forEach(([, y], j) => {
    if (cone.has(y.id) || !varying.has(y.id)) return;
    const v = y.op === 'sum' && y.shape.length === 0 ? y.srcs[0]! : y;
    if (liftable(v)) sinkable.set(nCarries + j, v);
  });
  if (sinkable.size === 0) return null;

  const kept = outs.filter((_, i) => i < nCarries || !sinkable.has(i));
  const bodyOuts: Record<string, Node> = Object.fromEntries(kept);
  const fresh = freshNames(Object.keys(bodyOuts));
  emitted.forEach((n, i) => (bodyOuts[fresh(`__sunk${i}`)] = n));
  const scan2 = b.scan(makeGraph(body.inputs, bodyOuts), scan.srcs, { consts: nConsts, carries: nCarries, xs: nXs }, L, reverse);

  const memo = new Map<number, Node>();
  /** A per-step value `n` of shape [B, ...] for all steps, as [L·B, ...]. */
  const lift = (n: Node): Node => {
    const hit = memo.get(n.id);
    if (hit) return hit;
    const flat = (stacked: Node) => b.reshape(stacked, [L * n.shape[0]!, ...n.shape.slice(1)]);
    let r: Node;
    if (xIndex.has(n.id)) r = flat(scan.srcs[nConsts + nCarries + xIndex.get(n.id)!]!);
    else if (!varying.has(n.id)) r = flat(b.broadcast(b.reshape(n, [1, ...n.shape]), [L, ...n.shape]));
    else if (cone.has(n.id)) r = flat(b.proj(scan2, kept.length + emitted.indexOf(n)));
    else if (n.op === 'matmul') r = b.matmul(lift(n.srcs[0]!), n.srcs[1]!, false, n.attr<boolean>('transB'));
    else r = b.rebuild(n, n.srcs.map(lift)); // elementwise, log_softmax, softmax_ce: the same op over all rows
    memo.set(n.id, r);
    return r;
  };
  const keptIndex = new Map(kept.map(([name], i) => [name, i]));
  return (index) => {
    const v = sinkable.get(index);
    if (!v) return b.proj(scan2, keptIndex.get(outs[index]![0])!);
    const stacked = b.reshape(lift(v), [L, ...v.shape]);
    return v === outs[index]![1] ? stacked : b.sum(stacked, v.shape.map((_, i) => i + 1));
  };
}
