/**
 * Memory planning: the lowered functions' scratch buffers share one arena. Each buffer is live
 * from the first to the last line of a function that names it; a buffer named both inside a
 * step loop and outside it is live for the whole loop (the loop reads it again every step).
 * Buffers whose live ranges do not overlap get the same bytes (first fit, largest first).
 * Functions never run at the same time, so each plans from offset 0 of the same arena.
 */

export interface PlannedBuffer {
  readonly name: string;
  readonly size: number;
}

export interface MemoryPlan {
  readonly offsets: ReadonlyMap<string, number>;
  /** Elements of the arena. */
  readonly arenaSize: number;
  /** Elements if every buffer had its own array. */
  readonly separateSize: number;
}

interface Range {
  first: number;
  last: number;
}

/** Live ranges, in line numbers, of `names` within one function's code. */
function liveRanges(code: string, names: readonly string[]): Map<string, Range> {
  const lines = code.split('\n');
  const loops: Range[] = [];
  lines.forEach((line, i) => {
    const m = /^(\s*)for \(let step\d+ = 0;/.exec(line);
    if (!m) return;
    const close = lines.findIndex((l, j) => j > i && l.startsWith(`${m[1]}}`));
    loops.push({ first: i, last: close < 0 ? lines.length - 1 : close });
  });
  const byName = new Set(names);
  const ranges = new Map<string, Range>();
  lines.forEach((line, i) => {
    for (const word of line.match(/\b[A-Za-z_]\w*\b/g) ?? []) {
      if (!byName.has(word)) continue;
      const r = ranges.get(word);
      if (r) r.last = i;
      else ranges.set(word, { first: i, last: i });
    }
  });
  // a value that crosses a loop boundary lives through the whole loop
  for (const r of ranges.values()) {
    for (const loop of loops) {
      const inside = r.first <= loop.last && r.last >= loop.first;
      const outside = r.first < loop.first || r.last > loop.last;
      if (inside && outside) {
        r.first = Math.min(r.first, loop.first);
        r.last = Math.max(r.last, loop.last);
      }
    }
  }
  return ranges;
}

export function planMemory(buffers: readonly PlannedBuffer[], functions: readonly string[]): MemoryPlan {
  const offsets = new Map<string, number>();
  let arenaSize = 0;
  const size = new Map(buffers.map((b) => [b.name, b.size]));
  for (const code of functions) {
    const ranges = [...liveRanges(code, buffers.map((b) => b.name)).entries()].filter(([name]) => !offsets.has(name));
    ranges.sort((a, b) => size.get(b[0])! - size.get(a[0])! || a[1].first - b[1].first);
    const placed: { off: number; end: number; range: Range }[] = [];
    for (const [name, range] of ranges) {
      const n = size.get(name)!;
      // the lowest offset whose bytes no live-overlapping buffer holds; strictly disjoint lines, so
      // a buffer is never written by the line that last reads the one it replaces
      const clashes = placed.filter((p) => p.range.first <= range.last && range.first <= p.range.last).sort((a, b) => a.off - b.off);
      let off = 0;
      for (const c of clashes) {
        if (off + n <= c.off) break;
        off = Math.max(off, c.end);
      }
      placed.push({ off, end: off + n, range });
      offsets.set(name, off);
      arenaSize = Math.max(arenaSize, off + n);
    }
  }
  // a buffer no function names (none should exist) still gets its own place
  for (const b of buffers) if (!offsets.has(b.name)) (offsets.set(b.name, arenaSize), (arenaSize += b.size));
  return { offsets, arenaSize, separateSize: buffers.reduce((a, b) => a + b.size, 0) };
}
