/**
 * The WebGPU target's kernels: one WGSL compute shader per kernel of the schedule, one invocation
 * per output element (or per output block, row or column), no workgroup memory. SwiftShader, the
 * CPU implementation the tests run on, makes barriers very expensive, and at an RNN's sizes (a
 * batch of rows times a few hundred columns) a kernel is bound by its dispatch, not its
 * arithmetic; docs/webgpu.md has the figures. A missing kind is a type error.
 */
import type { BinaryOp, TernaryOp, UnaryOp } from '../../ir/op.ts';
import type { Access, ElementwiseKernel, Expr, Kernel, KernelKind, View } from '../schedule/types.ts';
import { f32, ShaderBuilder, type GpuKernel, type Placement } from './shader.ts';

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

const unary: Record<UnaryOp, (a: string, s: ShaderBuilder) => string> = {
  neg: (a) => `-(${a})`,
  exp: (a) => `exp(${a})`,
  log: (a) => `log(${a})`,
  tanh: (a, s) => `${s.use('tanh_')}(${a})`,
  sigmoid: (a, s) => `${s.use('sigmoid_')}(${a})`,
  relu: (a) => `max(${a}, 0.0f)`,
  relu_deriv: (a) => `select(0.0f, 1.0f, ${a} > 0.0f)`,
  stop_gradient: (a) => a,
};

const binary: Record<BinaryOp, (a: string, b: string) => string> = {
  add: (a, b) => `(${a} + ${b})`,
  sub: (a, b) => `(${a} - ${b})`,
  mul: (a, b) => `(${a} * ${b})`,
  div: (a, b) => `(${a} / ${b})`,
  sqerr: (a, b) => `((${a} - ${b}) * (${a} - ${b}))`,
};

const ternary: Record<TernaryOp, (c: string, a: string, b: string) => string> = {
  // a where cond > 0, else b (ir/ops: where)
  where: (c, a, b) => `select(${b}, ${a}, ${c} > 0.0f)`,
};

/** Coordinates of flat index `i` in `shape`, as `let` lines naming c0, c1, …. */
function coordinates(shape: readonly number[]): string[] {
  return shape.map((d, k) => {
    const inner = prod(shape.slice(k + 1));
    const q = inner === 1 ? 'i' : `(i / ${inner})`;
    return `let c${k} = ${k === 0 ? q : `${q} % ${d}`};`;
  });
}

const strided = (strides: readonly number[]) => strides.map((s, k) => (s === 0 ? '' : s === 1 ? `c${k}` : `c${k} * ${s}`)).filter(Boolean).join(' + ') || '0';

/** An elementwise kernel's work for flat index `i` (an i32 in scope): coordinates, values, stores. */
export function elementwiseBody(s: ShaderBuilder, k: ElementwiseKernel): string {
  const load = (a: Access) => s.at(a.buf, a.off, strided(a.strides));
  const expr = (e: Expr): string => {
    switch (e.op) {
      case 'load':
        return load(e.access);
      case 'literal':
        return f32(e.value);
      case 'scalar':
        return `u.${e.name}`;
      case 'local':
        return `v${e.id}`;
      case 'onehot':
        return `select(0.0f, 1.0f, ${load(e.index)} == ${[String(e.cls.off), strided(e.cls.strides)].join(' + ')})`;
      default:
        if ('c' in e) return ternary[e.op](expr(e.c), expr(e.a), expr(e.b));
        return 'b' in e ? binary[e.op](expr(e.a), expr(e.b)) : unary[e.op](expr(e.a), s);
    }
  };
  const lines = [...coordinates(k.shape), ...k.locals.map((e, n) => `let v${n} = ${expr(e)};`)];
  for (const st of k.stores) lines.push(`${s.at(st.to.buf, st.to.off, strided(st.to.strides), true)} = ${expr(st.value)};`);
  return lines.join('\n');
}

export const elementwiseLabel = (k: ElementwiseKernel) => `elementwise [${k.shape.join(', ')}] (${k.fused.join(' ')})`;

const elementwise = (s: ShaderBuilder, k: ElementwiseKernel): GpuKernel => s.finish(elementwiseLabel(k), elementwiseBody(s, k), prod(k.shape));

/**
 * Row `row` (an i32 in scope) of a product whose rows are A's (no transposed A), column `q`: one
 * dot product over K, for a persistent loop (persistent.ts) where one workgroup owns a batch row.
 */
export function matmulRowBody(s: ShaderBuilder, k: Extract<Kernel, { kind: 'matmul' }>): string {
  const { n: N, k: K } = k;
  const bAt = k.transB ? `q * ${K} + kk` : `kk * ${N} + q`;
  return [
    'var acc = 0.0f;',
    `for (var kk = 0; kk < ${K}; kk++) { acc += ${s.at(k.a.buf, k.a.off, `row * ${K} + kk`)} * ${s.at(k.b.buf, k.b.off, bAt)}; }`,
    `${s.at(k.c.buf, k.c.off, `row * ${N} + q`, true)} = acc;`,
  ].join('\n');
}

/** Register block of a product: each invocation computes TILE × TILE outputs. */
const TILE = 4;

function matmul(s: ShaderBuilder, k: Extract<Kernel, { kind: 'matmul' }>): GpuKernel {
  const { m: M, n: N, k: K } = k;
  const rowsOf = Math.ceil(M / TILE), colsOf = Math.ceil(N / TILE);
  const A = s.ref(k.a.buf), B = s.ref(k.b.buf), C = s.ref(k.c.buf, true);
  const ao = s.offset(k.a.buf, k.a.off), bo = s.offset(k.b.buf, k.b.off), co = s.offset(k.c.buf, k.c.off);
  // edge rows and columns load a clamped (valid) element and are not stored
  const aAt = (r: number) => (k.transA ? `${A}[ao + kk * ${M} + r${r}]` : `${A}[ao + r${r} * ${K} + kk]`);
  const bAt = (c: number) => (k.transB ? `${B}[bo + c${c} * ${K} + kk]` : `${B}[bo + kk * ${N} + c${c}]`);
  const idx = [...Array(TILE).keys()];
  const lines = [
    `let ao = ${ao}; let bo = ${bo}; let co = ${co};`,
    `let i0 = (i / ${colsOf}) * ${TILE}; let j0 = (i % ${colsOf}) * ${TILE};`,
    ...idx.map((r) => `let r${r} = min(i0 + ${r}, ${M - 1});`),
    ...idx.map((c) => `let c${c} = min(j0 + ${c}, ${N - 1});`),
    `var acc: array<vec4f, ${TILE}>;`,
    `for (var kk = 0; kk < ${K}; kk++) {`,
    `  let b = vec4f(${idx.map(bAt).join(', ')});`,
    ...idx.map((r) => `  acc[${r}] += ${aAt(r)} * b;`),
    '}',
    ...idx.flatMap((r) => idx.map((c) => `if (i0 + ${r} < ${M} && j0 + ${c} < ${N}) { ${C}[co + (i0 + ${r}) * ${N} + j0 + ${c}] = acc[${r}][${c}]; }`)),
  ];
  return s.finish(`matmul M=${M} N=${N} K=${K}${k.transA ? ' Aᵀ' : ''}${k.transB ? ' Bᵀ' : ''}`, lines.join('\n'), rowsOf * colsOf);
}

const at = (s: ShaderBuilder, v: View, extra: string, write = false) => s.at(v.buf, v.off, extra, write);

/** Sum over axes, one invocation per output element, the reduced elements in increasing order. */
function sum(s: ShaderBuilder, k: Extract<Kernel, { kind: 'sum' }>): GpuKernel {
  const { shape, axes } = k;
  const st = shape.map((_, d) => prod(shape.slice(d + 1)));
  const kept = shape.map((_, d) => d).filter((d) => !axes.includes(d));
  const keptShape = kept.map((d) => shape[d]!), reducedShape = axes.map((d) => shape[d]!);
  const keptAt = kept.map((d, n) => `((i / ${prod(keptShape.slice(n + 1))}) % ${shape[d]}) * ${st[d]}`).join(' + ') || '0';
  const redAt = axes.map((d, n) => `((r / ${prod(reducedShape.slice(n + 1))}) % ${shape[d]}) * ${st[d]}`).join(' + ');
  const lines = [
    `let base = ${keptAt};`,
    'var acc = 0.0f;',
    `for (var r = 0; r < ${prod(reducedShape)}; r++) { acc += ${at(s, k.x, `base + ${redAt}`)}; }`,
    `${at(s, k.out, 'i', true)} = acc;`,
  ];
  return s.finish(`sum [${shape.join(', ')}] over [${axes.join(', ')}]`, lines.join('\n'), prod(keptShape));
}

/** Row-wise log-softmax (or cross-entropy against class ids), one invocation per row. */
function softmax(s: ShaderBuilder, rows: number, cols: number, x: View, out: View, target: View | null): GpuKernel {
  const X = (j: string) => at(s, x, `i * ${cols} + ${j}`);
  const lines = [
    'var mx = -3.4028234e38f;',
    `for (var j = 0; j < ${cols}; j++) { mx = max(mx, ${X('j')}); }`,
    'var z = 0.0f;',
    `for (var j = 0; j < ${cols}; j++) { z += exp(${X('j')} - mx); }`,
    'let lse = mx + log(z);',
    target
      ? `${at(s, out, 'i', true)} = lse - ${X(at(s, target, 'i'))};`
      : `for (var j = 0; j < ${cols}; j++) { ${at(s, out, `i * ${cols} + j`, true)} = ${X('j')} - lse; }`,
  ];
  return s.finish(target ? `softmax_ce [${rows}, ${cols}]` : `log_softmax [${rows}, ${cols}]`, lines.join('\n'), rows);
}

type Emitters = { readonly [K in KernelKind]: (s: ShaderBuilder, k: Extract<Kernel, { kind: K }>) => GpuKernel };

const emitters: Emitters = {
  elementwise,
  matmul,
  sum,
  transpose: (s, k) =>
    s.finish(`transpose [${k.rows}, ${k.cols}]`, `${at(s, k.out, `(i % ${k.cols}) * ${k.rows} + i / ${k.cols}`, true)} = ${at(s, k.x, 'i')};`, k.rows * k.cols),
  log_softmax: (s, k) => softmax(s, k.rows, k.cols, k.x, k.out, null),
  softmax_ce: (s, k) => softmax(s, k.rows, k.cols, k.x, k.out, k.target),
  gather: (s, k) => s.finish(`gather [${k.rows}, ${k.cols}]`, `${at(s, k.out, 'i', true)} = ${at(s, k.table, `${at(s, k.idx, `i / ${k.cols}`)} * ${k.cols} + i % ${k.cols}`)};`, k.rows * k.cols),
  // one invocation per column, over the rows in order: deterministic without float atomics, and
  // the same order of additions as the TS target
  scatter_add: (s, k) => {
    const lines = [
      `for (var v = 0; v < ${k.size / k.cols}; v++) { ${at(s, k.out, `v * ${k.cols} + i`, true)} = 0.0f; }`,
      `for (var r = 0; r < ${k.rows}; r++) {`,
      `  let o = ${at(s, k.idx, 'r')} * ${k.cols} + i;`,
      `  ${at(s, k.out, 'o', true)} += ${at(s, k.values, `r * ${k.cols} + i`)};`,
      '}',
    ];
    return s.finish(`scatter_add [${k.rows}, ${k.cols}]`, lines.join('\n'), k.cols);
  },
  pad: (s, k) => {
    const lines = [
      `let o = i / ${k.outBlock}; let p = i % ${k.outBlock} - ${k.offset};`,
      `var v = 0.0f;`,
      `if (p >= 0 && p < ${k.block}) { v = ${at(s, k.x, `o * ${k.block} + p`)}; }`,
      `${at(s, k.out, 'i', true)} = v;`,
    ];
    return s.finish(`pad [${k.outer}, ${k.block} -> ${k.outBlock}]`, lines.join('\n'), k.size);
  },
};

/** The shader of one schedule kernel, its buffers placed by `placement`. */
export function gpuKernel(k: Kernel, placement: (buf: string) => Placement): GpuKernel {
  const s = new ShaderBuilder(placement);
  return (emitters[k.kind] as (s: ShaderBuilder, k: Kernel) => GpuKernel)(s, k);
}
