/**
 * Memory planning on the schedule: the scratch buffers of all functions share one arena. Within a
 * function, items are numbered in execution order (a loop's body once); a buffer is live from the
 * first to the last item that touches it, and through a whole loop when it is touched both inside
 * and outside it (the loop reads it again every step) or indexed by the loop's step (a stack over
 * steps, filled one slot at a time); what the caller reads afterwards lives to the end. Buffers
 * whose live ranges do not overlap get the same bytes (first fit, in whichever of a few orders packs
 * tightest), at offsets that are multiples of `align` elements. Functions never run at the same time, so each plans from
 * offset 0 of the same arena.
 */
import { mentions } from './affine.ts';
import { itemAccesses } from './walk.ts';
import type { Item, MemoryPlan, Schedule, ScheduleFunction } from './types.ts';

interface Range {
  first: number;
  last: number;
}

/** Live ranges (item numbers) of the buffers `fn` touches. */
export function liveRanges(fn: ScheduleFunction): Map<string, Range> {
  const ranges = new Map<string, Range>();
  const loops: (Range & { variable: string; touched: Set<string>; perStep: Set<string> })[] = [];
  let pos = 0;
  const touch = (buf: string) => {
    const r = ranges.get(buf);
    if (r) r.last = pos;
    else ranges.set(buf, { first: pos, last: pos });
  };
  const visit = (items: readonly Item[], open: typeof loops) => {
    for (const item of items) {
      if (item.kind === 'loop') {
        const loop = { first: pos, last: pos, variable: item.variable, touched: new Set<string>(), perStep: new Set<string>() };
        visit(item.body, [...open, loop]);
        loop.last = Math.max(loop.first, pos - 1);
        loops.push(loop);
        continue;
      }
      for (const a of itemAccesses(item)) {
        touch(a.buf);
        for (const l of open) {
          l.touched.add(a.buf);
          if (mentions(a.off, l.variable)) l.perStep.add(a.buf);
        }
      }
      pos++;
    }
  };
  visit(fn.items, []);
  const end = Math.max(0, pos - 1);
  for (const v of [...fn.liveOut, ...(fn.result ? [fn.result] : [])]) {
    const r = ranges.get(v.buf);
    if (r) r.last = end + 1;
  }
  // inner loops first (they were pushed first), so an outer loop sees the extended ranges
  for (const l of loops) {
    for (const buf of l.touched) {
      const r = ranges.get(buf)!;
      if (r.first < l.first || r.last > l.last || l.perStep.has(buf)) {
        r.first = Math.min(r.first, l.first);
        r.last = Math.max(r.last, l.last);
      }
    }
  }
  return ranges;
}

/** Orders to place buffers in; the plan keeps whichever packs a function's buffers tightest. */
const ORDERS: readonly ((a: [string, Range, number], b: [string, Range, number]) => number)[] = [
  (a, b) => b[2] - a[2] || a[1].first - b[1].first, // largest first
  (a, b) => b[2] * (b[1].last - b[1].first + 1) - a[2] * (a[1].last - a[1].first + 1) || a[1].first - b[1].first, // most bytes × items first
  (a, b) => a[1].first - b[1].first || b[2] - a[2], // in the order they are first written
];

/** First fit: each buffer at the lowest aligned offset that no live-overlapping buffer placed before it holds. */
function firstFit(buffers: readonly [string, Range, number][], up: (n: number) => number): { offsets: Map<string, number>; size: number } {
  const placed: { off: number; end: number; range: Range }[] = [];
  const offsets = new Map<string, number>();
  let size = 0;
  for (const [name, range, n] of buffers) {
    // strictly disjoint items, so a buffer is never written by the item that last reads the one it replaces
    const clashes = placed.filter((p) => p.range.first <= range.last && range.first <= p.range.last).sort((a, b) => a.off - b.off);
    let off = 0;
    for (const c of clashes) {
      if (off + n <= c.off) break;
      off = Math.max(off, up(c.end));
    }
    placed.push({ off, end: off + n, range });
    offsets.set(name, off);
    size = Math.max(size, off + n);
  }
  return { offsets, size };
}

export function planMemory(s: Schedule, align = 1): MemoryPlan {
  const scratch = new Map(s.buffers.filter((b) => b.kind === 'scratch').map((b) => [b.name, b.size]));
  const offsets = new Map<string, number>();
  const up = (n: number) => Math.ceil(n / align) * align;
  let arenaSize = 0;
  for (const fn of s.functions) {
    const buffers = [...liveRanges(fn)].filter(([name]) => scratch.has(name) && !offsets.has(name)).map(([name, r]): [string, Range, number] => [name, r, scratch.get(name)!]);
    const best = ORDERS.map((order) => firstFit([...buffers].sort(order), up)).reduce((a, b) => (b.size < a.size ? b : a));
    for (const [name, off] of best.offsets) offsets.set(name, off);
    arenaSize = Math.max(arenaSize, best.size);
  }
  // a scratch buffer no function touches (none should exist) still gets its own place
  for (const [name, size] of scratch) if (!offsets.has(name)) (offsets.set(name, up(arenaSize)), (arenaSize = up(arenaSize) + size));
  return { offsets, arenaSize, separateSize: [...scratch.values()].reduce((a, b) => a + b, 0), align };
}
