/**
 * Stacked and bidirectional layers (src/dsl/layers.ts, src/layout-layers.ts): PyTorch's names and
 * shapes, one embedding table shared by both directions, a one-directional stack as one Scan, a
 * Scan per layer and direction (the reverse ones reversed) otherwise, truncation refused for a
 * bidirectional model, composition errors that name the layer, `rnnc check` passing on a stacked
 * bidirectional cell, and `rnnc dot` drawing each layer's directions.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import bilstm from '../examples/cells/bilstm.ts';
import lstmStack from '../examples/cells/lstm-stack.ts';
import gru from '../examples/cells/gru.ts';
import lstm from '../examples/cells/lstm.ts';
import { graphNodes } from '../ir/graph.ts';
import { checkCell } from '../src/check.ts';
import { cellDot } from '../src/dot-views.ts';
import { cell, tanh } from '../src/dsl/index.ts';
import { bidirectional, stack } from '../src/dsl/layers.ts';
import { traceCell } from '../src/dsl/trace.ts';
import { sequenceGraph } from '../src/layout.ts';

const sizes = { X: 2, H: 3, Y: 4 };
const shapes = (c: ReturnType<typeof traceCell>) => Object.fromEntries(c.params.map((p) => [p.name, p.shape]));
const scans = (g: ReturnType<typeof sequenceGraph>) => graphNodes(g).filter((n) => n.op === 'scan');

describe('names and shapes, as PyTorch gives them', () => {
  it('stack(lstm, lstm): nn.LSTM(num_layers=2), one Scan', () => {
    const c = traceCell(lstmStack, { sizes, batch: 2 });
    expect(shapes(c)).toEqual({
      weight_ih_l0: [12, 2], weight_hh_l0: [12, 3], bias_ih_l0: [12], bias_hh_l0: [12],
      weight_ih_l1: [12, 3], weight_hh_l1: [12, 3], bias_ih_l1: [12], bias_hh_l1: [12],
      out_weight: [4, 3], out_bias: [4],
    });
    expect(c.states.map((s) => s.name)).toEqual(['h_l0', 'c_l0', 'h_l1', 'c_l1']);
    expect(c.layers).toBeUndefined();
    expect(scans(sequenceGraph(c, 4, { k1: 2, k2: 2 }))).toHaveLength(2); // one per window: truncation works
  });

  it('stack(bidirectional(lstm), bidirectional(lstm)): nn.LSTM(num_layers=2, bidirectional=True), a Scan per layer and direction', () => {
    const c = traceCell(bilstm, { sizes, batch: 2 });
    const p = shapes(c);
    for (const l of ['l0', 'l0_reverse', 'l1', 'l1_reverse']) {
      expect(p[`weight_ih_${l}`]).toEqual([12, l.startsWith('l0') ? 2 : 6]); // layer 1 reads both directions: 2H
      expect(p[`weight_hh_${l}`]).toEqual([12, 3]);
      expect(p[`bias_ih_${l}`]).toEqual([12]);
    }
    expect(p.out_weight).toEqual([4, 6]);
    expect(Object.keys(p)).toHaveLength(18);
    const ss = scans(sequenceGraph(c, 4, { k1: 4, k2: 4 }));
    expect(ss.map((s) => s.attr<boolean>('reverse')).sort()).toEqual([false, false, true, true]);
  });

  it('an embedding in front (--embed) is one table, read by both directions', () => {
    const c = traceCell(bilstm, { sizes, batch: 2, embed: { x: 7 } });
    expect(c.params.filter((p) => p.name.startsWith('embedding')).map((p) => p.name)).toEqual(['embedding']);
    expect(c.inputs.map((i) => [i.name, i.kind])).toEqual([['x', 'tokens']]);
  });
});

describe('what is refused, naming the layer', () => {
  it('truncation of a bidirectional model', () => {
    const c = traceCell(bilstm, { sizes, batch: 2 });
    expect(() => sequenceGraph(c, 4, { k1: 2, k2: 2 })).toThrow(/truncate: .* has a bidirectional layer, whose backward direction starts from the end of the sequence: it needs the whole sequence \(compile it without --truncate\)/);
  });
  it('a last-step loss with a bidirectional layer', () => {
    expect(() => traceCell(bidirectional(lstm), { sizes, batch: 2, lossOn: 'last' })).toThrow(/needs a loss on every step/);
  });
  it('bidirectional of a bidirectional model, an empty stack, something that is not a cell', () => {
    expect(() => bidirectional(bidirectional(lstm))).toThrow(/bidirectional: takes one cell; .* stack\(bidirectional\(a\), bidirectional\(b\)\)/);
    expect(() => stack()).toThrow(/stack: needs at least one cell/);
    expect(() => stack(lstm, 3 as unknown as typeof lstm)).toThrow(/stack: argument 2 must be a cell/);
  });
  it('a layer above the first whose input is not sized by X', () => {
    const odd = cell('odd', { Z: 5, H: 3 }, ({ Z, H }, { input, state, param }) => {
      const x = input('x', [Z]), h = state('h', [H]);
      const h1 = tanh(param('weight_ih', [H, Z]).mv(x).add(param('weight_hh', [H, H]).mv(h)));
      return { next: { h: h1 }, output: h1 };
    });
    expect(() => traceCell(stack(gru, odd), { sizes: { ...sizes }, batch: 2 })).toThrow(/layer 1 reads input 'x' \[5\], but the layer below gives \[3\] per step: its input must be sized by 'X'/);
  });
});

describe('the tools on a stacked bidirectional cell', () => {
  it('rnnc check passes (finite differences, generated trainer, unrolling), with lengths', async () => {
    const c = traceCell(bilstm, { sizes, batch: 3, lengths: true });
    const r = await checkCell(c, 4, { k1: 4, k2: 4 });
    expect(r.ok).toBe(true);
    expect(r.finiteDifferences.count).toBeGreaterThan(50);
  }, 60_000);
  it('rnnc dot draws every layer in both directions, each in its box', () => {
    const c = traceCell(bilstm, { sizes, batch: 1 });
    for (const view of ['unrolled', 'backward'] as const) {
      const dot = cellDot(c, { view, seq: 3, truncation: { k1: 3, k2: 3 }, detail: 'step' });
      for (const label of ['layer 0, forward', 'layer 0, reverse (from the last step)', 'layer 1, forward', 'layer 1, reverse (from the last step)']) expect(dot).toContain(`label="${label}: steps 0-2"`);
      expect(dot).not.toContain('gradients stay inside');
    }
  });
});

describe('rnnc compile refuses, in one line and writing nothing', () => {
  const run = (args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['bin/rnnc.mjs', ...args], { cwd: path.resolve(import.meta.dirname, '..') }, (err, stdout, stderr) => resolve({ code: err ? (err.code as number) : 0, stdout, stderr }));
  });
  it.each([
    ['a bidirectional model under --truncate', ['examples/cells/bilstm.ts', '--truncate', '2'], /^rnnc compile: examples\/cells\/bilstm\.ts:\d+:\d+: truncate: stack\(bidirectional\(lstm\), bidirectional\(lstm\)\) has a bidirectional layer, whose backward direction starts from the end of the sequence/],
    ['--lengths with a last-step loss', ['examples/cells/lstm.ts', '--lengths', '--loss-on', 'last'], /^rnnc compile: examples\/cells\/lstm\.ts:\d+:\d+: cell 'lstm': variable lengths need a loss on every step/],
  ])('%s', async (_, args, message) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnc-layers-'));
    const out = path.join(dir, 't.ts');
    const r = await run(['compile', ...args, '-o', out]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(message);
    expect(fs.existsSync(out)).toBe(false);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 30_000);
});
