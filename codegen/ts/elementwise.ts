/**
 * A fused elementwise kernel as TypeScript: one loop nest over the kernel's (already simplified)
 * index space, the values as `const`s in order, then the stores. A rank-2 nest counts the flat
 * index `i` beside the row `r` and column `j`, so a contiguous access is `buf[off + i]`, a bias
 * broadcast over rows `buf[off + j]`.
 */
import type { CodeBlockWriter } from 'ts-morph';
import { formatAffine } from '../schedule/affine.ts';
import type { ElementwiseKernel, Expr } from '../schedule/types.ts';
import { binaryExpr, literal, ternaryExpr, unaryExpr } from './ops.ts';

/** Loop variables by rank, and the flat counter. */
const names = (rank: number): string[] => (rank === 1 ? ['i'] : rank === 2 ? ['r', 'j'] : Array.from({ length: rank }, (_, k) => `i${k}`));

export function renderElementwise(w: CodeBlockWriter, k: ElementwiseKernel): void {
  const rank = k.shape.length;
  const vars = names(rank);
  const contiguous = k.shape.map((_, d) => k.shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const index = (off: { c: number; terms: readonly (readonly [string, number])[] }, strides: readonly number[]): string => {
    const terms: string[] = [];
    const flat = rank > 1 && strides.every((s, d) => s === contiguous[d]);
    if (flat) terms.push('i');
    else strides.forEach((s, d) => s !== 0 && terms.push(s === 1 ? vars[d]! : `${vars[d]} * ${s}`));
    const base = formatAffine(off);
    return [...(base === '0' && terms.length ? [] : [base]), ...terms].join(' + ');
  };
  const expr = (e: Expr): string => {
    switch (e.op) {
      case 'load':
        return `${e.access.buf}[${index(e.access.off, e.access.strides)}]`;
      case 'literal':
        return literal(e.value);
      case 'scalar':
        return e.name;
      case 'local':
        return `v${e.id}`;
      case 'onehot':
        return `(${e.index.buf}[${index(e.index.off, e.index.strides)}] === ${index({ c: e.cls.off, terms: [] }, e.cls.strides)} ? 1 : 0)`;
      default:
        if ('c' in e) return ternaryExpr[e.op](expr(e.c), expr(e.a), expr(e.b));
        return 'b' in e ? binaryExpr[e.op](expr(e.a), expr(e.b)) : unaryExpr[e.op](expr(e.a));
    }
  };
  const body = () => {
    k.locals.forEach((e, i) => w.writeLine(`const v${i} = ${expr(e)};`));
    for (const s of k.stores) w.writeLine(`${s.to.buf}[${index(s.to.off, s.to.strides)}] = ${expr(s.value)};`);
  };
  const nest = (d: number): void => {
    if (d === rank) return body();
    const bound = k.shape[d]!;
    // the innermost loop of a nest of two or more also advances the flat index
    const header = rank > 1 && d === 0 ? `for (let ${vars[0]} = 0, i = 0; ${vars[0]} < ${bound}; ${vars[0]}++)` : rank > 1 && d === rank - 1 ? `for (let ${vars[d]} = 0; ${vars[d]} < ${bound}; ${vars[d]}++, i++)` : `for (let ${vars[d]} = 0; ${vars[d]} < ${bound}; ${vars[d]}++)`;
    w.write(header).block(() => nest(d + 1));
  };
  if (rank === 0) w.block(body);
  else nest(0);
}
