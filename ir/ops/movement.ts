import * as b from '../build.ts';
import { fmtShape, ShapeError } from '../error.ts';
import type { Node, Shape } from '../node.ts';
import { sizeOf, strides, tensor, unravel, type Tensor } from '../tensor.ts';
import { single, type OpDef } from './types.ts';

function checkAxis(shape: Shape, axis: number): void {
  if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length) throw new ShapeError(`axis ${axis} out of range for ${fmtShape(shape)}`);
}

/** Copy `x` into a tensor of `shape`, mapping each output index to an input offset. */
function gatherBy(x: Tensor, shape: Shape, srcOffset: (idx: number[]) => number): Tensor {
  const out = tensor(x.dtype, shape);
  for (let i = 0; i < out.data.length; i++) out.data[i] = x.data[srcOffset(unravel(i, shape))]!;
  return out;
}

/** numpy-style broadcast: `x` right-aligned against `shape`; its dims must be 1 or equal. */
export const broadcastDef: OpDef = {
  arity: 1,
  fusion: 'index',
  kinked: false,
  infer([x], attrs) {
    const shape = attrs.shape as number[];
    const lead = shape.length - x!.shape.length;
    const ok = lead >= 0 && x!.shape.every((d, i) => d === 1 || d === shape[i + lead]);
    if (!ok) throw new ShapeError(`cannot broadcast ${fmtShape(x!.shape)} to ${fmtShape(shape)}`);
    return { dtype: x!.dtype, shape };
  },
  evaluate([x], node) {
    const lead = node.shape.length - x!.shape.length;
    const st = strides(x!.shape);
    return gatherBy(x!, node.shape, (idx) => x!.shape.reduce((off, d, i) => off + (d === 1 ? 0 : idx[i + lead]! * st[i]!), 0));
  },
  vjp: (node, g) => [b.unbroadcast(single(g), node.srcs[0]!.shape)],
};

export const reshapeDef: OpDef = {
  arity: 1,
  fusion: 'reshape',
  kinked: false,
  infer([x], attrs) {
    const shape = attrs.shape as number[];
    if (sizeOf(shape) !== sizeOf(x!.shape)) throw new ShapeError(`cannot reshape ${fmtShape(x!.shape)} to ${fmtShape(shape)}`);
    return { dtype: x!.dtype, shape };
  },
  evaluate: ([x], node) => tensor(x!.dtype, node.shape, x!.data),
  vjp: (node, g) => [b.reshape(single(g), node.srcs[0]!.shape)],
};

/** A matrix transposed, [M, N] -> [N, M]: a kernel's preferred operand layout made explicit. */
export const transposeDef: OpDef = {
  arity: 1,
  fusion: 'kernel',
  kinked: false,
  infer([x]) {
    if (x!.shape.length !== 2) throw new ShapeError(`transpose needs a matrix, got ${fmtShape(x!.shape)}`);
    return { dtype: x!.dtype, shape: [x!.shape[1]!, x!.shape[0]!] };
  },
  evaluate([x], node) {
    const cols = x!.shape[1]!;
    return gatherBy(x!, node.shape, ([i, j]) => j! * cols + i!);
  },
  vjp: (_, g) => [b.transpose(single(g))],
};

/** Sum over `axes` (sorted), which are removed from the shape. */
export const sumDef: OpDef = {
  arity: 1,
  fusion: 'kernel',
  kinked: false,
  infer([x], attrs) {
    const axes = attrs.axes as number[];
    for (const a of axes) checkAxis(x!.shape, a);
    if (x!.dtype === 'i32') throw new ShapeError('cannot sum an integer tensor');
    return { dtype: x!.dtype, shape: x!.shape.filter((_, i) => !axes.includes(i)) };
  },
  evaluate([x], node) {
    const axes = node.attr<number[]>('axes');
    const out = tensor(x!.dtype, node.shape);
    const keep = x!.shape.map((_, i) => !axes.includes(i));
    const ost = strides(node.shape);
    for (let i = 0; i < x!.data.length; i++) {
      const idx = unravel(i, x!.shape);
      let off = 0, k = 0;
      for (let d = 0; d < idx.length; d++) if (keep[d]) off += idx[d]! * ost[k++]!;
      out.data[off] += x!.data[i]!;
    }
    return out;
  },
  vjp(node, g) {
    const x = node.srcs[0]!, axes = node.attr<number[]>('axes');
    const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    return [b.broadcast(b.reshape(single(g), kept), x.shape)];
  },
};

export const sliceDef: OpDef = {
  arity: 1,
  fusion: 'index',
  kinked: false,
  infer([x], attrs) {
    const { axis, start, end } = attrs as { axis: number; start: number; end: number };
    checkAxis(x!.shape, axis);
    if (!(0 <= start && start < end && end <= x!.shape[axis]!)) throw new ShapeError(`slice [${start}, ${end}) out of range for axis ${axis} of ${fmtShape(x!.shape)}`);
    return { dtype: x!.dtype, shape: x!.shape.map((d, i) => (i === axis ? end - start : d)) };
  },
  evaluate([x], node) {
    const axis = node.attr<number>('axis'), start = node.attr<number>('start');
    const st = strides(x!.shape);
    return gatherBy(x!, node.shape, (idx) => idx.reduce((off, v, i) => off + (i === axis ? v + start : v) * st[i]!, 0));
  },
  vjp(node, g) {
    const x = node.srcs[0]!, axis = node.attr<number>('axis');
    return [b.pad(single(g), axis, node.attr<number>('start'), x.shape[axis]! - node.attr<number>('end'))];
  },
};

/** Zero padding along one axis: the transpose of slice. */
export const padDef: OpDef = {
  arity: 1,
  fusion: 'kernel',
  kinked: false,
  infer([x], attrs) {
    const { axis, before, after } = attrs as { axis: number; before: number; after: number };
    checkAxis(x!.shape, axis);
    if (before < 0 || after < 0) throw new ShapeError(`negative padding ${before}, ${after}`);
    return { dtype: x!.dtype, shape: x!.shape.map((d, i) => (i === axis ? d + before + after : d)) };
  },
  evaluate([x], node) {
    const axis = node.attr<number>('axis'), before = node.attr<number>('before');
    const out = tensor(x!.dtype, node.shape);
    const ost = strides(node.shape);
    for (let i = 0; i < x!.data.length; i++) {
      const idx = unravel(i, x!.shape);
      out.data[idx.reduce((off, v, d) => off + (d === axis ? v + before : v) * ost[d]!, 0)] = x!.data[i]!;
    }
    return out;
  },
  vjp(node, g) {
    const axis = node.attr<number>('axis'), before = node.attr<number>('before');
    return [b.slice(single(g), axis, before, before + node.srcs[0]!.shape[axis]!)];
  },
};

export const concatDef: OpDef = {
  arity: 'variadic',
  fusion: 'concat',
  kinked: false,
  infer(xs, attrs) {
    const axis = attrs.axis as number;
    if (xs.length === 0) throw new ShapeError('nothing to concatenate');
    const first = xs[0]!;
    checkAxis(first.shape, axis);
    for (const x of xs) {
      const ok = x.dtype === first.dtype && x.shape.length === first.shape.length && x.shape.every((d, i) => i === axis || d === first.shape[i]);
      if (!ok) throw new ShapeError(`shapes ${xs.map((n) => fmtShape(n.shape)).join(', ')} do not fit along axis ${axis}`);
    }
    return { dtype: first.dtype, shape: first.shape.map((d, i) => (i === axis ? xs.reduce((s, x) => s + x.shape[axis]!, 0) : d)) };
  },
  evaluate(xs, node) {
    const axis = node.attr<number>('axis');
    const out = tensor(node.dtype, node.shape);
    const ost = strides(node.shape);
    let base = 0;
    for (const x of xs) {
      for (let i = 0; i < x.data.length; i++) {
        const idx = unravel(i, x.shape);
        out.data[idx.reduce((off, v, d) => off + (d === axis ? v + base : v) * ost[d]!, 0)] = x.data[i]!;
      }
      base += x.shape[axis]!;
    }
    return out;
  },
  vjp(node, g) {
    const axis = node.attr<number>('axis');
    let start = 0;
    return node.srcs.map((x: Node) => {
      const piece = b.slice(single(g), axis, start, start + x.shape[axis]!);
      start += x.shape[axis]!;
      return piece;
    });
  },
};
