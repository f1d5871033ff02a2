/** Loop kernels for the ops that are not fused elementwise expressions. Sizes are literals. */
import type { CodeBlockWriter } from 'ts-morph';
import type { Node } from '../../ir/node.ts';
import { at, type View } from './lower.ts';
import { plus, times } from './index-expr.ts';

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

function zero(w: CodeBlockWriter, v: View, size: number): void {
  w.writeLine(`${v.buf}.fill(0, ${v.off}, ${plus(v.off, size)});`);
}

export function emitKernel(w: CodeBlockWriter, n: Node, srcs: readonly View[], out: View): void {
  switch (n.op) {
    case 'matmul':
      return matmul(w, n, srcs[0]!, srcs[1]!, out);
    case 'transpose':
      return transpose(w, n, srcs[0]!, out);
    case 'sum':
      return sum(w, n, srcs[0]!, out);
    case 'softmax_ce':
    case 'log_softmax':
      return softmax(w, n, srcs, out);
    case 'gather': {
      const [table, idx] = srcs as [View, View];
      const [rows, e] = n.shape as [number, number];
      w.write(`for (let r = 0; r < ${rows}; r++)`).block(() => {
        w.writeLine(`const base = ${at(idx, 'r')} * ${e};`);
        w.write(`for (let j = 0; j < ${e}; j++)`).block(() => w.writeLine(`${at(out, `r * ${e} + j`)} = ${at(table, 'base + j')};`));
      });
      return;
    }
    case 'scatter_add': {
      const [idx, values] = srcs as [View, View];
      const e = n.shape[1]!, rows = n.srcs[0]!.shape[0]!;
      zero(w, out, n.size);
      w.write(`for (let r = 0; r < ${rows}; r++)`).block(() => {
        w.writeLine(`const base = ${at(idx, 'r')} * ${e};`);
        w.write(`for (let j = 0; j < ${e}; j++)`).block(() => w.writeLine(`${at(out, 'base + j')} += ${at(values, `r * ${e} + j`)};`));
      });
      return;
    }
    case 'concat': {
      const axis = n.attr<number>('axis');
      const inner = prod(n.shape.slice(axis + 1)), outer = prod(n.shape.slice(0, axis));
      let base = 0;
      n.srcs.forEach((s, k) => {
        const block = s.shape[axis]! * inner;
        copyBlocks(w, srcs[k]!, out, outer, block, block, n.shape[axis]! * inner, base * inner);
        base += s.shape[axis]!;
      });
      return;
    }
    case 'pad': {
      const axis = n.attr<number>('axis'), before = n.attr<number>('before');
      const inner = prod(n.shape.slice(axis + 1)), outer = prod(n.shape.slice(0, axis));
      const block = n.srcs[0]!.shape[axis]! * inner;
      zero(w, out, n.size);
      copyBlocks(w, srcs[0]!, out, outer, block, block, n.shape[axis]! * inner, before * inner);
      return;
    }
    default:
      throw new Error(`no TypeScript kernel for ${n.op}`);
  }
}

/** out[o * outStride + offset + j] = src[o * srcStride + j] for j < block. */
function copyBlocks(w: CodeBlockWriter, src: View, out: View, outer: number, block: number, srcStride: number, outStride: number, offset: number): void {
  w.write(`for (let o = 0; o < ${outer}; o++)`).block(() => {
    w.write(`for (let j = 0; j < ${block}; j++)`).block(() => w.writeLine(`${at(out, `o * ${outStride} + ${offset} + j`)} = ${at(src, `o * ${srcStride} + j`)};`));
  });
}

/**
 * C = op(A) op(B). Each transpose case gets the loop order that walks memory contiguously in the
 * inner loop (dot products of rows for A·Bᵀ, row updates for A·B and Aᵀ·B), unrolled by 4.
 */
function matmul(w: CodeBlockWriter, n: Node, a: View, b: View, c: View): void {
  const ta = n.attr<boolean>('transA'), tb = n.attr<boolean>('transB');
  const [M, N] = n.shape as [number, number];
  const K = ta ? n.srcs[0]!.shape[0]! : n.srcs[0]!.shape[1]!;
  // local names for the arrays: closure variables in a hot loop cost a context load each time
  const A = 'A', B = 'B', C = 'C';
  w.block(() => {
    w.writeLine(`const A = ${a.buf}, B = ${b.buf}, C = ${c.buf};`);
    w.writeLine(`const ao = ${a.off}, bo = ${b.off}, co = ${c.off};`);
    if (!ta && tb) matmulRowDots(w, A, B, C, M, N, K);
    else if (!tb) {
      // C += A(i, k) B[k, :], four k at a time: one load and store of C per four products.
      // A·B walks i outside (a row of C stays hot while B, small, is reused); AᵀB, where K is the
      // long axis (the steps × batch of a weight gradient), walks k outside so that four rows of B
      // stay hot while C, small, is swept.
      const aik = (k: string) => (ta ? `${A}[ao + ${k} * ${M} + i]` : `${A}[ao + i * ${K} + ${k}]`);
      const K4 = K - (K % 4);
      const update = () => {
        w.writeLine(`const a0 = ${aik('k')}, a1 = ${aik('(k + 1)')}, a2 = ${aik('(k + 2)')}, a3 = ${aik('(k + 3)')};`);
        w.writeLine('if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0) continue;');
        w.writeLine(`const ci = co + i * ${N}, b0 = bo + k * ${N}, b1 = b0 + ${N}, b2 = b1 + ${N}, b3 = b2 + ${N};`);
        w.write(`for (let j = 0; j < ${N}; j++)`).block(() => {
          w.writeLine(`${C}[ci + j] += a0 * ${B}[b0 + j] + a1 * ${B}[b1 + j] + a2 * ${B}[b2 + j] + a3 * ${B}[b3 + j];`);
        });
      };
      const rest = () => {
        w.writeLine(`const a0 = ${aik('k')}, ci = co + i * ${N}, b0 = bo + k * ${N};`);
        w.write(`for (let j = 0; j < ${N}; j++)`).block(() => w.writeLine(`${C}[ci + j] += a0 * ${B}[b0 + j];`));
      };
      w.writeLine(`${C}.fill(0, co, co + ${M * N});`);
      const loops = (outer: 'i' | 'k') => {
        const iLoop = (body: () => void) => w.write(`for (let i = 0; i < ${M}; i++)`).block(body);
        if (K4 > 0) {
          const kLoop = (body: () => void) => w.write(`for (let k = 0; k < ${K4}; k += 4)`).block(body);
          if (outer === 'i') iLoop(() => kLoop(update));
          else kLoop(() => iLoop(update));
        }
        if (K4 < K) {
          const kLoop = (body: () => void) => w.write(`for (let k = ${K4}; k < ${K}; k++)`).block(body);
          if (outer === 'i') iLoop(() => kLoop(rest));
          else kLoop(() => iLoop(rest));
        }
      };
      loops(ta ? 'k' : 'i');
    } else {
      // Aᵀ Bᵀ: rare; plain dot products
      w.write(`for (let i = 0; i < ${M}; i++)`).block(() => {
        w.write(`for (let j = 0; j < ${N}; j++)`).block(() => {
          w.writeLine('let s = 0;');
          w.write(`for (let k = 0; k < ${K}; k++)`).block(() => w.writeLine(`s += ${A}[ao + k * ${M} + i] * ${B}[bo + j * ${K} + k];`));
          w.writeLine(`${C}[co + i * ${N} + j] = s;`);
        });
      });
    }
  });
}

/**
 * C = A Bᵀ: C[i, j] is the dot product of rows A[i] and B[j], both contiguous. A 2×4 register
 * block computes eight dot products from two rows of A and four of B: six loads per eight
 * multiply-adds (plain dot products need two per one), in eight accumulators and six operands,
 * which fit the sixteen SIMD registers of x86-64 (a 4×4 block would spill). At the sizes of an
 * LSTM step this runs at about 1.5× the 2×2 block (bench/kernels.ts).
 */
function matmulRowDots(w: CodeBlockWriter, A: string, B: string, C: string, M: number, N: number, K: number): void {
  const M2 = M - (M % 2), N4 = N - (N % 4);
  const dot = (i: string, j: string) => {
    w.writeLine(`const ai = ao + ${i} * ${K}, bj = bo + ${j} * ${K};`);
    w.writeLine('let s = 0;');
    w.writeLine(`for (let k = 0; k < ${K}; k++) s += ${A}[ai + k] * ${B}[bj + k];`);
    w.writeLine(`${C}[co + ${i} * ${N} + ${j}] = s;`);
  };
  if (M2 > 0 && N4 > 0) {
    w.write(`for (let i = 0; i < ${M2}; i += 2)`).block(() => {
      w.writeLine(`const a0 = ao + i * ${K}, a1 = a0 + ${K};`);
      w.write(`for (let j = 0; j < ${N4}; j += 4)`).block(() => {
        w.writeLine(`const b0 = bo + j * ${K}, b1 = b0 + ${K}, b2 = b1 + ${K}, b3 = b2 + ${K};`);
        w.writeLine('let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;');
        w.write(`for (let k = 0; k < ${K}; k++)`).block(() => {
          w.writeLine(`const x0 = ${A}[a0 + k], x1 = ${A}[a1 + k], y0 = ${B}[b0 + k], y1 = ${B}[b1 + k], y2 = ${B}[b2 + k], y3 = ${B}[b3 + k];`);
          w.writeLine('s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3;');
          w.writeLine('s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3;');
        });
        w.writeLine(`const c0 = co + i * ${N} + j, c1 = c0 + ${N};`);
        w.writeLine(`${C}[c0] = s00; ${C}[c0 + 1] = s01; ${C}[c0 + 2] = s02; ${C}[c0 + 3] = s03;`);
        w.writeLine(`${C}[c1] = s10; ${C}[c1 + 1] = s11; ${C}[c1 + 2] = s12; ${C}[c1 + 3] = s13;`);
      });
    });
  }
  // the last N mod 4 columns, and the odd last row
  if (N4 < N && M2 > 0) w.write(`for (let i = 0; i < ${M2}; i++)`).block(() => w.write(`for (let j = ${N4}; j < ${N}; j++)`).block(() => dot('i', 'j')));
  if (M2 < M) w.write(`for (let j = 0; j < ${N}; j++)`).block(() => dot(String(M2), 'j'));
}

/**
 * out = xᵀ for x [R, C], in 16×16 tiles: a tile's rows and columns both stay in cache, where a
 * plain double loop strides through one of them by a whole row per element.
 */
function transpose(w: CodeBlockWriter, n: Node, x: View, out: View): void {
  const [R, Cc] = n.srcs[0]!.shape as [number, number];
  const T = 16;
  w.block(() => {
    w.writeLine(`const X = ${x.buf}, Y = ${out.buf}, xo = ${x.off}, yo = ${out.off};`);
    w.write(`for (let r0 = 0; r0 < ${R}; r0 += ${T})`).block(() => {
      w.writeLine(`const r1 = Math.min(r0 + ${T}, ${R});`);
      w.write(`for (let c0 = 0; c0 < ${Cc}; c0 += ${T})`).block(() => {
        w.writeLine(`const c1 = Math.min(c0 + ${T}, ${Cc});`);
        w.write('for (let r = r0; r < r1; r++)').block(() => {
          w.write('for (let c = c0; c < c1; c++)').block(() => w.writeLine(`Y[yo + c * ${R} + r] = X[xo + r * ${Cc} + c];`));
        });
      });
    });
  });
}

/** Sum over axes: a leading block of axes (bias gradients), a trailing block (row sums), or any. */
function sum(w: CodeBlockWriter, n: Node, x: View, out: View): void {
  const shape = n.srcs[0]!.shape, axes = n.attr<number[]>('axes');
  const leading = axes.every((a, i) => a === i), trailing = axes.every((a, i) => a === shape.length - axes.length + i);
  const reduced = prod(axes.map((a) => shape[a]!)), kept = n.size;
  if (trailing) {
    w.write(`for (let r = 0; r < ${kept}; r++)`).block(() => {
      w.writeLine('let s = 0;');
      w.write(`for (let j = 0; j < ${reduced}; j++)`).block(() => w.writeLine(`s += ${at(x, `r * ${reduced} + j`)};`));
      w.writeLine(`${at(out, 'r')} = s;`);
    });
  } else if (leading) {
    zero(w, out, kept);
    w.write(`for (let r = 0; r < ${reduced}; r++)`).block(() => {
      w.write(`for (let j = 0; j < ${kept}; j++)`).block(() => w.writeLine(`${at(out, 'j')} += ${at(x, `r * ${kept} + j`)};`));
    });
  } else {
    // general: decompose the flat index of x and drop the reduced coordinates
    const st = shape.map((_, i) => prod(shape.slice(i + 1)));
    const keptAxes = shape.map((_, i) => i).filter((i) => !axes.includes(i));
    const outSt = keptAxes.map((_, k) => prod(keptAxes.slice(k + 1).map((i) => shape[i]!)));
    const idx = keptAxes.map((ax, k) => times(`((f / ${st[ax]}) | 0) % ${shape[ax]}`, outSt[k]!)).join(' + ') || '0';
    zero(w, out, kept);
    w.write(`for (let f = 0; f < ${prod(shape)}; f++)`).block(() => w.writeLine(`${at(out, idx)} += ${at(x, 'f')};`));
  }
}

/** Row-wise log-softmax of [N, C], or cross-entropy against i32 targets. */
function softmax(w: CodeBlockWriter, n: Node, srcs: readonly View[], out: View): void {
  const [N, C] = n.srcs[0]!.shape as [number, number];
  const x = srcs[0]!;
  w.write(`for (let r = 0; r < ${N}; r++)`).block(() => {
    w.writeLine(`const xr = ${plus(x.off, `r * ${C}`)};`);
    w.writeLine(`let max = -Infinity;`);
    w.write(`for (let j = 0; j < ${C}; j++)`).block(() => w.writeLine(`if (${x.buf}[xr + j] > max) max = ${x.buf}[xr + j];`));
    w.writeLine('let s = 0;');
    w.write(`for (let j = 0; j < ${C}; j++)`).block(() => w.writeLine(`s += Math.exp(${x.buf}[xr + j] - max);`));
    w.writeLine('const lse = max + Math.log(s);');
    if (n.op === 'softmax_ce') w.writeLine(`${at(out, 'r')} = lse - ${x.buf}[xr + ${at(srcs[1]!, 'r')}];`);
    else w.write(`for (let j = 0; j < ${C}; j++)`).block(() => w.writeLine(`${at(out, `r * ${C} + j`)} = ${x.buf}[xr + j] - lse;`));
  });
}
