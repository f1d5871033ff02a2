/**
 * `npm run bench:kernels` (`npx tsx bench/kernels.ts`): matrix products, timed in one process.
 * First the table of the products the LSTM trainers run (B=32, T=64, X=64, Y=64, H=128 and 512),
 * read from their schedules: each as the TS target's kernel, the wasm target's kernel
 * (codegen/wasm/matmul.ts, plain SIMD mul+add as Node 20 has no relaxed SIMD) and TensorFlow.js's
 * wasm backend (XNNPACK) on the same shape in its fast orientation (A·B, B transposed beforehand,
 * untimed), with wasm's ratio to each. Then the loop shapes the TypeScript target could emit, at
 * the sizes of the H=128 step, with the ratio to the loop it used before the orient-products pass
 * (the first row of each group). BENCH_SECONDS sets the time per row (default 1.5).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { fileURLToPath } from 'node:url';
import { CodeBlockWriter } from 'ts-morph';
import lstm from '../examples/cells/lstm.ts';
import { constant } from '../codegen/schedule/affine.ts';
import { buildSchedule } from '../codegen/schedule/build.ts';
import type { Item, MatmulKernel } from '../codegen/schedule/types.ts';
import { kernels } from '../codegen/ts/kernels.ts';
import { encodeModule } from '../codegen/wasm/encode.ts';
import { matmulFunction, matmulName, tileOf } from '../codegen/wasm/matmul.ts';
import { traceCell } from '../src/dsl/trace.ts';
import { planTraining } from '../src/program.ts';

type F = Float32Array;
const seconds = Number(process.env.BENCH_SECONDS ?? 1.5);

/** C = A Bᵀ, A [M, K], B [N, K]: 2×2 register block (rows of A × rows of B). */
function dots22(A: F, B: F, C: F, M: number, N: number, K: number): void {
  for (let i = 0; i < M; i += 2) {
    const a0 = i * K, a1 = a0 + K;
    for (let j = 0; j < N; j += 2) {
      const b0 = j * K, b1 = b0 + K;
      let s00 = 0, s01 = 0, s10 = 0, s11 = 0;
      for (let k = 0; k < K; k++) {
        const x0 = A[a0 + k]!, x1 = A[a1 + k]!, y0 = B[b0 + k]!, y1 = B[b1 + k]!;
        s00 += x0 * y0; s01 += x0 * y1; s10 += x1 * y0; s11 += x1 * y1;
      }
      const c0 = i * N + j;
      C[c0] = s00; C[c0 + 1] = s01; C[c0 + N] = s10; C[c0 + N + 1] = s11;
    }
  }
}

/** C = A Bᵀ: 2×4 register block, what the target emits now. */
function dots24(A: F, B: F, C: F, M: number, N: number, K: number): void {
  for (let i = 0; i < M; i += 2) {
    const a0 = i * K, a1 = a0 + K;
    for (let j = 0; j < N; j += 4) {
      const b0 = j * K, b1 = b0 + K, b2 = b1 + K, b3 = b2 + K;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      for (let k = 0; k < K; k++) {
        const x0 = A[a0 + k]!, x1 = A[a1 + k]!, y0 = B[b0 + k]!, y1 = B[b1 + k]!, y2 = B[b2 + k]!, y3 = B[b3 + k]!;
        s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3;
        s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3;
      }
      const c0 = i * N + j, c1 = c0 + N;
      C[c0] = s00; C[c0 + 1] = s01; C[c0 + 2] = s02; C[c0 + 3] = s03;
      C[c1] = s10; C[c1 + 1] = s11; C[c1 + 2] = s12; C[c1 + 3] = s13;
    }
  }
}

/** C = A B, A [M, K], B [K, N]: row updates, four k at a time, i outside (the old A·B loop). */
function axpyAB(A: F, B: F, C: F, M: number, N: number, K: number): void {
  C.fill(0, 0, M * N);
  for (let i = 0; i < M; i++) {
    for (let k = 0; k < K; k += 4) {
      const a0 = A[i * K + k]!, a1 = A[i * K + k + 1]!, a2 = A[i * K + k + 2]!, a3 = A[i * K + k + 3]!;
      const ci = i * N, b0 = k * N, b1 = b0 + N, b2 = b1 + N, b3 = b2 + N;
      for (let j = 0; j < N; j++) C[ci + j]! += a0 * B[b0 + j]! + a1 * B[b1 + j]! + a2 * B[b2 + j]! + a3 * B[b3 + j]!;
    }
  }
}

/** C = Aᵀ B, A [K, M], B [K, N]: row updates, k outside (the old weight-gradient loop). */
function axpyAtB(A: F, B: F, C: F, M: number, N: number, K: number): void {
  C.fill(0, 0, M * N);
  for (let k = 0; k < K; k += 4) {
    for (let i = 0; i < M; i++) {
      const a0 = A[k * M + i]!, a1 = A[(k + 1) * M + i]!, a2 = A[(k + 2) * M + i]!, a3 = A[(k + 3) * M + i]!;
      const ci = i * N, b0 = k * N, b1 = b0 + N, b2 = b1 + N, b3 = b2 + N;
      for (let j = 0; j < N; j++) C[ci + j]! += a0 * B[b0 + j]! + a1 * B[b1 + j]! + a2 * B[b2 + j]! + a3 * B[b3 + j]!;
    }
  }
}

/** Y = Xᵀ, X [R, C], in 16×16 tiles (the target's transpose kernel). */
function transpose(X: F, Y: F, R: number, Cc: number): void {
  for (let r0 = 0; r0 < R; r0 += 16) {
    const r1 = Math.min(r0 + 16, R);
    for (let c0 = 0; c0 < Cc; c0 += 16) {
      const c1 = Math.min(c0 + 16, Cc);
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) Y[c * R + r] = X[r * Cc + c]!;
    }
  }
}

let seed = 7;
const rand = (n: number) => Float32Array.from({ length: n }, () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32) - 0.5);

function gflops(macs: number, f: () => void): number {
  for (let i = 0; i < 3; i++) f();
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) (f(), n++);
  return (2 * macs * n) / ((performance.now() - start) / 1000) / 1e9;
}

/** The A·Bᵀ products of a trainer's schedule, with how many times a training step runs each. */
function productsOf(H: number): { k: MatmulKernel; calls: number }[] {
  const program = planTraining(traceCell(lstm, { sizes: { X: 64, H, Y: 64 }, batch: 32 }), 64, { k1: 64, k2: 64 });
  const found = new Map<string, { k: MatmulKernel; calls: number }>();
  const walk = (items: readonly Item[], times: number) => {
    for (const it of items) {
      if (it.kind === 'loop') walk(it.body, times * it.length);
      else if (it.kind === 'matmul' && !it.transA && it.transB) {
        const key = matmulName(it);
        const f = found.get(key);
        if (f) f.calls += times;
        else found.set(key, { k: it, calls: times });
      }
    }
  };
  for (const fn of buildSchedule(program).functions) if (fn.name.startsWith('window')) walk(fn.items, 1);
  return [...found.values()];
}

async function productTable(): Promise<void> {
  setWasmPaths(fileURLToPath(new URL('./', import.meta.resolve('@tensorflow/tfjs-backend-wasm'))));
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs wasm backend failed to initialize');
  console.log('products of the LSTM trainers (B=32 T=64 X=64 Y=64), C = A·Bᵀ, A [M, K], B [N, K]: GFLOP/s');
  console.log(`  ${'H'.padStart(3)} ${'M×N×K'.padEnd(16)} ${'per step'.padStart(8)} ${'tile'.padEnd(5)} ${'TS'.padStart(6)} ${'wasm'.padStart(6)} ${'tfjs'.padStart(6)}  wasm/TS  wasm/tfjs`);
  for (const H of [128, 512]) {
    for (const { k, calls } of productsOf(H)) {
      const { m: M, n: N, k: K } = k;
      const A = rand(M * K), B = rand(N * K);
      // TS: the target's own kernel over one array
      const w = new CodeBlockWriter();
      kernels.matmul(w, { ...k, a: { buf: 'F', off: constant(0) }, b: { buf: 'F', off: constant(M * K) }, c: { buf: 'F', off: constant(M * K + N * K) } });
      const tsKernel = new Function('F', w.toString()) as (F: Float32Array) => void;
      const Fts = new Float32Array(M * K + N * K + M * N);
      Fts.set(A), Fts.set(B, M * K);
      // wasm: the target's kernel in a memory of its own
      const fn = matmulFunction(k, false);
      const bytes = M * K + N * K + M * N;
      const wasm = (globalThis as unknown as { WebAssembly: { Instance: new (m: object, i: object) => { exports: Record<string, unknown> }; Module: new (b: Uint8Array) => object } }).WebAssembly;
      const inst = new wasm.Instance(new wasm.Module(encodeModule([fn], Math.ceil((4 * bytes) / 65536))), {});
      const mem = new Float32Array((inst.exports.memory as { buffer: ArrayBuffer }).buffer, 0, bytes);
      mem.set(A), mem.set(B, M * K);
      const mm = inst.exports[fn.name] as (a: number, b: number, c: number) => void;
      // tfjs: A·B with B [K, N] (the transposed variants are 6-8× slower in tfjs-wasm 4.22)
      const ta = tf.tensor2d(A, [M, K]), tb = tf.tidy(() => tf.tensor2d(B, [N, K]).transpose());
      const macs = M * N * K;
      const gTs = gflops(macs, () => tsKernel(Fts));
      const gWasm = gflops(macs, () => mm(0, 4 * M * K, 4 * (M * K + N * K)));
      const gTf = gflops(macs, () => tf.tidy(() => void tf.matMul(ta, tb).dataSync()));
      tf.dispose([ta, tb]);
      const t = tileOf(k);
      console.log(`  ${String(H).padStart(3)} ${`${M}×${N}×${K}`.padEnd(16)} ${String(calls).padStart(8)} ${`${t.mr}×${t.nr}`.padEnd(5)} ${gTs.toFixed(2).padStart(6)} ${gWasm.toFixed(2).padStart(6)} ${gTf.toFixed(2).padStart(6)}  ${(gWasm / gTs).toFixed(2).padStart(6)}×  ${(gWasm / gTf).toFixed(2).padStart(8)}×`);
    }
  }
}

function group(title: string, macs: number, rows: [string, () => void][]): void {
  console.log(`\n${title}`);
  let base = 0;
  for (const [name, f] of rows) {
    const g = gflops(macs, f);
    base ||= g;
    console.log(`  ${name.padEnd(48)} ${g.toFixed(2).padStart(6)} GFLOP/s  ${(g / base).toFixed(2)}×`);
  }
}

await productTable();
console.log('\nJavaScript loop shapes for the TS target');
{
  // one backward step: δ [B, 4H] · W_hh [4H, H]
  const [M, N, K] = [32, 128, 512];
  const A = rand(M * K), W = rand(K * N), Wt = new Float32Array(K * N), C = new Float32Array(M * N);
  transpose(W, Wt, K, N); // before the loop: W_hh is the same at every step
  group(`δ·W_hh, [${M}, ${K}] · [${K}, ${N}], once per step`, M * N * K, [
    ['A·B, row updates (before)', () => axpyAB(A, W, C, M, N, K)],
    ['A·(Wᵀ)ᵀ, 2×2 dot products', () => dots22(A, Wt, C, M, N, K)],
    ['A·(Wᵀ)ᵀ, 2×4 dot products (now)', () => dots24(A, Wt, C, M, N, K)],
  ]);
}
{
  // one forward step: h [B, H] · W_hhᵀ
  const [M, N, K] = [32, 512, 128];
  const A = rand(M * K), W = rand(N * K), C = new Float32Array(M * N);
  group(`h·W_hhᵀ, [${M}, ${K}] · [${N}, ${K}]ᵀ, once per step`, M * N * K, [
    ['2×2 dot products (before)', () => dots22(A, W, C, M, N, K)],
    ['2×4 dot products (now)', () => dots24(A, W, C, M, N, K)],
  ]);
}
{
  // a weight gradient over the window: Δᵀ [T·B, 4H]ᵀ · H [T·B, H]
  const [M, N, K] = [512, 128, 2048];
  const A = rand(K * M), B = rand(K * N), At = new Float32Array(K * M), Bt = new Float32Array(K * N), C = new Float32Array(M * N);
  group(`dW_hh = Δᵀ·H, [${K}, ${M}]ᵀ · [${K}, ${N}], once per window`, M * N * K, [
    ['Aᵀ·B, row updates, k outside (before)', () => axpyAtB(A, B, C, M, N, K)],
    ['two transposes, then 2×2 dot products', () => (transpose(A, At, K, M), transpose(B, Bt, K, N), dots22(At, Bt, C, M, N, K))],
    ['two transposes, then 2×4 dot products (now)', () => (transpose(A, At, K, M), transpose(B, Bt, K, N), dots24(At, Bt, C, M, N, K))],
  ]);
}
