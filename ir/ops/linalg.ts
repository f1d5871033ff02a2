import * as b from '../build.ts';
import { fmtShape, ShapeError } from '../error.ts';
import { tensor } from '../tensor.ts';
import { single, type OpDef } from './types.ts';

/** C = op(A) op(B) for 2-D operands, op = optional transpose. */
export const matmulDef: OpDef = {
  arity: 2,
  fusion: 'kernel',
  kinked: false,
  infer([a, c], attrs) {
    if (a!.shape.length !== 2 || c!.shape.length !== 2) throw new ShapeError(`operands must be matrices, got ${fmtShape(a!.shape)} and ${fmtShape(c!.shape)}`);
    if (a!.dtype !== c!.dtype || a!.dtype === 'i32') throw new ShapeError(`dtypes ${a!.dtype} and ${c!.dtype} must be the same float type`);
    const [m, k1] = attrs.transA ? [a!.shape[1]!, a!.shape[0]!] : [a!.shape[0]!, a!.shape[1]!];
    const [k2, n] = attrs.transB ? [c!.shape[1]!, c!.shape[0]!] : [c!.shape[0]!, c!.shape[1]!];
    if (k1 !== k2) {
      throw new ShapeError(`inner dimensions differ: ${fmtShape(a!.shape)}${attrs.transA ? 'ᵀ' : ''} · ${fmtShape(c!.shape)}${attrs.transB ? 'ᵀ' : ''}`);
    }
    return { dtype: a!.dtype, shape: [m, n] };
  },
  evaluate([a, c], node) {
    const ta = node.attr<boolean>('transA'), tb = node.attr<boolean>('transB');
    const [m, n] = node.shape as [number, number];
    const k = ta ? a!.shape[0]! : a!.shape[1]!;
    const out = tensor(node.dtype, node.shape);
    const A = (i: number, p: number) => (ta ? a!.data[p * m + i]! : a!.data[i * k + p]!);
    const B = (p: number, j: number) => (tb ? c!.data[j * k + p]! : c!.data[p * n + j]!);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += A(i, p) * B(p, j);
        out.data[i * n + j] = s;
      }
    return out;
  },
  vjp(node, cot) {
    const g = single(cot);
    const [a, c] = node.srcs as [typeof g, typeof g];
    const ta = node.attr<boolean>('transA'), tb = node.attr<boolean>('transB');
    // C = A B: dA = G Bᵀ, dB = Aᵀ G; the transposed forms follow by transposing both sides.
    if (!ta && !tb) return [b.matmul(g, c, false, true), b.matmul(a, g, true, false)];
    if (ta && !tb) return [b.matmul(c, g, false, true), b.matmul(a, g, false, false)];
    if (!ta && tb) return [b.matmul(g, c, false, false), b.matmul(g, a, true, false)];
    return [b.matmul(c, g, true, true), b.matmul(g, a, true, true)];
  },
};
