/**
 * The TypeScript target's kernels: one emitter per kind of schedule kernel, plain loops over typed
 * arrays with literal bounds. A missing kind is a type error (the table is a Record over KernelKind).
 */
import type { CodeBlockWriter } from 'ts-morph';
import { formatAffine } from '../schedule/affine.ts';
import type { Kernel, KernelKind, View as ScheduleView } from '../schedule/types.ts';
import { renderElementwise } from './elementwise.ts';

/** A view as text: the buffer's name and the offset expression. */
interface View {
  readonly buf: string;
  readonly off: string;
}

const v = (x: ScheduleView): View => ({ buf: x.buf, off: formatAffine(x.off) });

/** a + b for expressions, folding literal zeros. */
export function plus(a: string, b: string | number): string {
  const bs = String(b);
  if (bs === '0') return a;
  if (a === '0') return bs;
  return `${a} + ${bs}`;
}

export function times(a: string, n: number): string {
  if (n === 1) return a;
  if (a === '0') return '0';
  return `${/^[\w.]+$/.test(a) ? a : `(${a})`} * ${n}`;
}

const at = (x: View, i: string | number) => `${x.buf}[${plus(x.off, String(i))}]`;

function zero(w: CodeBlockWriter, x: View, size: number): void {
  w.writeLine(`${x.buf}.fill(0, ${x.off}, ${plus(x.off, size)});`);
}

type Emitters = { readonly [K in KernelKind]: (w: CodeBlockWriter, k: Extract<Kernel, { kind: K }>) => void };

export const kernels: Emitters = {
  elementwise: renderElementwise,
  matmul: (w, k) => matmul(w, k.transA, k.transB, k.m, k.n, k.k, v(k.a), v(k.b), v(k.c)),
  transpose: (w, k) => transpose(w, k.rows, k.cols, v(k.x), v(k.out)),
  sum: (w, k) => sum(w, k.shape, k.axes, v(k.x), v(k.out)),
  log_softmax: (w, k) => softmax(w, k.rows, k.cols, v(k.x), v(k.out), null),
  softmax_ce: (w, k) => softmax(w, k.rows, k.cols, v(k.x), v(k.out), v(k.target)),
  gather: (w, k) => {
    const [table, idx, out] = [v(k.table), v(k.idx), v(k.out)];
    w.write(`for (let r = 0; r < ${k.rows}; r++)`).block(() => {
      w.writeLine(`const base = ${at(idx, 'r')} * ${k.cols};`);
      w.write(`for (let j = 0; j < ${k.cols}; j++)`).block(() => w.writeLine(`${at(out, `r * ${k.cols} + j`)} = ${at(table, 'base + j')};`));
    });
  },
  scatter_add: (w, k) => {
    const [idx, values, out] = [v(k.idx), v(k.values), v(k.out)];
    zero(w, out, k.size);
    w.write(`for (let r = 0; r < ${k.rows}; r++)`).block(() => {
      w.writeLine(`const base = ${at(idx, 'r')} * ${k.cols};`);
      w.write(`for (let j = 0; j < ${k.cols}; j++)`).block(() => w.writeLine(`${at(out, 'base + j')} += ${at(values, `r * ${k.cols} + j`)};`));
    });
  },
  pad: (w, k) => {
    const out = v(k.out);
    zero(w, out, k.size);
    copyBlocks(w, v(k.x), out, k.outer, k.block, k.block, k.outBlock, k.offset);
  },
};

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

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
function matmul(w: CodeBlockWriter, ta: boolean, tb: boolean, M: number, N: number, K: number, a: View, b: View, c: View): void {
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
function transpose(w: CodeBlockWriter, R: number, Cc: number, x: View, out: View): void {
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
function sum(w: CodeBlockWriter, shape: readonly number[], axes: readonly number[], x: View, out: View): void {
  const leading = axes.every((a, i) => a === i), trailing = axes.every((a, i) => a === shape.length - axes.length + i);
  const reduced = prod(axes.map((a) => shape[a]!)), kept = prod(shape) / reduced;
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
function softmax(w: CodeBlockWriter, N: number, C: number, x: View, out: View, target: View | null): void {
  w.write(`for (let r = 0; r < ${N}; r++)`).block(() => {
    w.writeLine(`const xr = ${plus(x.off, `r * ${C}`)};`);
    w.writeLine(`let max = -Infinity;`);
    w.write(`for (let j = 0; j < ${C}; j++)`).block(() => w.writeLine(`if (${x.buf}[xr + j] > max) max = ${x.buf}[xr + j];`));
    w.writeLine('let s = 0;');
    w.write(`for (let j = 0; j < ${C}; j++)`).block(() => w.writeLine(`s += Math.exp(${x.buf}[xr + j] - max);`));
    w.writeLine('const lse = max + Math.log(s);');
    if (target) w.writeLine(`${at(out, 'r')} = lse - ${x.buf}[xr + ${at(target, 'r')}];`);
    else w.write(`for (let j = 0; j < ${C}; j++)`).block(() => w.writeLine(`${at(out, `r * ${C} + j`)} = ${x.buf}[xr + j] - lse;`));
  });
}
