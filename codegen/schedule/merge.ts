/**
 * Two last steps on a body's items: elementwise kernels over the same iteration space merge into
 * one when no item between them sees the difference (the saved copies of a step's old state join
 * the region that computes its new state), and each elementwise kernel's index space is put in
 * its simplest form (unit dimensions dropped, dimensions that every access walks contiguously
 * joined: a contiguous [B, H] loop is one loop of B·H; a bias broadcast over it stays two, read as
 * `bias[j]`).
 */
import { sameAffine } from './affine.ts';
import { itemBuffers, loadsIn } from './walk.ts';
import type { Access, ElementwiseKernel, Expr, Item } from './types.ts';

/** An item with its level and its position in the graph's order (ties within a level). */
export interface Placed {
  readonly level: number;
  readonly seq: number;
  readonly item: Item;
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
const sameAccess = (a: Access, b: Access) => a.buf === b.buf && sameAffine(a.off, b.off) && sameShape(a.strides, b.strides);

const loadsOf = (k: ElementwiseKernel): Access[] => k.locals.flatMap((e) => loadsIn(e));

/**
 * Whether `a` may run inside `b` (at b's place): b overwrites what a reads only at the very element
 * a reads it, they write different buffers, and b reads what a writes only at the very element a
 * writes it (then b takes a's value, computed in the same iteration, instead of the load).
 */
function fits(a: ElementwiseKernel, b: ElementwiseKernel): boolean {
  if (!sameShape(a.shape, b.shape)) return false;
  const aw = new Set(a.stores.map((s) => s.to.buf)), bw = new Set(b.stores.map((s) => s.to.buf));
  if ([...aw].some((x) => bw.has(x))) return false;
  if (!loadsOf(b).every((l) => !aw.has(l.buf) || a.stores.some((s) => sameAccess(s.to, l)))) return false;
  return loadsOf(a).every((l) => !bw.has(l.buf) || b.stores.every((s) => s.to.buf !== l.buf || sameAccess(s.to, l)));
}

/** b's expression inside the joined kernel: its locals shifted past a's, its reads of a's stores replaced by a's values. */
function rebase(e: Expr, by: number, fromA: (x: Access) => Expr | undefined): Expr {
  switch (e.op) {
    case 'local':
      return { op: 'local', id: e.id + by };
    case 'load':
      return fromA(e.access) ?? e;
    case 'literal':
    case 'scalar':
    case 'onehot':
      return e;
    default:
      if ('c' in e) return { op: e.op, c: rebase(e.c, by, fromA), a: rebase(e.a, by, fromA), b: rebase(e.b, by, fromA) };
      return 'b' in e ? { op: e.op, a: rebase(e.a, by, fromA), b: rebase(e.b, by, fromA) } : { op: e.op, a: rebase(e.a, by, fromA) };
  }
}

/** a's values first, then b's; every load still precedes every store. */
function join(a: ElementwiseKernel, b: ElementwiseKernel): ElementwiseKernel {
  const n = a.locals.length;
  const fromA = (x: Access) => a.stores.find((s) => sameAccess(s.to, x))?.value;
  return {
    kind: 'elementwise',
    shape: b.shape,
    locals: [...a.locals, ...b.locals.map((e) => rebase(e, n, fromA))],
    stores: [...a.stores, ...b.stores.map((s) => ({ to: s.to, value: rebase(s.value, n, fromA) }))],
    fused: [...a.fused, ...b.fused],
  };
}

/** Whether `later` must stay after `item`: it reads what item writes, or writes what item touches. */
function conflicts(item: Item, later: Item): boolean {
  const a = itemBuffers(item), c = itemBuffers(later);
  return [...a.writes].some((x) => c.reads.has(x) || c.writes.has(x)) || [...a.reads].some((x) => c.writes.has(x));
}

/**
 * Items in level order, then each as late as it can go: just before the earliest of the items that
 * depend on it (or overwrite what it reads), in the order they had among themselves. A value is
 * computed when it is needed, not as early as it could be, so it holds its bytes for less time (the
 * transposed inputs of a weight gradient wait for the backward pass instead of living through the
 * forward one). Every pair that conflicts keeps its order, so the result is still a valid schedule.
 */
export function order(placed: readonly Placed[]): Placed[] {
  const items = [...placed].sort((x, y) => x.level - y.level || x.seq - y.seq);
  // a sort key per item: a prefix sorts after the keys that extend it ("just before")
  const keys: number[][] = [];
  for (let i = items.length - 1; i >= 0; i--) {
    let first: number[] | null = null;
    for (let j = i + 1; j < items.length; j++) {
      if (conflicts(items[i]!.item, items[j]!.item) && (first === null || compareKeys(keys[j]!, first) < 0)) first = keys[j]!;
    }
    keys[i] = first === null ? [i] : [...first, i];
  }
  return items.map((p, i) => ({ p, k: keys[i]! })).sort((x, y) => compareKeys(x.k, y.k)).map((x) => x.p);
}

function compareKeys(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return b.length - a.length;
}

/** Items (in order) with each elementwise kernel merged into the next one it fits, then put in canonical form. */
export function mergeElementwise(ordered: readonly Placed[]): Placed[] {
  const items = [...ordered];
  for (let i = 0; i < items.length; i++) {
    const a = items[i]!.item;
    if (a.kind !== 'elementwise') continue;
    for (let j = i + 1; j < items.length; j++) {
      const b = items[j]!.item;
      if (b.kind === 'elementwise' && fits(a, b)) {
        items[j] = { ...items[j]!, item: join(a, b) };
        items.splice(i--, 1);
        break;
      }
      // an item in between that reads what a writes, or writes what a touches, pins a here
      if (conflicts(a, b)) break;
    }
  }
  return items.map((p) => (p.item.kind === 'elementwise' ? { ...p, item: canonical(p.item) } : p));
}

/** Drop unit dimensions and join dimensions that every access walks contiguously. */
export function canonical(k: ElementwiseKernel): ElementwiseKernel;
export function canonical(k: Item): Item;
export function canonical(k: Item): Item {
  if (k.kind !== 'elementwise') return k;
  const vectors: (readonly number[])[] = [];
  const collect = (e: Expr): void => {
    if (e.op === 'load') vectors.push(e.access.strides);
    else if (e.op === 'onehot') vectors.push(e.index.strides, e.cls.strides);
    else if ('a' in e) ('c' in e && collect(e.c), collect(e.a), 'b' in e && collect(e.b));
  };
  k.locals.forEach(collect);
  k.stores.forEach((s) => vectors.push(s.to.strides));
  // groups of original dimensions that become one
  const groups: number[][] = [];
  k.shape.forEach((d, i) => {
    if (d === 1) return;
    const last = groups[groups.length - 1];
    const prev = last?.[last.length - 1];
    if (prev !== undefined && vectors.every((s) => s[prev] === s[i]! * d)) last!.push(i);
    else groups.push([i]);
  });
  const shape = groups.map((g) => g.reduce((acc, i) => acc * k.shape[i]!, 1));
  const remap = (s: readonly number[]) => groups.map((g) => s[g[g.length - 1]!]!);
  const expr = (e: Expr): Expr => {
    switch (e.op) {
      case 'load':
        return { op: 'load', access: { ...e.access, strides: remap(e.access.strides) } };
      case 'onehot':
        return { op: 'onehot', index: { ...e.index, strides: remap(e.index.strides) }, cls: { off: e.cls.off, strides: remap(e.cls.strides) } };
      case 'literal':
      case 'scalar':
      case 'local':
        return e;
      default:
        if ('c' in e) return { op: e.op, c: expr(e.c), a: expr(e.a), b: expr(e.b) };
        return 'b' in e ? { op: e.op, a: expr(e.a), b: expr(e.b) } : { op: e.op, a: expr(e.a) };
    }
  };
  return { ...k, shape, locals: k.locals.map(expr), stores: k.stores.map((s) => ({ to: { ...s.to, strides: remap(s.to.strides) }, value: s.value })) };
}
