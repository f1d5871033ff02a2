import { describe, expect, it } from 'vitest';
import elman from '../examples/cells/elman.ts';
import lstm from '../examples/cells/lstm.ts';
import { printGraph } from '../ir/print.ts';
import { cell } from '../src/dsl/index.ts';
import { traceCell } from '../src/dsl/trace.ts';
import { sequenceGraph } from '../src/layout.ts';

const sizes = { X: 2, H: 3, Y: 4 };

describe('trace options override the cell', () => {
  it('--loss mse --loss-on last gives the same graph as a cell declaring them', () => {
    const declared = cell('elman', elman.sizes, elman.step, { loss: 'mse', lossOn: 'last' });
    const a = traceCell(declared, { sizes, batch: 2 });
    const b = traceCell(elman, { sizes, batch: 2, loss: 'mse', lossOn: 'last' });
    expect(b.loss).toBe('mse');
    expect(b.target).toEqual({ kind: 'dense', shape: [4] });
    expect(printGraph(sequenceGraph(b, 3, { k1: 3, k2: 3 }))).toBe(printGraph(sequenceGraph(a, 3, { k1: 3, k2: 3 })));
    // and differs from the default cross-entropy on every step
    expect(printGraph(sequenceGraph(traceCell(elman, { sizes, batch: 2 }), 3, { k1: 3, k2: 3 }))).not.toBe(printGraph(sequenceGraph(b, 3, { k1: 3, k2: 3 })));
  });

  it('embed turns a dense input into token ids looked up in an embedding [V, X]', () => {
    const c = traceCell(lstm, { sizes, batch: 2, embed: { x: 7 } });
    expect(c.inputs.map((i) => [i.name, i.kind, i.vocab])).toEqual([['x', 'tokens', 7]]);
    expect(c.params.find((p) => p.name === 'embedding')?.shape).toEqual([7, 2]);
    expect(() => traceCell(lstm, { sizes, batch: 2, embed: { y: 7 } })).toThrow(/cannot embed 'y'/);
  });
});

describe('differentiating a truncated sequence keeps one copy of each forward Scan', () => {
  it('windows of 3 over 6 steps: two forward Scans (with residuals), two reverse', async () => {
    const { differentiate } = await import('../ir/passes/differentiate.ts');
    const { graphNodes } = await import('../ir/graph.ts');
    const c = traceCell(lstm, { sizes, batch: 1 });
    const g = differentiate(sequenceGraph(c, 6, { k1: 3, k2: 3 }), { loss: 'loss', wrt: c.params.map((p) => p.name) });
    const scans = graphNodes(g).filter((n) => n.op === 'scan');
    // the loss, the final state and the gradients all read the same forward Scans
    expect(scans.filter((s) => !s.attr<boolean>('reverse'))).toHaveLength(2);
    expect(scans.filter((s) => s.attr<boolean>('reverse'))).toHaveLength(2);
  });
});
