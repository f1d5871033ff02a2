/**
 * Memory planning on the schedule (codegen/schedule/memory.ts), on small schedules written by hand:
 * the same claims the planner has always made, now over items instead of lines of text.
 */
import { describe, expect, it } from 'vitest';
import { constant, variable } from '../codegen/schedule/affine.ts';
import { planMemory } from '../codegen/schedule/memory.ts';
import type { Affine, Item, Schedule, ScheduleFunction } from '../codegen/schedule/types.ts';
import { checkSchedule } from '../codegen/schedule/verify.ts';

/** `to[off + i] = from[off + i]` (or a literal when `from` is null) over `n` elements. */
function copy(to: string, from: string | null, n = 2, toOff: Affine = constant(0)): Item {
  return {
    kind: 'elementwise',
    shape: [n],
    locals: [from === null ? { op: 'literal', value: 1 } : { op: 'load', access: { buf: from, off: constant(0), strides: [1] } }],
    stores: [{ to: { buf: to, off: toOff, strides: [1] }, value: { op: 'local', id: 0 } }],
    fused: ['copy'],
  };
}

const loop = (body: Item[], length = 4): Item => ({ kind: 'loop', variable: 't0', length, reverse: false, body });
const fn = (items: Item[], liveOut: string[] = [], name = 'f'): ScheduleFunction => ({ name, args: [], items, liveOut: liveOut.map((b) => ({ buf: b, off: constant(0) })) });

function sched(sizes: Record<string, number>, functions: ScheduleFunction[]): Schedule {
  return {
    buffers: [{ name: 'S', kind: 'state', dtype: 'f32', size: 2 }, ...Object.entries(sizes).map(([name, size]) => ({ name, kind: 'scratch' as const, dtype: 'f32' as const, size }))],
    functions,
    params: [],
    states: [],
    sequence: [],
    inferenceSequence: [],
    evaluationSequence: [],
    diagnosticsSequence: null,
  };
}

describe('memory planning', () => {
  it('buffers with disjoint live ranges share bytes; overlapping ones do not', () => {
    // a lives over items 0-1, b 1-2, c 2-3, d 3: a and c can share, b and d can share
    const s = sched({ a: 4, b: 4, c: 4, d: 4 }, [fn([copy('a', null, 4), copy('b', 'a', 4), copy('c', 'b', 4), copy('d', 'c', 4), copy('S', 'd')])]);
    const plan = planMemory(s);
    expect(plan.offsets.get('a')).not.toBe(plan.offsets.get('b'));
    expect(plan.offsets.get('b')).not.toBe(plan.offsets.get('c'));
    expect(plan.arenaSize).toBe(8);
    expect(plan.separateSize).toBe(16);
    expect(checkSchedule(s, plan)).toEqual([]);
  });

  it('a buffer read inside a step loop and written before it lives through the whole loop', () => {
    const s = sched({ h: 2, t: 2, u: 2, v: 2 }, [fn([copy('h', null), loop([copy('t', 'h'), copy('u', 't'), copy('S', 'u')]), copy('v', null), copy('S', 'v')])]);
    const plan = planMemory(s);
    // h crosses the loop boundary: it must not share with t or u, which live inside the loop
    expect(plan.offsets.get('h')).not.toBe(plan.offsets.get('t'));
    expect(plan.offsets.get('h')).not.toBe(plan.offsets.get('u'));
    // v comes after everything: it may take anyone's place
    expect(plan.arenaSize).toBe(6);
    expect(checkSchedule(s, plan)).toEqual([]);
  });

  it('a stack over steps, filled one slot per step inside the loop, lives through the whole loop', () => {
    // by its items alone ys would be dead when m is written, and m would overwrite rows of earlier steps
    const s = sched({ ys: 8, m: 2 }, [fn([loop([copy('ys', null, 2, variable('t0', 2)), copy('m', null), copy('S', 'm')])], ['ys'])]);
    const plan = planMemory(s);
    const [m, ys] = [plan.offsets.get('m')!, plan.offsets.get('ys')!];
    expect(m + 2 <= ys || m >= ys + 8).toBe(true);
    expect(checkSchedule(s, plan)).toEqual([]);
  });

  it("a buffer the caller reads after the function returns lives to the function's end", () => {
    const items = [copy('out', null, 4), copy('tmp', null, 4), copy('S', 'tmp')];
    expect(planMemory(sched({ out: 4, tmp: 4 }, [fn(items)])).offsets.get('tmp')).toBe(0); // out is dead after item 0: tmp reuses it
    const s = sched({ out: 4, tmp: 4 }, [fn(items, ['out'])]);
    const plan = planMemory(s);
    expect(plan.offsets.get('tmp')).not.toBe(plan.offsets.get('out'));
    expect(checkSchedule(s, plan)).toEqual([]);
  });

  it('separate functions plan from the same arena', () => {
    const plan = planMemory(sched({ a: 8, b: 8 }, [fn([copy('a', null, 8), copy('S', 'a')], [], 'f'), fn([copy('b', null, 8), copy('S', 'b')], [], 'g')]));
    expect(plan.offsets.get('a')).toBe(0);
    expect(plan.offsets.get('b')).toBe(0);
    expect(plan.arenaSize).toBe(8);
  });

  it('offsets are multiples of the alignment', () => {
    const s = sched({ a: 3, b: 5, c: 2 }, [fn([copy('a', null, 3), copy('b', null, 5), copy('c', null), copy('S', 'c'), copy('S', 'a'), copy('S', 'b')])]);
    const plan = planMemory(s, 4);
    expect([...plan.offsets.values()].every((o) => o % 4 === 0)).toBe(true);
    expect(checkSchedule(s, plan)).toEqual([]);
  });
});
