/**
 * Memory planning: the lowered functions' scratch buffers share one arena. Each buffer is live
 * from the first to the last line of a function that names it; a buffer named both inside a
 * step loop and outside it is live for the whole loop (the loop reads it again every step), and
 * so is one indexed by the loop's step (a stack over steps, filled one step at a time); a buffer
 * the function's caller reads afterwards (the logits of inference) lives to the function's end.
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

/** One lowered function: its code, and the buffers its caller reads after it returns. */
export interface PlannedFunction {
  readonly code: string;
  readonly liveOut?: readonly string[];
}

/** Whether a line of `loop` indexes `name` by the loop's step (`ys[t0 * 4096 + j] = ...`). */
function fillsPerStep(lines: readonly string[], loop: Range & { step: string }, name: string): boolean {
  const indexed = new RegExp(`\\b${name}\\[[^\\]]*\\b${loop.step}\\b`);
  return lines.slice(loop.first, loop.last + 1).some((l) => indexed.test(l));
}

/** Live ranges, in line numbers, of `names` within one function's code. */
function liveRanges(fn: PlannedFunction, names: readonly string[]): Map<string, Range> {
  const lines = fn.code.split('\n');
  const loops: (Range & { step: string })[] = [];
  lines.forEach((line, i) => {
    const m = /^(\s*)for \(let step(\d+) = 0;/.exec(line);
    if (!m) return;
    const close = lines.findIndex((l, j) => j > i && l.startsWith(`${m[1]}}`));
    loops.push({ first: i, last: close < 0 ? lines.length - 1 : close, step: `t${m[2]}` });
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
  // a value that crosses a loop boundary, or that the loop fills step by step, lives through the whole loop
  for (const [name, r] of ranges) {
    for (const loop of loops) {
      const inside = r.first <= loop.last && r.last >= loop.first;
      const outside = r.first < loop.first || r.last > loop.last;
      if (inside && (outside || fillsPerStep(lines, loop, name))) {
        r.first = Math.min(r.first, loop.first);
        r.last = Math.max(r.last, loop.last);
      }
    }
  }
  for (const name of fn.liveOut ?? []) {
    const r = ranges.get(name);
    if (r) r.last = lines.length;
  }
  return ranges;
}

export function planMemory(buffers: readonly PlannedBuffer[], functions: readonly PlannedFunction[]): MemoryPlan {
  const offsets = new Map<string, number>();
  let arenaSize = 0;
  const size = new Map(buffers.map((b) => [b.name, b.size]));
  for (const fn of functions) {
    const ranges = [...liveRanges(fn, buffers.map((b) => b.name)).entries()].filter(([name]) => !offsets.has(name));
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
