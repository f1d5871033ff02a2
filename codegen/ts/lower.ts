/**
 * Lowering IR graphs to TypeScript statements over preallocated typed arrays.
 *
 * Each node becomes one of three things:
 * - a view: an existing buffer at an offset (args, reshape, stop_gradient, a contiguous slice, a
 *   Scan result);
 * - an inline expression, fused into the loop of its single user (elementwise chains, broadcasts,
 *   slices, one-hots, constants);
 * - a kernel that writes its own buffer, allocated once when the trainer is created.
 * Sizes are constants, so every loop bound and offset in the emitted code is a literal.
 */
import type { CodeBlockWriter } from 'ts-morph';
import { assertNever } from '../../ir/error.ts';
import { graphNodes, type Graph } from '../../ir/graph.ts';
import type { DType, Node } from '../../ir/node.ts';
import { ELEMENTWISE, isBinary, isUnary } from '../../ir/op.ts';
import { scanParts } from '../../ir/ops/scan.ts';
import { broadcastIndex, fromFlat, lastDim, plus, sliceIndex, sliceIsContiguous, times, type Index } from './index-expr.ts';
import { emitKernel } from './kernels.ts';
import { binaryExpr, unaryExpr } from './ops.ts';

export interface View {
  readonly buf: string;
  readonly off: string;
}

/** Where lowered code goes: statements into `w`, buffers into the trainer's one-time allocations. */
export interface Emitter {
  readonly w: CodeBlockWriter;
  /** Declares a zeroed buffer of `size` elements once, at trainer creation; returns its name. */
  alloc(size: number, dtype: DType, hint: string): string;
  /** A buffer filled with `value`, allocated once. */
  constant(value: number, size: number, dtype: DType): string;
  /** Nesting depth of Scan loops (for loop variable names). */
  readonly depth: number;
}

const KERNELS = new Set(['matmul', 'transpose', 'sum', 'softmax_ce', 'log_softmax', 'gather', 'scatter_add', 'concat', 'pad', 'scan']);
const TRANSPARENT = new Set(['reshape', 'stop_gradient']);

export const at = (v: View, i: string | number) => `${v.buf}[${plus(v.off, String(i))}]`;

/** Emit a loop over `shape` as rows × cols; `body` gets the element index. */
export function forEachElement(w: CodeBlockWriter, shape: readonly number[], body: (ix: Index) => string): void {
  const cols = lastDim(shape);
  const rows = shape.reduce((a, b) => a * b, 1) / cols;
  if (rows === 1) {
    w.write(`for (let j = 0; j < ${cols}; j++)`).block(() => w.writeLine(body({ flat: 'j', row: '0', col: 'j', cols })));
  } else if (cols === 1) {
    w.write(`for (let r = 0; r < ${rows}; r++)`).block(() => w.writeLine(body({ flat: 'r', row: 'r', col: '0', cols })));
  } else {
    w.write(`for (let r = 0, i = 0; r < ${rows}; r++)`).block(() => {
      w.write(`for (let j = 0; j < ${cols}; j++, i++)`).block(() => w.writeLine(body({ flat: 'i', row: 'r', col: 'j', cols })));
    });
  }
}

/** Lower `g` with its inputs bound by `env` (node id -> view); returns a view of every output. */
export function lowerGraph(em: Emitter, g: Graph, env: ReadonlyMap<number, View>): Record<string, View> {
  const order = graphNodes(g);
  const uses = new Map<number, number>();
  for (const n of order) for (const s of n.srcs) uses.set(s.id, (uses.get(s.id) ?? 0) + 1);
  for (const n of Object.values(g.outputs)) uses.set(n.id, (uses.get(n.id) ?? 0) + 2);

  // which values must live in a buffer: kernel results and operands, outputs, shared elementwise values
  const needsBuffer = new Set<number>();
  const mark = (n: Node): void => {
    if (n.op === 'arg' || n.op === 'proj') return;
    if (TRANSPARENT.has(n.op) || (n.op === 'slice' && sliceIsContiguous(n.srcs[0]!.shape, n.attr<number>('axis')))) return mark(n.srcs[0]!);
    needsBuffer.add(n.id);
  };
  for (const n of order) {
    if (KERNELS.has(n.op)) {
      needsBuffer.add(n.id);
      n.srcs.forEach(mark);
    } else if (n.op === 'onehot') mark(n.srcs[0]!);
    else if (ELEMENTWISE.has(n.op) && (uses.get(n.id) ?? 0) > 1) needsBuffer.add(n.id);
  }
  Object.values(g.outputs).forEach(mark);

  const views = new Map<number, View>(env);
  const exprs = new Map<number, (ix: Index) => string>();
  const read = (n: Node, ix: Index): string => {
    const v = views.get(n.id);
    if (v) return at(v, ix.flat);
    const e = exprs.get(n.id);
    if (!e) throw new Error(`lowering: %${n.id} (${n.op}) has no value`);
    return e(ix);
  };
  const view = (n: Node): View => {
    const v = views.get(n.id);
    if (!v) throw new Error(`lowering: %${n.id} (${n.op}) is not in a buffer`);
    return v;
  };

  for (const n of order) {
    if (views.has(n.id)) continue;
    const src = n.srcs[0];
    switch (n.op) {
      case 'arg':
        throw new Error(`lowering: input '${n.attr<string>('name')}' is not bound`);
      case 'const': {
        const value = n.attr<number>('value');
        if (needsBuffer.has(n.id)) views.set(n.id, { buf: em.constant(value, n.size, n.dtype), off: '0' });
        else exprs.set(n.id, () => literal(value));
        continue;
      }
      case 'reshape':
      case 'stop_gradient':
        if (views.has(src!.id)) views.set(n.id, views.get(src!.id)!);
        else exprs.set(n.id, (ix) => read(src!, n.op === 'reshape' ? fromFlat(ix.flat, lastDim(src!.shape)) : ix));
        continue;
      case 'slice': {
        const axis = n.attr<number>('axis'), start = n.attr<number>('start');
        if (views.has(src!.id) && sliceIsContiguous(src!.shape, axis)) {
          const inner = src!.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
          views.set(n.id, { buf: view(src!).buf, off: plus(view(src!).off, start * inner) });
          continue;
        }
        exprs.set(n.id, (ix) => read(src!, sliceIndex(ix, src!.shape, n.shape, axis, start)));
        break;
      }
      case 'broadcast':
        exprs.set(n.id, (ix) => read(src!, broadcastIndex(ix, src!.shape, n.shape)));
        break;
      case 'onehot':
        exprs.set(n.id, (ix) => `(${at(view(src!), ix.row)} === ${ix.col} ? 1 : 0)`);
        break;
      case 'proj':
        throw new Error('lowering: proj is bound by its scan');
      case 'matmul':
      case 'transpose':
      case 'sum':
      case 'softmax_ce':
      case 'log_softmax':
      case 'gather':
      case 'scatter_add':
      case 'concat':
      case 'pad': {
        const out: View = { buf: em.alloc(n.size, n.dtype, n.op), off: '0' };
        emitKernel(em.w, n, n.srcs.map(view), out);
        views.set(n.id, out);
        continue;
      }
      case 'scan':
        lowerScan(em, n, n.srcs.map(view), views, order);
        continue;
      default:
        if (isUnary(n.op)) {
          const f = unaryExpr[n.op];
          exprs.set(n.id, (ix) => f(read(src!, ix)));
        } else if (isBinary(n.op)) {
          const f = binaryExpr[n.op];
          const [a, b] = n.srcs as [Node, Node];
          exprs.set(n.id, (ix) => f(read(a, ix), read(b, ix)));
        } else assertNever(n.op as never);
    }
    if (needsBuffer.has(n.id)) {
      const out: View = { buf: em.alloc(n.size, n.dtype, n.op), off: '0' };
      const e = exprs.get(n.id)!;
      forEachElement(em.w, n.shape, (ix) => `${at(out, ix.flat)} = ${e(ix)};`);
      views.set(n.id, out);
    }
  }
  const outs: Record<string, View> = {};
  for (const [k, n] of Object.entries(g.outputs)) outs[k] = view(n);
  return outs;
}

function literal(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  return v < 0 ? `(${v})` : String(v);
}

/** Copy `size` elements (an unrolled-by-the-JIT loop; `set` on subarrays allocates). */
export function emitCopy(w: CodeBlockWriter, from: View, to: View, size: number): void {
  if (from.buf === to.buf && from.off === to.off) return;
  w.write(`for (let j = 0; j < ${size}; j++)`).block(() => w.writeLine(`${at(to, 'j')} = ${at(from, 'j')};`));
}

/** A Scan: results in their own buffers (the carries double as the loop state), the body lowered inside the loop. */
function lowerScan(em: Emitter, n: Node, srcs: readonly View[], views: Map<number, View>, order: readonly Node[]): void {
  const { body, nConsts, nCarries, length, reverse } = scanParts(n.attrs);
  const results = n.results!.map((r, i) => ({ buf: em.alloc(r.shape.reduce((a, b) => a * b, 1), r.dtype, i < nCarries ? 'carry' : 'ys'), off: '0' }));
  for (const p of order) if (p.op === 'proj' && p.srcs[0] === n) views.set(p.id, results[p.attr<number>('index')]!);
  const w = em.w;
  body.inputs.slice(nConsts, nConsts + nCarries).forEach((a, k) => emitCopy(w, srcs[nConsts + k]!, results[k]!, a.size));
  const s = `step${em.depth}`, t = `t${em.depth}`;
  w.write(`for (let ${s} = 0; ${s} < ${length}; ${s}++)`).block(() => {
    w.writeLine(`const ${t} = ${reverse ? `${length - 1} - ${s}` : s};`);
    const env = new Map<number, View>();
    body.inputs.forEach((a, i) => {
      if (i < nConsts) env.set(a.id, srcs[i]!);
      else if (i < nConsts + nCarries) env.set(a.id, results[i - nConsts]!);
      else env.set(a.id, { buf: srcs[i]!.buf, off: plus(srcs[i]!.off, times(t, a.size)) });
    });
    const inner: Emitter = { ...em, depth: em.depth + 1 };
    const outs = Object.values(lowerGraph(inner, body, env));
    const outNodes = Object.values(body.outputs);
    // ys first: a y may be a carry's value before this step's update
    outNodes.forEach((o, i) => i >= nCarries && emitCopy(w, outs[i]!, { buf: results[i]!.buf, off: times(t, o.size) }, o.size));
    outNodes.forEach((o, i) => i < nCarries && emitCopy(w, outs[i]!, results[i]!, o.size));
  });
}
