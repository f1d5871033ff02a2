import * as b from '../build.ts';
import { fmtShape, ShapeError } from '../error.ts';
import type { DType } from '../node.ts';
import { tensor } from '../tensor.ts';
import { single, type OpDef } from './types.ts';

function checkIndex(i: number, n: number, what: string): number {
  if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`${what}: index ${i} out of range [0, ${n})`);
  return i;
}

/** Embedding lookup: table [V, E], indices i32 [N] -> [N, E]. */
export const gatherDef: OpDef = {
  arity: 2,
  fusion: 'kernel',
  kinked: false,
  infer([table, idx]) {
    if (table!.shape.length !== 2 || table!.dtype === 'i32') throw new ShapeError(`table must be a float matrix, got ${table!.dtype}${fmtShape(table!.shape)}`);
    if (idx!.shape.length !== 1 || idx!.dtype !== 'i32') throw new ShapeError(`indices must be i32 [N], got ${idx!.dtype}${fmtShape(idx!.shape)}`);
    return { dtype: table!.dtype, shape: [idx!.shape[0]!, table!.shape[1]!] };
  },
  evaluate([table, idx], node) {
    const [v, e] = table!.shape as [number, number];
    const out = tensor(node.dtype, node.shape);
    idx!.data.forEach((raw, n) => {
      const row = checkIndex(raw, v, 'gather');
      out.data.set(table!.data.subarray(row * e, row * e + e), n * e);
    });
    return out;
  },
  // the table's gradient is a scatter-add of the rows' gradients; indices get none
  vjp: (node, g) => [b.scatterAdd(node.srcs[1]!, single(g), node.srcs[0]!.shape[0]!), null],
};

/** out[indices[n], :] += values[n, :], out has `rows` rows. The transpose of gather. */
export const scatterAddDef: OpDef = {
  arity: 2,
  fusion: 'kernel',
  kinked: false,
  infer([idx, values], attrs) {
    if (idx!.shape.length !== 1 || idx!.dtype !== 'i32') throw new ShapeError(`indices must be i32 [N], got ${idx!.dtype}${fmtShape(idx!.shape)}`);
    if (values!.shape.length !== 2 || values!.shape[0] !== idx!.shape[0]) throw new ShapeError(`values ${fmtShape(values!.shape)} do not match indices ${fmtShape(idx!.shape)}`);
    return { dtype: values!.dtype, shape: [attrs.rows as number, values!.shape[1]!] };
  },
  evaluate([idx, values], node) {
    const [rows, e] = node.shape as [number, number];
    const out = tensor(node.dtype, node.shape);
    idx!.data.forEach((raw, n) => {
      const row = checkIndex(raw, rows, 'scatter_add');
      for (let j = 0; j < e; j++) out.data[row * e + j] += values!.data[n * e + j]!;
    });
    return out;
  },
  vjp: (node, g) => [null, b.gather(single(g), node.srcs[0]!)],
};

/** indices i32 [N] -> [N, depth] with ones at the indices. */
export const onehotDef: OpDef = {
  arity: 1,
  fusion: 'index',
  kinked: false,
  infer([idx], attrs) {
    if (idx!.shape.length !== 1 || idx!.dtype !== 'i32') throw new ShapeError(`indices must be i32 [N], got ${idx!.dtype}${fmtShape(idx!.shape)}`);
    return { dtype: attrs.dtype as DType, shape: [idx!.shape[0]!, attrs.depth as number] };
  },
  evaluate([idx], node) {
    const depth = node.attr<number>('depth');
    const out = tensor(node.dtype, node.shape);
    idx!.data.forEach((raw, n) => (out.data[n * depth + checkIndex(raw, depth, 'onehot')] = 1));
    return out;
  },
  vjp: () => [null],
};
