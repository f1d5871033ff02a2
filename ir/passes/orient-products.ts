/**
 * Every product in the one orientation the code generators run fastest: C = A Bᵀ, each element a
 * dot product of two contiguous rows (register-blocked in the TypeScript target). Other forms get
 * explicit transposes: A B = A (Bᵀ)ᵀ and Aᵀ B = (Aᵀ) (Bᵀ)ᵀ. A transpose is one pass over its
 * operand against K multiply-adds per element of the product; inside a loop, the transpose of a
 * weight (W_hh in the backward step's δ W_hh) depends on the parameters alone and moves before
 * the loop, so the step pays nothing for it. Run after autodiff: the VJP rules give the backward
 * graph products in every orientation.
 */
import * as b from '../build.ts';
import { rewriteGraph, type Graph } from '../graph.ts';
import type { Node } from '../node.ts';
import { scanParts } from '../ops/scan.ts';
import { hoistConstants } from './hoist-invariants.ts';

export function orientProducts(g: Graph): Graph {
  return rewriteGraph(g, (node, srcs) => {
    const n = srcs.every((s, i) => s === node.srcs[i]) ? node : b.rebuild(node, srcs);
    if (n.op === 'matmul') return orient(n);
    if (n.op === 'scan') {
      const p = scanParts(n.attrs);
      const body = orientProducts(p.body);
      const scan = body.key === p.body.key ? n : b.scan(body, n.srcs, { consts: p.nConsts, carries: p.nCarries, xs: p.nXs }, p.length, p.reverse);
      return hoistConstants(scan);
    }
    return n;
  });
}

/** op(A) op(B) as A' B'ᵀ. */
function orient(n: Node): Node {
  const ta = n.attr<boolean>('transA'), tb = n.attr<boolean>('transB');
  if (!ta && tb) return n;
  const [x, y] = n.srcs as [Node, Node];
  return b.matmul(ta ? b.transpose(x) : x, tb ? y : b.transpose(y), false, true);
}
