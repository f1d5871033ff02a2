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
    expect(() => traceCell(lstm, { sizes, batch: 2, embed: { y: 7 } })).toThrow(/--embed y=7: the cell has no dense input 'y' \(it has 'x'\)$/);
  });

  it.each([
    [{ x: 0 }, '--embed x=0: the vocabulary size must be a positive integer below 2^53'],
    [{ x: 2.5 }, '--embed x=2.5: the vocabulary size must be a positive integer below 2^53'],
    [{ x: NaN }, '--embed x=NaN: the vocabulary size must be a positive integer below 2^53'],
    [{ x: 2 ** 53 + 2 }, '--embed x=9007199254740994: the vocabulary size must be a positive integer below 2^53'],
    [{ x: '5' }, '--embed x=5: the vocabulary size must be a positive integer below 2^53'],
    [{ 'x-1': 5 }, "--embed x-1=5: 'x-1' is not an input name"],
  ])('embed %j is refused naming the embedding and its value', (embed, message) => {
    expect(() => traceCell(lstm, { sizes, batch: 2, embed: embed as Record<string, number> })).toThrow(message);
  });

  it('embed of a matrix input names the embedding and the shape', () => {
    const grid = cell('grid', { H: 3 }, ({ H }, { input, state, param }) => {
      const x = input('x', [2, 2]), h = state('h', [H]);
      const next = param('w', [H, H]).mv(h).add(x.sum()).tanh();
      return { next: { h: next }, output: next };
    });
    expect(() => traceCell(grid, { embed: { x: 5 } })).toThrow(/--embed x=5: input 'x' is \[2, 2\]; only a vector input can be embedded$/);
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
