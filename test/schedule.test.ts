/**
 * The schedule itself (codegen/schedule): its memory plan, checked by an independent pass that runs
 * every item element by element over an arena of owners; the fusion of the stock cells' steps; the
 * affine index form; and the printed schedule of `rnnc schedule` as goldens
 * (`UPDATE_GOLDEN=1 npx vitest run test/schedule.test.ts` rewrites them).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { constant } from '../codegen/schedule/affine.ts';
import { buildSchedule } from '../codegen/schedule/build.ts';
import { liveRanges, planMemory } from '../codegen/schedule/memory.ts';
import { canonical } from '../codegen/schedule/merge.ts';
import type { ElementwiseKernel, Item, Loop, Schedule } from '../codegen/schedule/types.ts';
import { checkSchedule } from '../codegen/schedule/verify.ts';
import { itemBuffers } from '../codegen/schedule/walk.ts';
import elman from '../examples/cells/elman.ts';
import gru from '../examples/cells/gru.ts';
import irnn from '../examples/cells/irnn.ts';
import lstm from '../examples/cells/lstm.ts';
import mgu from '../examples/cells/mgu.ts';
import { compileTrainer } from '../src/compile.ts';
import type { CellDef } from '../src/dsl/cell.ts';
import { traceCell, type TraceOptions } from '../src/dsl/trace.ts';
import { parseTruncation } from '../src/layout.ts';
import { planTraining } from '../src/program.ts';
import tagger from './cells/good/tagger.ts';

const SIZES = { X: 2, H: 3, Y: 4 };
const B = 2, T = 5;
const CELLS: Record<string, CellDef> = { elman, irnn, lstm, gru, mgu };

function schedule(def: CellDef, o: { truncate?: string; opt?: 0 | 1; trace?: TraceOptions; sizes?: Record<string, number> } = {}): Schedule {
  const c = traceCell(def, { sizes: o.sizes ?? SIZES, batch: B, ...o.trace });
  return buildSchedule(planTraining(c, T, parseTruncation(o.truncate, T), o.opt ?? 1));
}

const loopsOf = (items: readonly Item[]): Loop[] => items.flatMap((it) => (it.kind === 'loop' ? [it, ...loopsOf(it.body)] : []));

describe('schedule: the memory plan, checked by running every item', () => {
  const cases: [string, CellDef, Parameters<typeof schedule>[1]][] = [];
  for (const [name, def] of Object.entries(CELLS)) {
    for (const truncate of [undefined, '2', '2:3']) for (const opt of [1, 0] as const) cases.push([`${name}, truncate ${truncate ?? 'none'}, -O${opt}`, def, { truncate, opt }]);
  }
  cases.push(['lstm, embed x: 5', lstm, { trace: { embed: { x: 5 } } }]);
  cases.push(['elman, MSE on the last step, truncate 2', elman, { truncate: '2', trace: { loss: 'mse', lossOn: 'last' } }]);
  cases.push(['gru, loss on the last step, -O0', gru, { opt: 0, trace: { lossOn: 'last' } }]);
  cases.push(['tagger: tokens, lookup and a dense input', tagger, { truncate: '3', sizes: { V: 5, E: 2, F: 2, H: 3, Y: 4 } }]);

  it.each(cases)('%s: no value is read where another buffer has written since', (_name, def, o) => {
    const s = schedule(def, o);
    expect(checkSchedule(s, planMemory(s))).toEqual([]);
    // aligned offsets (a WebGPU target binds at 256 bytes) are checked the same way
    const aligned = planMemory(s, 64);
    expect([...aligned.offsets.values()].every((off) => off % 64 === 0)).toBe(true);
    expect(checkSchedule(s, aligned)).toEqual([]);
  });

  it('the check catches two live buffers given the same bytes, and an access past a buffer', () => {
    const s = schedule(lstm);
    const plan = planMemory(s);
    const fn = s.functions[0]!;
    const ranges = [...liveRanges(fn)].filter(([b]) => s.buffers.find((d) => d.name === b)?.kind === 'scratch');
    const [a, b] = ranges.flatMap(([x, rx], i) => ranges.slice(i + 1).filter(([, ry]) => rx.first <= ry.last && ry.first <= rx.last).map(([y]) => [x, y]))[0]!;
    const offsets = new Map(plan.offsets);
    offsets.set(b!, offsets.get(a!)!);
    expect(checkSchedule(s, { ...plan, offsets }).length).toBeGreaterThan(0);
    const shrunk = { ...s, buffers: s.buffers.map((d) => (d.name === a ? { ...d, size: 1 } : d)) };
    expect(checkSchedule(shrunk, plan).some((p) => p.includes('outside its 1 elements'))).toBe(true);
  });

  it('buffers with disjoint lives share bytes: the arena is smaller than the buffers apart', () => {
    for (const def of Object.values(CELLS)) {
      const plan = planMemory(schedule(def));
      expect(plan.arenaSize).toBeLessThan(plan.separateSize / 2);
    }
  });
});

describe('schedule: fusion', () => {
  const steps = (s: Schedule) => loopsOf(s.functions[0]!.items);

  it('the LSTM forward step is one product and one elementwise kernel that writes every saved value into its stack', () => {
    const [fwd] = steps(schedule(lstm));
    expect(fwd!.reverse).toBe(false);
    expect(fwd!.body.map((i) => i.kind)).toEqual(['matmul', 'elementwise']);
    const k = fwd!.body[1] as ElementwiseKernel;
    const slots = k.stores.filter((st) => st.to.off.terms.some(([v]) => v === fwd!.variable));
    // the 8 values the backward step reads (gates, tanh of the cell, c and h of the step before), and the output h
    expect(new Set(slots.map((st) => st.to.buf)).size).toBe(8);
    // and the new h and c, written in place into the carries
    expect(k.stores.length - slots.length).toBe(2);
  });

  it('the LSTM backward step is one elementwise kernel writing the gate gradients into their slots of the δ stack, and one product', () => {
    const bwd = steps(schedule(lstm)).find((l) => l.reverse)!;
    expect(bwd.body.map((i) => i.kind)).toEqual(['elementwise', 'matmul']);
    const k = bwd.body[0] as ElementwiseKernel;
    const delta = k.stores.filter((st) => st.to.off.terms.some(([v]) => v === bwd.variable));
    expect(delta.map((st) => st.to.buf)).toEqual(Array(4).fill(delta[0]!.to.buf));
    expect(delta.map((st) => st.to.off.c).sort((x, y) => x - y)).toEqual([0, 3, 6, 9]); // gates i, f, g, o of [B, 4H]
  });

  it.each(Object.keys(CELLS))('%s: no step copies a value into a stack or a carry on its own, and its elementwise kernels are separated by products', (name) => {
    for (const loop of steps(schedule(CELLS[name]!))) {
      const ew = loop.body.filter((i): i is ElementwiseKernel => i.kind === 'elementwise');
      expect(ew.filter((k) => k.fused.every((f) => f === 'copy')), `${name}: ${ew.map((k) => k.fused.join(' ')).join(' | ')}`).toEqual([]);
      // two elementwise kernels in a row would be a missed fusion: a product stands between any two
      // (the MGU's step has two products, the second reading f ⊙ h; the GRU's dh adds δ·W_hh to dh ⊙ z)
      const kinds = loop.body.map((i) => i.kind).join(' ');
      expect(kinds, name).not.toMatch(/elementwise elementwise/);
      expect(ew.length, name).toBeLessThanOrEqual(loop.body.length - ew.length + 1);
    }
  });

  it('a value saved twice by a Scan is stacked once (the Elman h: output and residual)', () => {
    const [fwd] = steps(schedule(elman));
    const writes = [...itemBuffers(fwd!).writes].filter((b) => b.startsWith('ys'));
    expect(writes.length).toBe(2); // h of the step before (for dW_hh), and the new h
  });
});

describe('schedule: affine indices', () => {
  it('the generated LSTM trainer reads every value at an affine index: a bias as P[off + j], no division or modulo', () => {
    const source = compileTrainer(traceCell(lstm, { sizes: SIZES, batch: B }), { seq: T });
    const indices = [...source.matchAll(/\b\w+\[([^\]\n]*)\]/g)].map((m) => m[1]!);
    expect(indices.length).toBeGreaterThan(100);
    expect(indices.filter((i) => /[%/]|\| 0/.test(i))).toEqual([]);
    // bias_hh of [4H] at offset 72 of P (weight_ih [12, 2], weight_hh [12, 3], bias_ih [12] before it), each gate its slice
    for (const gate of [0, 3, 6, 9]) expect(source).toContain(`P[${72 + gate} + j]`);
  });

  const kernel = (shape: number[], strides: number[][]): ElementwiseKernel => ({
    kind: 'elementwise',
    shape,
    locals: strides.slice(1).map((s) => ({ op: 'load', access: { buf: 'x', off: constant(0), strides: s } })),
    stores: [{ to: { buf: 'y', off: constant(0), strides: strides[0]! }, value: { op: 'local', id: 0 } }],
    fused: ['add'],
  });

  it('canonical form: a contiguous loop nest is one loop; a broadcast keeps its dimension; unit dimensions go', () => {
    expect(canonical(kernel([2, 3, 4], [[12, 4, 1], [12, 4, 1]])).shape).toEqual([24]);
    const bias = canonical(kernel([2, 3], [[3, 1], [0, 1]]));
    expect(bias.shape).toEqual([2, 3]);
    expect(bias.locals[0]).toMatchObject({ access: { strides: [0, 1] } });
    const unit = canonical(kernel([1, 3, 1], [[3, 1, 1], [0, 1, 0]]));
    expect(unit.shape).toEqual([3]);
    expect(unit.stores[0]!.to.strides).toEqual([1]);
  });
});

describe('schedule: printed (rnnc schedule)', () => {
  const DIR = path.join('test', 'golden', 'schedule');
  const UPDATE = process.env.UPDATE_GOLDEN === '1';
  it.each([
    ['lstm', ['examples/cells/lstm.ts']],
    ['elman-truncate-2', ['examples/cells/elman.ts', '--truncate', '2']],
    // the diagnostics function: the forward again with a zero probe on each step's state, and its backward
    ['elman-diagnose', ['examples/cells/elman.ts', '--diagnose']],
  ])('%s matches its golden', (name, args) => {
    const out = execFileSync('node', ['bin/rnnc.mjs', 'schedule', ...args, '--size', 'X=2', '--size', 'H=3', '--size', 'Y=4', '--batch', '2', '--seq', '4'], { encoding: 'utf8' });
    const file = path.join(DIR, `${name}.txt`);
    if (UPDATE) (fs.mkdirSync(DIR, { recursive: true }), fs.writeFileSync(file, out));
    expect(fs.existsSync(file), `${file} is missing: run with UPDATE_GOLDEN=1`).toBe(true);
    expect(out).toBe(fs.readFileSync(file, 'utf8'));
  }, 30_000);
});
