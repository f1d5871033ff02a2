/**
 * Algebraic simplification and constant folding, as data: `[pattern, rewrite]` rules with the
 * identity each encodes. One bottom-up walk applies them; `simplify` repeats walks to a fixpoint
 * (with a limit). Scan bodies are simplified too. Rules keep dtype and shape.
 */
import * as b from '../build.ts';
import { rewriteGraph, type Graph } from '../graph.ts';
import type { Node } from '../node.ts';
import { scanParts } from '../ops/scan.ts';

const constValue = (n: Node): number | null => (n.op === 'const' ? n.attr<number>('value') : null);
const isConst = (n: Node, v: number) => constValue(n) === v;
const fill = (like: Node, v: number) => b.constant(v, like.shape, like.dtype);

type Rule = readonly [string, (n: Node) => Node | null];

/** The leaves of a tree of adds. */
function addends(n: Node, out: Node[] = []): Node[] {
  if (n.op === 'add') for (const s of n.srcs) addends(s, out);
  else out.push(n);
  return out;
}

function mergePads(n: Node): Node | null {
  if (n.op !== 'add') return null;
  const pads = addends(n);
  const axis = pads[0]!.op === 'pad' ? pads[0]!.attr<number>('axis') : -1;
  if (pads.length < 2 || !pads.every((p) => p.op === 'pad' && p.attr<number>('axis') === axis)) return null;
  const ranges = pads.map((p) => ({ x: p.srcs[0]!, start: p.attr<number>('before'), len: p.srcs[0]!.shape[axis]! })).sort((a, c) => a.start - c.start);
  const pieces: Node[] = [];
  let at = ranges[0]!.start;
  for (const r of ranges) {
    // overlapping is a real sum; a gap would need zeros, and an enclosing add may still fill it
    if (r.start !== at) return null;
    pieces.push(r.x);
    at = r.start + r.len;
  }
  return b.pad(b.concat(pieces, axis), axis, ranges[0]!.start, n.shape[axis]! - at);
}

export const rules: readonly Rule[] = [
  ['x + 0 -> x', (n) => (n.op === 'add' && isConst(n.srcs[1]!, 0) ? n.srcs[0]! : null)],
  ['0 + x -> x', (n) => (n.op === 'add' && isConst(n.srcs[0]!, 0) ? n.srcs[1]! : null)],
  ['x - 0 -> x', (n) => (n.op === 'sub' && isConst(n.srcs[1]!, 0) ? n.srcs[0]! : null)],
  ['x * 1 -> x', (n) => (n.op === 'mul' && isConst(n.srcs[1]!, 1) ? n.srcs[0]! : null)],
  ['1 * x -> x', (n) => (n.op === 'mul' && isConst(n.srcs[0]!, 1) ? n.srcs[1]! : null)],
  ['x * 0 -> 0', (n) => (n.op === 'mul' && (isConst(n.srcs[0]!, 0) || isConst(n.srcs[1]!, 0)) ? fill(n, 0) : null)],
  ['x / 1 -> x', (n) => (n.op === 'div' && isConst(n.srcs[1]!, 1) ? n.srcs[0]! : null)],
  ['-(-x) -> x', (n) => (n.op === 'neg' && n.srcs[0]!.op === 'neg' ? n.srcs[0]!.srcs[0]! : null)],
  ['c1 op c2 -> c', (n) => {
    const [x, y] = n.srcs;
    if (!x || !y || n.srcs.length !== 2 || constValue(x) === null || constValue(y) === null) return null;
    const [u, v] = [constValue(x)!, constValue(y)!];
    const folded = { add: u + v, sub: u - v, mul: u * v, div: u / v } as Record<string, number>;
    return n.op in folded ? fill(n, folded[n.op]!) : null;
  }],
  ['broadcast(c) -> c', (n) => (n.op === 'broadcast' && constValue(n.srcs[0]!) !== null ? fill(n, constValue(n.srcs[0]!)!) : null)],
  ['reshape(c) -> c', (n) => (n.op === 'reshape' && constValue(n.srcs[0]!) !== null ? fill(n, constValue(n.srcs[0]!)!) : null)],
  ['sum(c) -> c · count', (n) => {
    const c = constValue(n.srcs[0] ?? n);
    return n.op === 'sum' && c !== null ? fill(n, c * (n.srcs[0]!.size / n.size)) : null;
  }],
  // the gradient of split gates: one concat instead of zero-filling and adding each piece
  ['Σ pad_i(x_i) on adjacent ranges -> pad(concat(x_i))', mergePads],
  ['concat(concat(a, b), c) -> concat(a, b, c)', (n) => {
    const axis = n.op === 'concat' ? n.attr<number>('axis') : -1;
    const nested = (s: Node) => s.op === 'concat' && s.attr<number>('axis') === axis;
    return n.op === 'concat' && n.srcs.some(nested) ? b.concat(n.srcs.flatMap((s) => (nested(s) ? s.srcs : [s])), axis) : null;
  }],
  ['pad(x, 0, 0) -> x', (n) => (n.op === 'pad' && n.attr<number>('before') === 0 && n.attr<number>('after') === 0 ? n.srcs[0]! : null)],
  ['broadcast(broadcast(x)) -> broadcast(x)', (n) => (n.op === 'broadcast' && n.srcs[0]!.op === 'broadcast' ? b.broadcast(n.srcs[0]!.srcs[0]!, n.shape) : null)],
  // a value that lives in the trailing dims both shapes share (a bias over every row and step) is
  // broadcast straight to the new shape, so that it is read as bias[j], not through a division
  ['reshape(broadcast(x)) -> broadcast(x) when x fills trailing dims both keep', (n) => {
    if (n.op !== 'reshape' || n.srcs[0]!.op !== 'broadcast') return null;
    const x = n.srcs[0]!.srcs[0]!, from = n.srcs[0]!.shape;
    const core = x.shape.slice(x.shape.findIndex((d) => d !== 1) < 0 ? x.shape.length : x.shape.findIndex((d) => d !== 1));
    const trailing = (s: readonly number[]) => s.length >= core.length && core.every((d, i) => s[s.length - core.length + i] === d);
    return trailing(from) && trailing(n.shape) ? b.broadcast(b.reshape(x, core), n.shape) : null;
  }],
  ['reshape(reshape(x)) -> reshape(x)', (n) => (n.op === 'reshape' && n.srcs[0]!.op === 'reshape' ? b.reshape(n.srcs[0]!.srcs[0]!, n.shape) : null)],
];

/** One bottom-up walk: each node, with simplified sources, rewritten by the first rule that applies. */
export function simplifyOnce(g: Graph): Graph {
  return rewriteGraph(g, (node, srcs) => {
    let n = srcs.every((s, i) => s === node.srcs[i]) ? node : b.rebuild(node, srcs);
    if (n.op === 'scan') {
      const body = scanParts(n.attrs).body;
      const body2 = simplify(body);
      if (body2 !== body) n = withBody(n, body2);
    }
    for (const [, rule] of rules) {
      const r = rule(n);
      if (r) return r;
    }
    return n;
  });
}

function withBody(scan: Node, body: Graph): Node {
  const p = scanParts(scan.attrs);
  return b.scan(body, scan.srcs, { consts: p.nConsts, carries: p.nCarries, xs: p.nXs }, p.length, p.reverse);
}

/** Walks to a fixpoint (interned nodes make "nothing changed" a key comparison). */
export function simplify(g: Graph, maxWalks = 8): Graph {
  let cur = g;
  for (let i = 0; i < maxWalks; i++) {
    const next = simplifyOnce(cur);
    if (next.key === cur.key) return cur;
    cur = next;
  }
  return cur;
}
