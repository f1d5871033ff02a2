/**
 * Element indices as expressions. A fused loop visits its output as rows × cols (cols = the last
 * dimension), so the common index maps (a bias broadcast over rows, a gate sliced out of the last
 * axis) stay cheap: `col`, `row * 4H + start + col`, with no division in the loop.
 */
import { strides } from '../../ir/tensor.ts';
import type { Shape } from '../../ir/node.ts';

export interface Index {
  readonly flat: string;
  readonly row: string;
  readonly col: string;
  readonly cols: number;
}

export const lastDim = (shape: Shape) => (shape.length ? shape[shape.length - 1]! : 1);

/** a + b for expressions, folding literal zeros. */
export function plus(a: string, b: string | number): string {
  const bs = String(b);
  if (bs === '0') return a;
  if (a === '0') return bs;
  return `${a} + ${bs}`;
}

export function times(a: string, n: number): string {
  if (n === 1) return a;
  if (a === '0') return '0';
  return `${wrap(a)} * ${n}`;
}

const wrap = (e: string) => (/^[\w.]+$/.test(e) ? e : `(${e})`);

/** An index from a flat offset, for a shape with `cols` columns. */
export function fromFlat(flat: string, cols: number): Index {
  if (cols === 1) return { flat, row: flat, col: '0', cols };
  return { flat, row: `(${wrap(flat)} / ${cols} | 0)`, col: `${wrap(flat)} % ${cols}`, cols };
}

/** The source index read by `broadcast(src -> out)` at output index `ix`. */
export function broadcastIndex(ix: Index, src: Shape, out: Shape): Index {
  const size = src.reduce((a, b) => a * b, 1);
  const lead = out.length - src.length;
  const padded = [...Array<number>(lead).fill(1), ...src];
  if (size === 1) return { flat: '0', row: '0', col: '0', cols: 1 };
  const C = lastDim(out);
  const onlyLast = padded.every((d, i) => (i === out.length - 1 ? d === C : d === 1));
  if (onlyLast) return { flat: ix.col, row: '0', col: ix.col, cols: C };
  const allButLast = padded.every((d, i) => (i === out.length - 1 ? d === 1 : d === out[i]));
  if (allButLast) return { flat: ix.row, row: ix.row, col: '0', cols: 1 };
  // general: sum over the kept axes of (output coordinate) * (source stride)
  const os = strides(out), ss = strides(padded);
  const terms: string[] = [];
  padded.forEach((d, k) => {
    if (d === 1) return;
    const coord = k === out.length - 1 ? ix.col : `((${ix.flat}) / ${os[k]} | 0) % ${out[k]}`;
    terms.push(times(coord, ss[k]!));
  });
  return fromFlat(terms.join(' + ') || '0', lastDim(src));
}

/** The source index read by `slice(src, axis, start)` at output index `ix` of shape `out`. */
export function sliceIndex(ix: Index, src: Shape, out: Shape, axis: number, start: number): Index {
  const srcCols = lastDim(src);
  if (axis === src.length - 1) {
    return { flat: plus(times(ix.row, srcCols), plus(ix.col, start)), row: ix.row, col: plus(ix.col, start), cols: srcCols };
  }
  const inner = out.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = out.slice(0, axis).reduce((a, b) => a * b, 1);
  const offset = start * inner;
  if (outer === 1) return fromFlat(plus(ix.flat, offset), srcCols);
  const block = out[axis]! * inner;
  const srcBlock = src[axis]! * inner;
  return fromFlat(`((${ix.flat}) / ${block} | 0) * ${srcBlock} + ${offset} + (${ix.flat}) % ${block}`, srcCols);
}

/** Whether slicing `axis` of `shape` keeps the elements contiguous (so it can be a view). */
export function sliceIsContiguous(shape: Shape, axis: number): boolean {
  return shape.slice(0, axis).every((d) => d === 1);
}
