/**
 * Index maps: how a value's coordinates follow from a kernel's iteration coordinates. Each
 * coordinate of a node of rank m, read at iteration point i of rank k, is off[d] + Σ mat[d][k]·iₖ.
 * Movement ops compose into the map (a broadcast zeroes a row, a slice adds an offset), so a fused
 * kernel reads every value at an affine index and no division or modulo is ever emitted.
 */
import { strides } from '../../ir/tensor.ts';
import { plus } from './affine.ts';
import type { Access, View } from './types.ts';

export interface IndexMap {
  readonly off: readonly number[];
  readonly mat: readonly (readonly number[])[];
  /** Rank of the iteration (the columns of `mat`, which has one row per coordinate of the value). */
  readonly rank: number;
}

export const identityMap = (rank: number): IndexMap => ({
  off: Array<number>(rank).fill(0),
  mat: Array.from({ length: rank }, (_, d) => Array.from({ length: rank }, (_, k) => (d === k ? 1 : 0))),
  rank,
});

export const isIdentity = (m: IndexMap) => m.off.length === m.rank && m.off.every((o, d) => o === 0 && m.mat[d]!.every((w, k) => w === (d === k ? 1 : 0)));

/** The map for the source of `broadcast(src -> out)`: source dims of size 1 read coordinate 0. */
export function broadcastMap(m: IndexMap, src: readonly number[], out: readonly number[]): IndexMap {
  const lead = out.length - src.length;
  return {
    off: src.map((d, i) => (d === 1 ? 0 : m.off[i + lead]!)),
    mat: src.map((d, i) => (d === 1 ? Array<number>(m.rank).fill(0) : m.mat[i + lead]!)),
    rank: m.rank,
  };
}

/** The map for the source of `slice(src, axis, start)`. */
export const sliceMap = (m: IndexMap, axis: number, start: number): IndexMap => ({ off: m.off.map((o, d) => (d === axis ? o + start : o)), mat: m.mat, rank: m.rank });

/** One row of a map: a single coordinate as an affine function of the iteration. */
export const row = (m: IndexMap, d: number): IndexMap => ({ off: [m.off[d]!], mat: [m.mat[d]!], rank: m.rank });

/** The access that reads a contiguous view of `shape` through map `m`. */
export function accessOf(view: View, shape: readonly number[], m: IndexMap): Access {
  const st = strides(shape);
  const base = shape.reduce((acc, _, d) => acc + m.off[d]! * st[d]!, 0);
  const s = Array.from({ length: m.rank }, (_, k) => shape.reduce((acc, _, d) => acc + m.mat[d]![k]! * st[d]!, 0));
  return { buf: view.buf, off: plus(view.off, base), strides: s };
}

/** outer ∘ inner: the coordinates `outer` maps to, from the iteration coordinates `inner` maps from. */
export function compose(outer: IndexMap, inner: IndexMap): IndexMap {
  return {
    off: outer.off.map((o, d) => o + outer.mat[d]!.reduce((acc, w, j) => acc + w * inner.off[j]!, 0)),
    mat: outer.mat.map((r) => Array.from({ length: inner.rank }, (_, k) => r.reduce((acc, w, j) => acc + w * inner.mat[j]![k]!, 0))),
    rank: inner.rank,
  };
}
