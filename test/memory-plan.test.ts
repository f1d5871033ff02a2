import { describe, expect, it } from 'vitest';
import { planMemory } from '../codegen/ts/memory.ts';

const bufs = (spec: Record<string, number>) => Object.entries(spec).map(([name, size]) => ({ name, size }));

describe('memory planning', () => {
  it('buffers with disjoint live ranges share bytes; overlapping ones do not', () => {
    const code = ['a[0] = 1;', 'b[0] = a[0];', 'c[0] = b[0];', 'd[0] = c[0];'].join('\n');
    const plan = planMemory(bufs({ a: 4, b: 4, c: 4, d: 4 }), [{ code }]);
    // a lives on lines 0-1, b 1-2, c 2-3, d 3: a and c can share, b and d can share
    expect(plan.offsets.get('a')).toBe(plan.offsets.get('c'));
    expect(plan.offsets.get('b')).toBe(plan.offsets.get('d'));
    expect(plan.offsets.get('a')).not.toBe(plan.offsets.get('b'));
    expect(plan.arenaSize).toBe(8);
    expect(plan.separateSize).toBe(16);
  });

  it('a buffer read inside a step loop and written before it lives through the whole loop', () => {
    const code = [
      'h[0] = 0;', // 0: h written before the loop
      'for (let step0 = 0; step0 < 4; step0++) {', // 1
      '  t[0] = h[0];', // 2: t only inside
      '  u[0] = t[0];', // 3: u only inside
      '}', // 4
      'v[0] = 1;', // 5
    ].join('\n');
    const plan = planMemory(bufs({ h: 2, t: 2, u: 2, v: 2 }), [{ code }]);
    // h crosses the loop boundary: it must not share with t or u, which live inside the loop
    expect(plan.offsets.get('h')).not.toBe(plan.offsets.get('t'));
    expect(plan.offsets.get('h')).not.toBe(plan.offsets.get('u'));
    // v comes after everything: it may take anyone's place
    expect(plan.arenaSize).toBe(6);
  });

  it('a stack over steps, filled one step at a time inside the loop, lives through the whole loop', () => {
    const code = [
      'for (let step0 = 0; step0 < 4; step0++) {', // 0
      '  const t0 = step0;', // 1
      '  ys[t0 * 2] = 1;', // 2: step t's row of the stack, and ys's last mention
      '  m[0] = 2;', // 3: a per-step temporary after it
      '  S[0] = m[0];', // 4
      '}', // 5
    ].join('\n');
    const plan = planMemory(bufs({ m: 2, ys: 8 }), [{ code }]);
    // by its lines alone ys would be dead when m is written, and m would overwrite rows of earlier steps
    const [m, ys] = [plan.offsets.get('m')!, plan.offsets.get('ys')!];
    expect(m + 2 <= ys || m >= ys + 8).toBe(true);
  });

  it("a buffer the caller reads after the function returns lives to the function's end", () => {
    const code = ['out[0] = 1;', 'tmp[0] = 2;', 'S[0] = tmp[0];'].join('\n');
    expect(planMemory(bufs({ out: 4, tmp: 4 }), [{ code }]).offsets.get('tmp')).toBe(0); // out is dead after line 0: tmp reuses it
    const plan = planMemory(bufs({ out: 4, tmp: 4 }), [{ code, liveOut: ['out'] }]);
    expect(plan.offsets.get('tmp')).not.toBe(plan.offsets.get('out'));
  });

  it('separate functions plan from the same arena', () => {
    const plan = planMemory(bufs({ a: 8, b: 8 }), [{ code: 'a[0] = 1;' }, { code: 'b[0] = 2;' }]);
    expect(plan.offsets.get('a')).toBe(0);
    expect(plan.offsets.get('b')).toBe(0);
    expect(plan.arenaSize).toBe(8);
  });
});
