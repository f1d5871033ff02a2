/**
 * The wasm target's own parts: its products (codegen/wasm/matmul.ts) against the TS target's
 * product kernel on odd sizes and offsets, with plain SIMD in this process and with relaxed SIMD in
 * a Node started with it enabled; the embedded module (no imports, a memory that never grows);
 * and what it refuses. The generated trainers' parity tests run against the wasm target in
 * test/codegen-ts.test.ts and, through vitest.config.ts, in the trainer tests.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CodeBlockWriter } from 'ts-morph';
import { describe, expect, it } from 'vitest';
import elman from '../examples/cells/elman.ts';
import lstm from '../examples/cells/lstm.ts';
import { constant } from '../codegen/schedule/affine.ts';
import type { MatmulKernel } from '../codegen/schedule/types.ts';
import { kernels } from '../codegen/ts/kernels.ts';
import { I32, V128, encodeModule, op, type Bytes, type ValType } from '../codegen/wasm/encode.ts';
import { expV, logV, sigmoidV, tanhV } from '../codegen/wasm/math.ts';
import { softmaxFunction } from '../codegen/wasm/softmax.ts';
import { matmulFunction, matmulName, tileOf, type MatmulShape } from '../codegen/wasm/matmul.ts';
import { leadingSumFunction, transposeFunction } from '../codegen/wasm/reshape.ts';
import { compileTrainer, defaultOptimizer } from '../src/compile.ts';
import { compile } from '../src/compile-module.ts';
import { traceCell } from '../src/dsl/trace.ts';
import { importGenerated } from '../src/run-module.ts';
import { compileAndLoad, TEST_TARGET, type GenModule } from './trainer-helpers.ts';

/** The parts of the WebAssembly API used here (the project's lib has no DOM, and @types/node does not declare it). */
interface WasmApi {
  Module: { new (bytes: Uint8Array): object; imports(m: object): { name: string; kind: string }[]; exports(m: object): { name: string; kind: string }[] };
  Instance: new (m: object, imports: object) => { exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}
const WebAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
type Kernel = (a: number, b: number, c: number) => void;

/** Seeded values in [-1, 1). */
function seeded(seed: number): () => number {
  let s = seed;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 31) - 1;
}

/** Operands A [M, K] at element `at`, B [N, K] after it, C [M, N] after that, each at an odd offset, in one Float32Array. */
function operands(s: MatmulShape, at: number, seed: number) {
  const a = at, b = a + s.m * s.k + 3, c = b + s.n * s.k + 5, end = c + s.m * s.n + 7;
  const F = new Float32Array(end + 8);
  const r = seeded(seed);
  for (let i = a; i < c; i++) F[i] = r();
  F.fill(-777, c, F.length); // C and past it: a wrong store shows
  return { F, a, b, c, end };
}

/** The TS target's kernel for C = A·Bᵀ, as a function of the array. */
function tsProduct(s: MatmulShape, a: number, b: number, c: number): (F: Float32Array) => void {
  const k: MatmulKernel = { kind: 'matmul', a: { buf: 'F', off: constant(a) }, b: { buf: 'F', off: constant(b) }, c: { buf: 'F', off: constant(c) }, m: s.m, n: s.n, k: s.k, transA: false, transB: true };
  const w = new CodeBlockWriter();
  kernels.matmul(w, k);
  return new Function('F', w.toString()) as (F: Float32Array) => void;
}

/**
 * The bound on a float32 dot product of K terms accumulated in float32 (in any order): K·2^-24 of
 * Σ|aₖbₖ|, plus the rounding of the TS kernel's own store (2^-24 of the result).
 */
function maxExcess(s: MatmulShape, F: Float32Array, got: Float32Array, a: number, b: number, c: number): number {
  let worst = 0;
  for (let i = 0; i < s.m; i++) {
    for (let j = 0; j < s.n; j++) {
      let abs = 0;
      for (let q = 0; q < s.k; q++) abs += Math.abs(F[a + i * s.k + q]! * F[b + j * s.k + q]!);
      const bound = (s.k + 1) * 2 ** -24 * abs + 1e-30;
      worst = Math.max(worst, Math.abs(got[c + i * s.n + j]! - F[c + i * s.n + j]!) / bound);
    }
  }
  return worst;
}

const SIZES = [1, 3, 7, 13, 129];
const SHAPES: MatmulShape[] = [];
for (const m of SIZES) for (const n of SIZES) for (const k of SIZES) if (m * n * k <= 129 * 129 * 13) SHAPES.push({ m, n, k });
// every edge of the tiles: rows 1..4 past a tile, columns 1..8, the K tail 1..3
for (const m of [2, 4, 5, 6]) for (const n of [4, 5, 8, 9, 12]) for (const k of [4, 5, 6, 8]) SHAPES.push({ m, n, k });
// the tile choices of trainer-sized products
SHAPES.push({ m: 32, n: 512, k: 128 }, { m: 3, n: 4096, k: 33 }, { m: 1, n: 256, k: 64 });
// long K (a weight gradient over a window: K = steps × batch), with tails
SHAPES.push({ m: 5, n: 7, k: 1030 }, { m: 9, n: 13, k: 515 }, { m: 4, n: 8, k: 768 });

function runWasm(s: MatmulShape, fma: boolean, F: Float32Array, a: number, b: number, c: number): Float32Array {
  const bytes = encodeModule([matmulFunction(s, fma)], Math.ceil((F.length * 4) / 65536));
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  const mem = new Float32Array((inst.exports.memory as { buffer: ArrayBuffer }).buffer, 0, F.length);
  mem.set(F);
  (inst.exports[matmulName(s)] as Kernel)(4 * a, 4 * b, 4 * c);
  return mem;
}

/** Run a wasm function (x, out) over a copy of F; the TS kernel's code over F itself. */
function runMove(fn: ReturnType<typeof transposeFunction>, F: Float32Array, x: number, out: number): Float32Array {
  const inst = new WebAssembly.Instance(new WebAssembly.Module(encodeModule([fn], Math.ceil((F.length * 4) / 65536))), {});
  const mem = new Float32Array((inst.exports.memory as { buffer: ArrayBuffer }).buffer, 0, F.length);
  mem.set(F);
  (inst.exports[fn.name] as (x: number, out: number) => void)(4 * x, 4 * out);
  return mem;
}
function tsKernel(emit: (w: CodeBlockWriter) => void): (F: Float32Array) => void {
  const w = new CodeBlockWriter();
  emit(w);
  return new Function('F', w.toString()) as (F: Float32Array) => void;
}

describe('wasm transposes and bias-gradient sums against the TS kernels', () => {
  const SIDES = [1, 3, 4, 7, 8, 13, 16, 129];
  it('transpose [R, C] for R, C in 1, 3, 4, 7, 8, 13, 16, 129: the same floats, nothing else written', () => {
    for (const R of SIDES) {
      for (const C of SIDES) {
        const x = 3, out = x + R * C + 1, end = out + R * C;
        const F = new Float32Array(end + 5).fill(-777);
        const r = seeded(R * 1000 + C);
        for (let i = x; i < x + R * C; i++) F[i] = r();
        const got = runMove(transposeFunction('t', R, C), F, x, out);
        tsKernel((w) => kernels.transpose(w, { kind: 'transpose', x: { buf: 'F', off: constant(x) }, out: { buf: 'F', off: constant(out) }, rows: R, cols: C }))(F);
        expect(Array.from(got), `transpose ${R}×${C}`).toEqual(Array.from(F));
      }
    }
  });
  it('sum over the leading axis of [R, K] for R in 1, 3, 64 and K in 1, 3, 4, 7, 16, 21, 129: within float32 accumulation', () => {
    for (const R of [1, 3, 64]) {
      for (const K of [1, 3, 4, 7, 16, 21, 129]) {
        const x = 1, out = x + R * K + 2, end = out + K;
        const F = new Float32Array(end + 5).fill(-777);
        const r = seeded(R + K);
        for (let i = x; i < x + R * K; i++) F[i] = r();
        const got = runMove(leadingSumFunction('s', R, K), F, x, out);
        tsKernel((w) => kernels.sum(w, { kind: 'sum', x: { buf: 'F', off: constant(x) }, out: { buf: 'F', off: constant(out) }, shape: [R, K], axes: [0] }))(F);
        for (let j = 0; j < K; j++) {
          let abs = 0;
          for (let q = 0; q < R; q++) abs += Math.abs(F[x + q * K + j]!);
          expect(Math.abs(got[out + j]! - F[out + j]!), `sum ${R}×${K} column ${j}`).toBeLessThanOrEqual(2 * R * 2 ** -24 * abs);
        }
        for (let q = 0; q < F.length; q++) if ((q < out || q >= end) && got[q] !== F[q]) throw new Error(`sum ${R}×${K} wrote element ${q}`);
      }
    }
  });
});

describe('wasm log-softmax and cross-entropy against the TS kernels', () => {
  it('rows × cols for rows 1, 3, 7 and cols 1, 3, 4, 5, 8, 13, 64, logits in [-30, 30]: within 4e-6 of the TS kernel (which works in double)', () => {
    for (const rows of [1, 3, 7]) {
      for (const cols of [1, 3, 4, 5, 8, 13, 64]) {
        for (const ce of [false, true]) {
          const x = 2, tgt = x + rows * cols + 1, out = tgt + rows + 3, size = ce ? rows : rows * cols, end = out + size;
          const F = new Float32Array(end + 4).fill(-777);
          const r = seeded(rows * 100 + cols);
          for (let i = 0; i < rows * cols; i++) F[x + i] = 30 * r();
          const ids = new Int32Array(F.buffer);
          for (let i = 0; i < rows; i++) ids[tgt + i] = (i * 5 + 1) % cols;
          const fn = softmaxFunction('s', rows, cols, ce);
          const inst = new WebAssembly.Instance(new WebAssembly.Module(encodeModule([fn], 1)), {});
          const mem = new Float32Array((inst.exports.memory as { buffer: ArrayBuffer }).buffer, 0, F.length);
          mem.set(F);
          (inst.exports.s as (...a: number[]) => void)(4 * x, 4 * out, 4 * tgt);
          const v = (o: number) => ({ buf: 'F', off: constant(o) });
          const w = new CodeBlockWriter();
          if (ce) kernels.softmax_ce(w, { kind: 'softmax_ce', x: v(x), target: { buf: 'T', off: constant(tgt) }, out: v(out), rows, cols });
          else kernels.log_softmax(w, { kind: 'log_softmax', x: v(x), out: v(out), rows, cols });
          // the TS kernel reads the class ids from an Int32Array: the same bytes
          new Function('F', 'T', w.toString())(F, ids);
          for (let i = out; i < end; i++) expect(Math.abs(mem[i]! - F[i]!), `${ce ? 'ce' : 'log_softmax'} ${rows}×${cols} element ${i - out}`).toBeLessThanOrEqual(4e-6 * (1 + Math.abs(F[i]!)));
          for (let i = end; i < F.length; i++) expect(mem[i]).toBe(-777);
        }
      }
    }
  });
});

describe('wasm products against the TS kernels', () => {
  it(`C = A·Bᵀ on ${SHAPES.length} shapes (M, N, K in 1, 3, 7, 13, 129 and every tile edge), at odd offsets, within float32 accumulation`, () => {
    let worst = 0;
    SHAPES.forEach((s, i) => {
      const { F, a, b, c, end } = operands(s, 1 + (i % 3), 100 + i);
      expect(WebAssembly.validate(encodeModule([matmulFunction(s, false)], 1)), `${matmulName(s)} validates`).toBe(true);
      const got = runWasm(s, false, F, a, b, c);
      tsProduct(s, a, b, c)(F);
      const e = maxExcess(s, F, got, a, b, c);
      worst = Math.max(worst, e);
      expect(e, `${matmulName(s)} (tile ${JSON.stringify(tileOf(s))}): error over the float32 bound`).toBeLessThanOrEqual(1);
      // nothing outside C changed: the operands, and the guard after C
      for (let q = 0; q < c; q++) if (got[q] !== F[q]) throw new Error(`${matmulName(s)} wrote operand element ${q}`);
      for (let q = c + s.m * s.n; q < end; q++) expect(got[q], `${matmulName(s)}: element ${q} past C`).toBe(-777);
    });
    // eslint-disable-next-line no-console
    console.log(`wasm products: worst error ${worst.toFixed(3)} of the float32 accumulation bound`);
  });

  it('with relaxed-SIMD multiply-adds (in a Node started with --experimental-wasm-relaxed-simd), the same within the bound', () => {
    const shapes: MatmulShape[] = [{ m: 7, n: 13, k: 129 }, { m: 32, n: 64, k: 16 }, { m: 1, n: 9, k: 3 }, { m: 5, n: 5, k: 5 }];
    const cases = shapes.map((s, i) => {
      const { F, a, b, c } = operands(s, 2, 300 + i);
      return { s, F, a, b, c, bytes: Buffer.from(encodeModule([matmulFunction(s, true)], Math.ceil((F.length * 4) / 65536))).toString('base64') };
    });
    const child = `
      const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
      const out = cases.map(({ s, F, a, b, c, bytes }) => {
        const inst = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(bytes, 'base64')), {});
        const mem = new Float32Array(inst.exports.memory.buffer, 0, F.length);
        mem.set(F);
        inst.exports['mm_' + s.m + '_' + s.n + '_' + s.k](4 * a, 4 * b, 4 * c);
        return Array.from(mem);
      });
      process.stdout.write(JSON.stringify(out));`;
    const input = JSON.stringify(cases.map((x) => ({ ...x, F: Array.from(x.F) })));
    const results = JSON.parse(execFileSync(process.execPath, ['--experimental-wasm-relaxed-simd', '-e', child], { input, maxBuffer: 1 << 28 }).toString()) as number[][];
    cases.forEach(({ s, F, a, b, c }, i) => {
      const got = Float32Array.from(results[i]!);
      tsProduct(s, a, b, c)(F);
      expect(maxExcess(s, F, got, a, b, c), matmulName(s)).toBeLessThanOrEqual(1);
    });
  });
});

/**
 * exp, tanh and sigmoid of math.ts over every float32 in a range (a dense sample of them), against
 * Math's double results rounded to float32: the largest error in units of the last place (ulp of
 * the correctly rounded result), and the largest absolute error. docs/wasm.md quotes these.
 */
function mathErrors(f: (x: Bytes, t: { v128(): number }) => Bytes, exact: (x: number) => number, lo: number, hi: number, n: number): { ulp: number; abs: number } {
  let next = 3;
  const fn: { name: string; params: ValType[]; locals: ValType[]; body: Bytes } = { name: 'f', params: [I32, I32], locals: [], body: [] };
  const temps = { v128: () => (fn.locals.push(V128), next++) };
  // for (p = 0; p != n·4; p += 16) out[p] = f(in[p])
  fn.locals.push(I32); // local 2: p
  const body = [...op.localGet(1), ...op.localGet(2), ...op.i32Add, ...f([...op.localGet(0), ...op.localGet(2), ...op.i32Add, ...op.v128Load()], temps), ...op.v128Store()];
  fn.body = op.loop([...body, ...op.localGet(2), ...op.i32Const(16), ...op.i32Add, ...op.localTee(2), ...op.i32Const(4 * n), ...op.i32Ne, ...op.brIf(0)]);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(encodeModule([fn], Math.ceil((8 * n) / 65536))), {});
  const mem = (inst.exports.memory as { buffer: ArrayBuffer }).buffer;
  const x = new Float32Array(mem, 0, n), y = new Float32Array(mem, 4 * n, n);
  for (let i = 0; i < n; i++) x[i] = lo + ((hi - lo) * i) / (n - 1);
  (inst.exports.f as (a: number, b: number) => void)(0, 4 * n);
  let ulp = 0, abs = 0;
  for (let i = 0; i < n; i++) {
    const want = Math.fround(exact(x[i]!));
    const spacing = Math.max(Math.abs(Math.fround(want * (1 + 2 ** -23)) - want), 2 ** -149);
    ulp = Math.max(ulp, Math.abs(y[i]! - want) / spacing);
    abs = Math.max(abs, Math.abs(y[i]! - exact(x[i]!)));
  }
  return { ulp, abs };
}

describe('exp, tanh and sigmoid in wasm', () => {
  const N = 1 << 18;
  it('exp: within 2 ulp on [-87, 88]', () => {
    const e = mathErrors(expV, Math.exp, -87, 88, N);
    // eslint-disable-next-line no-console
    console.log(`wasm exp: ${e.ulp.toFixed(2)} ulp`);
    expect(e.ulp).toBeLessThanOrEqual(2);
  });
  it('tanh: within 2 ulp on [-10, 10], within 1e-7 absolute near 0', () => {
    const e = mathErrors(tanhV, Math.tanh, -10, 10, N), near = mathErrors(tanhV, Math.tanh, -1e-3, 1e-3, 4096);
    // eslint-disable-next-line no-console
    console.log(`wasm tanh: ${e.ulp.toFixed(2)} ulp on [-10, 10], ${near.ulp.toFixed(2)} ulp on [-1e-3, 1e-3]`);
    expect(e.ulp).toBeLessThanOrEqual(2);
    expect(near.ulp).toBeLessThanOrEqual(2);
  });
  it('log (for the softmax: x ≥ 1): within 2 ulp on [1, 1e4]', () => {
    const e = mathErrors(logV, Math.log, 1, 1e4, N);
    // eslint-disable-next-line no-console
    console.log(`wasm log: ${e.ulp.toFixed(2)} ulp on [1, 1e4]`);
    expect(e.ulp).toBeLessThanOrEqual(2);
  });
  it('sigmoid: within 1e-7 absolute on [-20, 20] (2^-23: one ulp of 1)', () => {
    const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
    const e = mathErrors(sigmoidV, sigmoid, -20, 20, N);
    // eslint-disable-next-line no-console
    console.log(`wasm sigmoid: ${e.abs.toExponential(2)} absolute, ${e.ulp.toFixed(2)} ulp on [-20, 20]`);
    expect(e.abs).toBeLessThan(1.2e-7);
  });
});

describe('the wasm target: module and memory', () => {
  const c = traceCell(lstm, { sizes: { X: 3, H: 5, Y: 4 }, batch: 2 });
  const batch = () => {
    const r = seeded(7);
    return { inputs: { x: Float32Array.from({ length: 4 * 2 * 3 }, r) }, targets: Int32Array.from({ length: 4 * 2 }, (_, i) => (i * 3) % 4) };
  };

  it('embeds kernels that import nothing and export one memory of fixed size; the views stay live through training', async () => {
    const source = compileTrainer(c, { seq: 4, target: 'wasm', optimizer: defaultOptimizer('adam', 0.01) });
    // (the relaxed-SIMD module compiles only where the engine has it: the test below instantiates it, with no imports, in such a Node)
    expect(WebAssembly.validate(Buffer.from(source.match(/const WASM_RELAXED = '([^']*)'/)![1]!, 'base64')), 'relaxed SIMD in this Node').toBe(false);
    for (const name of ['WASM_PLAIN']) {
      const b64 = source.match(new RegExp(`const ${name} = '([^']*)'`))![1]!;
      const mod = new WebAssembly.Module(Buffer.from(b64, 'base64'));
      expect(WebAssembly.Module.imports(mod), `${name} imports`).toEqual([]);
      const exports = WebAssembly.Module.exports(mod);
      expect(exports.filter((e) => e.kind === 'memory').map((e) => e.name)).toEqual(['memory']);
      expect(exports.filter((e) => e.kind === 'function').every((e) => /^(mm_\d+_\d+_\d+|ew\d+|(tr|sum|lsm|ce)_\d+_\d+)$/.test(e.name))).toBe(true);
    }
    const mod = await importGenerated<GenModule>(source);
    const t = mod.createTrainer();
    const buffer = t.params.weight_hh!.buffer;
    expect(buffer.constructor.name).toBe('ArrayBuffer');
    const bytes = buffer.byteLength;
    // every float array of the host is a view of the kernels' memory
    for (const v of [...Object.values(t.params), ...Object.values(t.grads), ...Object.values(t.state)]) expect(v.buffer).toBe(buffer);
    const before = t.exportParams();
    for (let i = 0; i < 3; i++) t.step(batch());
    expect(t.params.weight_hh!.buffer.byteLength, 'never grows (nor detaches)').toBe(bytes);
    expect(t.exportParams()).not.toEqual(before);
    // two trainers, two memories
    const u = mod.createTrainer();
    expect(u.params.weight_hh!.buffer).not.toBe(buffer);
  });

  it('createTrainerAsync compiles asynchronously and gives the same trainer as createTrainer', async () => {
    const mod = await importGenerated<GenModule & { createTrainerAsync(o?: object): Promise<GenModule extends { createTrainer(o?: object): infer T } ? T : never> }>(compileTrainer(c, { seq: 4, target: 'wasm' }));
    const a = await mod.createTrainerAsync({ seed: 3 }), b = mod.createTrainer({ seed: 3 });
    expect(a.lossAndGrad(batch())).toBe(b.lossAndGrad(batch()));
    expect(Array.from(a.grads.weight_ih!)).toEqual(Array.from(b.grads.weight_ih!));
  });

  it('under relaxed SIMD (Node with --experimental-wasm-relaxed-simd) the module picks the relaxed kernels and trains the same within float32', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rnnc-wasm-'));
    const m = await compile(lstm, { sizes: { X: 3, H: 5, Y: 4 }, batch: 2, seq: 4, target: 'wasm', format: 'js' });
    writeFileSync(path.join(dir, 'trainer.mjs'), m.code);
    const b = batch();
    const script = `import { createTrainer } from ${JSON.stringify(path.join(dir, 'trainer.mjs'))};
      const t = createTrainer({ seed: 5 });
      const b = { inputs: { x: Float32Array.from(${JSON.stringify(Array.from(b.inputs.x))}) }, targets: Int32Array.from(${JSON.stringify(Array.from(b.targets))}) };
      const loss = t.lossAndGrad(b);
      process.stdout.write(JSON.stringify({ loss, g: Array.from(t.grads.weight_hh), relaxed: WebAssembly.validate(new Uint8Array([0,97,115,109,1,0,0,0,1,4,1,96,0,0,3,2,1,0,10,62,1,60,0,253,12,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,253,12,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,253,12,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,253,133,2,26,11])) }));`;
    writeFileSync(path.join(dir, 'run.mjs'), script);
    const out = JSON.parse(execFileSync(process.execPath, ['--experimental-wasm-relaxed-simd', path.join(dir, 'run.mjs')]).toString()) as { loss: number; g: number[]; relaxed: boolean };
    expect(out.relaxed, 'the engine has relaxed SIMD').toBe(true);
    const here = (await importGenerated<GenModule>(m.code.replace(/\/\/# sourceMappingURL.*$/m, ''))).createTrainer({ seed: 5 });
    expect(out.loss).toBeCloseTo(here.lossAndGrad(b), 5);
    const g = here.grads.weight_hh!;
    const scale = Math.max(...Array.from(g, Math.abs));
    expect(Math.max(...out.g.map((v, i) => Math.abs(v - g[i]!))) / scale).toBeLessThan(1e-4);
  });
});

describe('rnnc compile --target wasm', () => {
  it('writes a .mjs whose .d.mts declares createTrainerAsync; refuses --float f64 and an unknown target in one line, writing nothing', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rnnc-cli-wasm-'));
    const rnnc = (...args: string[]) => {
      try {
        return { code: 0, err: execFileSync(process.execPath, ['bin/rnnc.mjs', 'compile', 'examples/cells/elman.ts', '--size', 'X=2', '--size', 'H=3', '--size', 'Y=4', ...args], { encoding: 'utf8', stdio: 'pipe' }) };
      } catch (e) {
        const x = e as { status: number; stderr: string };
        return { code: x.status, err: x.stderr };
      }
    };
    expect(rnnc('--target', 'wasm', '-o', path.join(dir, 't.mjs')).code).toBe(0);
    expect(readFileSync(path.join(dir, 't.d.mts'), 'utf8')).toMatch(/export declare function createTrainerAsync\(options\?: TrainerOptions\): Promise<Trainer>;/);
    expect(readFileSync(path.join(dir, 't.mjs'), 'utf8')).toMatch(/const WASM_PLAIN = '/);
    const f64 = rnnc('--target', 'wasm', '--float', 'f64', '-o', path.join(dir, 'f64.ts'));
    expect(f64.code).not.toBe(0);
    expect(f64.err.trim()).toBe('rnnc compile: --target wasm computes in float32 only: drop --float f64, or use --target ts for float64');
    const other = rnnc('--target', 'wgsl', '-o', path.join(dir, 'wgsl.ts'));
    expect(other.err.trim()).toBe("rnnc compile: --target: 'wgsl' must be ts, wasm or webgpu");
    expect(existsSync(path.join(dir, 'f64.ts')) || existsSync(path.join(dir, 'wgsl.ts'))).toBe(false);
  });
});

describe('the wasm target refuses', () => {
  it('float64, naming the option (library and CLI wording)', async () => {
    const c = traceCell(elman, { sizes: { X: 2, H: 3, Y: 4 }, batch: 2 });
    expect(() => compileTrainer(c, { seq: 3, float: 'f64', target: 'wasm' })).toThrow(/--target wasm computes in float32 only/);
    await expect(compile(elman, { sizes: { X: 2, H: 3, Y: 4 }, float: 'f64', target: 'wasm' })).rejects.toThrow(/option 'target' 'wasm' computes in float32 only/);
    await expect(compile(elman, { sizes: { X: 2, H: 3, Y: 4 }, target: 'wgsl' as 'ts' })).rejects.toThrow(/option 'target' must be 'ts' or 'wasm'/);
  });

  it('a trainer larger than a wasm32 memory, with the size it would need', () => {
    const c = traceCell(lstm, { sizes: { X: 8, H: 20000, Y: 4 }, batch: 1 });
    expect(() => compileTrainer(c, { seq: 1, target: 'wasm' })).toThrow(/--target wasm: the trainer needs \d+\.\d GiB in one WebAssembly.Memory, more than the 4 GiB/);
  });
});

describe('the trainer tests run against the target under test', () => {
  it(`compileAndLoad compiles float32 modules for RNNC_TEST_TARGET (here: ${TEST_TARGET})`, async () => {
    const { source } = await compileAndLoad(traceCell(elman, { sizes: { X: 2, H: 3, Y: 4 }, batch: 2 }), { seq: 3 });
    expect(source.includes('new WebAssembly.Instance')).toBe(TEST_TARGET === 'wasm');
    expect(TEST_TARGET).toBe(process.env.RNNC_TEST_TARGET === 'wasm' ? 'wasm' : 'ts');
  });
});
