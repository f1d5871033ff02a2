/**
 * `rnnc check` catches a wrong gradient. Ops are patched in the registry with a deliberately
 * broken VJP (the value unchanged): off by 1%, off by a sign on one operand, off by 1e-4. The
 * generated trainer is built from the same broken VJP, so it still agrees with the reference:
 * only the finite differences can catch it, and they must, for seeds 1-10, naming the coordinate.
 * The registry is this file's own (vitest loads each test file's modules afresh), and each patch
 * is undone after its test.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as b from '../ir/build.ts';
import type { Node } from '../ir/node.ts';
import type { Op } from '../ir/op.ts';
import { opDefs } from '../ir/ops/registry.ts';
import { checkCell, formatReport } from '../src/check.ts';
import { traceCell } from '../src/dsl/trace.ts';
import { parseTruncation } from '../src/layout.ts';
import { cells } from './helpers.ts';

const SEEDS = Array.from({ length: 10 }, (_, i) => i + 1);
const SEQ = 4;

const saved = new Map<Op, (typeof opDefs)[Op]>();
/** Replace `op`'s VJP by `wrong` applied to the right one's contributions (one per operand). */
function breakVjp(op: Op, wrong: (grads: readonly (Node | null)[]) => (Node | null)[]): void {
  const def = opDefs[op];
  saved.set(op, def);
  opDefs[op] = { ...def, vjp: (node, g, ctx) => wrong(def.vjp(node, g, ctx)) };
}
afterEach(() => {
  for (const [op, def] of saved) opDefs[op] = def;
  saved.clear();
});

const scaled = (factor: number) => (grads: readonly (Node | null)[]) => grads.map((n) => n && b.scale(n, factor));
/** The gradient of the second operand with its sign flipped: a ⊙ b read as a ⊙ (-b) backwards only. */
const secondFlipped = (grads: readonly (Node | null)[]) => grads.map((n, i) => (i === 1 && n ? b.neg(n) : n));

async function expectCaught(name: string, truncate?: string): Promise<void> {
  const c = traceCell(cells[name]!, { batch: 2 });
  for (const seed of SEEDS) {
    const r = await checkCell(c, SEQ, parseTruncation(truncate, SEQ), { seed });
    const report = formatReport(r).join('\n');
    expect(r.ok, `seed ${seed}\n${report}`).toBe(false);
    expect(r.finiteDifferences.failures, report).toBeGreaterThan(0);
    expect(r.generatedCode.failures, report).toBe(0); // the trainer has the same (broken) gradient
    expect(r.decidedBy!.section.title).toBe('autodiff vs finite differences');
    expect(formatReport(r).at(-1)).toMatch(/^FAILED \(atol 1e-9, rtol 1e-6\): \d+ values? above both tolerances; decided by \w+\[\d+\] in autodiff vs finite differences: (abs|rel) error \S+ above [ar]tol \S+, (abs|rel) error \S+ above [ar]tol \S+$/);
  }
}

describe('rnnc check catches a broken VJP, seeds 1-10', () => {
  it.each([
    ['tanh', 'elman'],
    ['tanh', 'lstm'],
    ['sigmoid', 'gru'],
    ['relu', 'irnn'],
  ] as const)('%s off by one percent, in %s', async (op, cell) => {
    breakVjp(op, scaled(1.01));
    await expectCaught(cell);
  }, 60_000);

  it.each(['lstm', 'gru', 'mgu'])('mul with the sign of its second operand flipped, in %s (truncate 2)', async (cell) => {
    breakVjp('mul', secondFlipped);
    await expectCaught(cell, '2');
  }, 60_000);

  it.each(['elman', 'irnn'])('a gradient off by only 1e-4 relative, in %s (matmul)', async (cell) => {
    breakVjp('matmul', scaled(1 + 1e-4));
    await expectCaught(cell);
  }, 60_000);

  it('and with the VJP restored, the same cell passes again', async () => {
    const r = await checkCell(traceCell(cells.elman!, { batch: 2 }), SEQ, parseTruncation(undefined, SEQ), { seed: 1 });
    expect(r.ok).toBe(true);
  }, 60_000);
});
