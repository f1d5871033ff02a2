/**
 * Unrolling Scans, as JAX's `scan(..., unroll=)`.
 *
 * `unroll(g)` replaces every Scan by `length` inlined copies of its body: no loop is left, and the
 * optimizer sees the whole sequence as one straight-line graph. `unroll(g, f)` unrolls partially
 * by `divmod(length, f)`: a Scan of length ⌊L/f⌋ whose body runs f steps, then the L mod f
 * remaining steps inlined after it. Either way each Scan's results keep their types: the final
 * carries, and each y stacked over time as [L, ...], so every user of the Scan is unchanged.
 * Reverse Scans walk time backwards, in the blocks and in the remainder alike.
 */
import * as b from '../build.ts';
import type { ArgRole } from '../build.ts';
import { RnncError } from '../error.ts';
import { inlineGraph, makeGraph, rewriteGraph, type Graph } from '../graph.ts';
import { withSite, type Node } from '../node.ts';
import { scanParts, type ScanParts } from '../ops/scan.ts';

export function unroll(g: Graph, factor?: number): Graph {
  if (factor !== undefined && (!Number.isInteger(factor) || factor < 1)) throw new RnncError(`unroll: factor ${factor} must be a positive integer`);
  // A Scan has several results and only `proj` nodes read them, so the rewrite keeps the unrolled
  // results of each Scan here (by the old Scan's id) and answers its projs from them.
  const results = new Map<number, readonly Node[]>();
  return rewriteGraph(g, (node, srcs) => {
    if (node.op === 'scan') {
      results.set(node.id, withSite(node.site, () => unrollScan(scanParts(node.attrs), srcs, factor)));
      return node; // a placeholder nobody reads: every user of a Scan is a proj, answered below
    }
    if (node.op === 'proj') return results.get(node.srcs[0]!.id)![node.attr<number>('index')]!;
    return srcs.every((s, i) => s === node.srcs[i]) ? node : withSite(node.site, () => b.rebuild(node, srcs));
  });
}

/** The results of one Scan (final carries, then stacked ys), computed without it or with a shorter one. */
function unrollScan(p: ScanParts, srcs: readonly Node[], factor: number | undefined): Node[] {
  const body = unroll(p.body, factor); // Scans nested in the body first
  const { nConsts, nCarries, length: L, reverse } = p;
  const consts = srcs.slice(0, nConsts);
  const inits = srcs.slice(nConsts, nConsts + nCarries);
  const xs = srcs.slice(nConsts + nCarries);
  const f = factor ?? L;

  if (f === 1) {
    // nothing to unroll at this level; the body may still have changed
    const scan = b.scan(body, srcs, { consts: nConsts, carries: nCarries, xs: xs.length }, L, reverse);
    return Object.keys(body.outputs).map((_, k) => b.proj(scan, k));
  }
  if (f >= L) {
    // full unrolling (a Scan of length 1 would be no loop at all)
    const run = runSteps(body, consts, inits, (t) => xs.map((x) => stepOf(x, t)), times(0, L, reverse));
    return [...run.carries, ...run.ys.map(stack)];
  }

  // divmod(L, f): q blocks of f steps in a Scan, r steps after it. A forward Scan's blocks cover
  // steps [0, qf) and its remainder [qf, L); a reverse Scan starts at the end, so its blocks cover
  // [r, L) and its remainder [0, r). Either way the loop runs first, then the remainder.
  const q = Math.floor(L / f), r = L % f;
  const [lo, hi] = reverse ? [r, L] : [0, q * f];
  const xArgs = body.inputs.slice(nConsts + nCarries);
  // the block body reads f steps of each x at once: x enters as [f, ...] under its own name
  const blockArgs = xArgs.map((a) => b.arg(a.attr<string>('name'), a.dtype, [f, ...a.shape], a.attr<ArgRole>('role')));
  const inner = runSteps(body, body.inputs.slice(0, nConsts), body.inputs.slice(nConsts, nConsts + nCarries), (i) => blockArgs.map((a) => stepOf(a, i)), times(0, f, reverse));
  const keys = Object.keys(body.outputs); // carries first, then ys: the same keys, so the same order
  const blockOuts: Record<string, Node> = {};
  keys.forEach((k, i) => (blockOuts[k] = i < nCarries ? inner.carries[i]! : stack(inner.ys[i - nCarries]!)));
  const blockBody = makeGraph([...body.inputs.slice(0, nConsts + nCarries), ...blockArgs], blockOuts);
  const blockXs = xs.map((x) => b.reshape(b.slice(x, 0, lo, hi), [q, f, ...x.shape.slice(1)]));
  const loop = b.scan(blockBody, [...consts, ...inits, ...blockXs], { consts: nConsts, carries: nCarries, xs: xs.length }, q, reverse);
  const loopCarries = inits.map((_, k) => b.proj(loop, k));
  // the loop's ys come out as [q, f, ...]: row-major, that is steps lo..hi-1 in order
  const loopYs = keys.slice(nCarries).map((_, j) => {
    const y = b.proj(loop, nCarries + j);
    return b.reshape(y, [q * f, ...y.shape.slice(2)]);
  });
  if (r === 0) return [...loopCarries, ...loopYs];

  const rest = runSteps(body, consts, loopCarries, (t) => xs.map((x) => stepOf(x, t)), reverse ? times(0, r, true) : times(q * f, L, false));
  const ys = loopYs.map((y, j) => b.concat(reverse ? [stack(rest.ys[j]!), y] : [y, stack(rest.ys[j]!)], 0));
  return [...rest.carries, ...ys];
}

/** Steps [from, to) in the order the Scan visits them. */
function times(from: number, to: number, reverse: boolean): number[] {
  const ts = Array.from({ length: to - from }, (_, i) => from + i);
  return reverse ? ts.reverse() : ts;
}

/** Step t of a value stacked over time: [L, ...] -> [...]. */
const stepOf = (x: Node, t: number): Node => b.reshape(b.slice(x, 0, t, t + 1), x.shape.slice(1));

/** Per-step values [...] stacked in time order: [n, ...]. */
const stack = (ys: readonly Node[]): Node => b.concat(ys.map((y) => b.reshape(y, [1, ...y.shape])), 0);

/**
 * Inline the body once per step in `order`, threading the carries. Each step's inputs are bound by
 * name: consts, the carries so far, and `xsAt(t)`. Returns the final carries and, per y, the
 * step values in ascending time (whatever the visiting order), ready to stack.
 */
function runSteps(body: Graph, consts: readonly Node[], inits: readonly Node[], xsAt: (t: number) => readonly Node[], order: readonly number[]) {
  const names = body.inputs.map((a) => a.attr<string>('name'));
  const keys = Object.keys(body.outputs);
  const nCarries = inits.length;
  let carries = [...inits];
  const first = order.reduce((a, t) => Math.min(a, t), Infinity); // no spread: sequences can be long
  const ys = keys.slice(nCarries).map(() => new Array<Node>(order.length));
  for (const t of order) {
    const values: Record<string, Node> = {};
    [...consts, ...carries, ...xsAt(t)].forEach((v, i) => (values[names[i]!] = v));
    const outs = inlineGraph(body, values);
    carries = keys.slice(0, nCarries).map((k) => outs[k]!);
    keys.slice(nCarries).forEach((k, j) => (ys[j]![t - first] = outs[k]!));
  }
  return { carries, ys };
}
