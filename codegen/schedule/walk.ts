/** What items touch: the buffers and offsets they read and write (memory planning, merging, checks). */
import { assertNever } from '../../ir/error.ts';
import type { Access, Expr, Item, Kernel, View } from './types.ts';

/** Every load in an expression (a one-hot's class ids too). */
export function loadsIn(e: Expr, out: Access[] = []): Access[] {
  if (e.op === 'load') out.push(e.access);
  else if (e.op === 'onehot') out.push(e.index);
  else if ('a' in e) ('c' in e && loadsIn(e.c, out), loadsIn(e.a, out), 'b' in e && loadsIn(e.b, out));
  return out;
}

/** A kernel's operands and results, as views (reads first). */
export function kernelViews(k: Exclude<Kernel, { kind: 'elementwise' }>): { reads: View[]; writes: View[] } {
  switch (k.kind) {
    case 'matmul':
      return { reads: [k.a, k.b], writes: [k.c] };
    case 'transpose':
    case 'sum':
    case 'log_softmax':
    case 'pad':
      return { reads: [k.x], writes: [k.out] };
    case 'softmax_ce':
      return { reads: [k.x, k.target], writes: [k.out] };
    case 'gather':
      return { reads: [k.table, k.idx], writes: [k.out] };
    case 'scatter_add':
      return { reads: [k.idx, k.values], writes: [k.out] };
    default:
      return assertNever(k);
  }
}

/** The accesses of one kernel (not a loop), reads and writes alike. */
export function itemAccesses(item: Kernel): (Access | View)[] {
  if (item.kind === 'elementwise') return [...item.locals.flatMap((e) => loadsIn(e)), ...item.stores.map((s) => s.to)];
  const v = kernelViews(item);
  return [...v.reads, ...v.writes];
}

/** The buffers an item reads and writes (a loop: everything its body does). */
export function itemBuffers(item: Item): { reads: Set<string>; writes: Set<string> } {
  const reads = new Set<string>(), writes = new Set<string>();
  const visit = (it: Item): void => {
    if (it.kind === 'loop') return it.body.forEach(visit);
    if (it.kind === 'elementwise') {
      it.locals.forEach((e) => loadsIn(e).forEach((a) => reads.add(a.buf)));
      it.stores.forEach((s) => writes.add(s.to.buf));
      return;
    }
    const v = kernelViews(it);
    v.reads.forEach((x) => reads.add(x.buf));
    v.writes.forEach((x) => writes.add(x.buf));
  };
  visit(item);
  return { reads, writes };
}
