/**
 * The wasm target: the TS target's host and elementwise kernels over one WebAssembly.Memory, with
 * the products as exported WebAssembly SIMD functions (matmul.ts) whose bytes the module embeds.
 * Every float buffer — parameters, gradients, optimizer moments, state, the scratch arena, float
 * constants and a copy of each dense input a product reads — sits at a fixed place in that memory,
 * laid out here from the schedule and its memory plan; the memory is sized once and never grows,
 * so the Float32Array views the host and the JS kernels use stay live. docs/wasm.md says more.
 */
import type { CodeBlockWriter } from 'ts-morph';
import { RnncError } from '../../ir/error.ts';
import { formatAffine, plus, times } from '../schedule/affine.ts';
import type { ArraySizes, Target } from '../host/target.ts';
import { tsTarget, renderTsFunction } from '../ts/target.ts';
import type { ElementwiseKernel, Item, Kernel, MatmulKernel, MemoryPlan, Schedule, View } from '../schedule/types.ts';
import { loadsIn } from '../schedule/walk.ts';
import { elementwiseFunction, type ElementwiseCall } from './elementwise.ts';
import { encodeModule, op, type WasmFunction } from './encode.ts';
import { leadingSumFunction, transposeFunction } from './reshape.ts';
import { softmaxFunction } from './softmax.ts';
import { matmulFunction, matmulName, type MatmulShape } from './matmul.ts';

const PAGE = 65536, MAX_PAGES = 65536;
/** Regions start at multiples of 16 bytes, so the kernels' vector loads of a row start aligned when its length allows. */
const ALIGN = 4;

interface Layout {
  /** Element offset of each float buffer (P, G, M, V, S, the arena, mirrored inputs, constants). */
  readonly at: Map<string, number>;
  /** Inputs (and targets) a wasm kernel reads: copied into memory when bound. */
  readonly mirrored: readonly { readonly name: string; readonly size: number; readonly dtype: 'f32' | 'i32' }[];
  readonly pages: number;
  readonly products: readonly MatmulShape[];
  /** The elementwise kernels that are wasm functions, and how each is called. */
  readonly elementwise: ReadonlyMap<ElementwiseKernel, ElementwiseCall>;
  /** Transposes and leading-axis sums, by name (one per shape). */
  readonly moves: ReadonlyMap<string, WasmFunction>;
}

/** A transpose, a sum over leading axes or a (log-)softmax as a wasm function (x, out[, target]), or null: then a JS loop. */
function moveOf(k: Kernel): { name: string; make: () => WasmFunction } | null {
  if (k.kind === 'log_softmax' || k.kind === 'softmax_ce') {
    const name = `${k.kind === 'log_softmax' ? 'lsm' : 'ce'}_${k.rows}_${k.cols}`;
    return { name, make: () => softmaxFunction(name, k.rows, k.cols, k.kind === 'softmax_ce') };
  }
  if (k.kind === 'transpose') {
    const name = `tr_${k.rows}_${k.cols}`;
    return { name, make: () => transposeFunction(name, k.rows, k.cols) };
  }
  if (k.kind === 'sum' && k.axes.length > 0 && k.axes.length < k.shape.length && k.axes.every((a, i) => a === i)) {
    const reduced = k.shape.slice(0, k.axes.length).reduce((a, b) => a * b, 1), kept = k.shape.slice(k.axes.length).reduce((a, b) => a * b, 1);
    const name = `sum_${reduced}_${kept}`;
    return { name, make: () => leadingSumFunction(name, reduced, kept) };
  }
  return null;
}

function* kernelsOf(items: readonly Item[]): Generator<Kernel> {
  for (const it of items) {
    if (it.kind === 'loop') yield* kernelsOf(it.body);
    else yield it;
  }
}

/** The products the wasm kernels compute: A·Bᵀ (what orient-products leaves); others stay plain loops. */
const inWasm = (k: Kernel): k is MatmulKernel => k.kind === 'matmul' && !k.transA && k.transB;

/**
 * Where every float buffer sits, and which kernels are wasm functions. Laid out twice: first with a
 * copy of every float input, to learn which the wasm kernels read; then with copies of those only.
 */
function layOut(schedule: Schedule, plan: MemoryPlan, arrays: ArraySizes, mirror?: ReadonlySet<string>): Layout {
  const at = new Map<string, number>();
  let end = 0;
  const place = (name: string, size: number) => {
    at.set(name, end);
    end += Math.ceil(size / ALIGN) * ALIGN;
  };
  place('P', arrays.P), place('G', arrays.P), place('M', arrays.M), place('V', arrays.V), place('S', arrays.S), place('arena', plan.arenaSize);
  for (const b of schedule.buffers) if (b.kind === 'scratch' && b.dtype === 'f32') at.set(b.name, at.get('arena')! + plan.offsets.get(b.name)!);
  const mirrored: { name: string; size: number; dtype: 'f32' | 'i32' }[] = [];
  for (const b of schedule.buffers) {
    if (b.kind === 'const' && b.dtype === 'f32') place(b.name, b.size);
    else if ((b.kind === 'input' || b.kind === 'target') && (mirror?.has(b.name) ?? true)) place(b.name, b.size), mirrored.push({ name: b.name, size: b.size, dtype: b.dtype === 'i32' ? 'i32' : 'f32' });
  }
  const products = new Map<string, MatmulShape>();
  const elementwise = new Map<ElementwiseKernel, ElementwiseCall>();
  const moves = new Map<string, WasmFunction>();
  const used = new Set<string>();
  for (const fn of schedule.functions) {
    for (const k of kernelsOf(fn.items)) {
      if (inWasm(k)) {
        products.set(matmulName(k), { m: k.m, n: k.n, k: k.k });
        used.add(k.a.buf), used.add(k.b.buf);
      } else if (k.kind === 'elementwise') {
        const call = elementwiseFunction(k, `ew${elementwise.size}`, (buf) => at.get(buf));
        if (!call) continue;
        elementwise.set(k, call);
        for (const e of [...k.locals, ...k.stores.map((st) => st.value)]) for (const a of loadsIn(e)) used.add(a.buf);
      } else if (k.kind === 'transpose' || k.kind === 'sum' || k.kind === 'log_softmax' || k.kind === 'softmax_ce') {
        const m = moveOf(k);
        const reads = k.kind === 'softmax_ce' ? [k.x, k.target] : [k.x];
        if (!m || ![...reads, k.out].every((v) => at.get(v.buf) !== undefined)) continue;
        if (!moves.has(m.name)) moves.set(m.name, m.make());
        for (const v of reads) used.add(v.buf);
      }
    }
  }
  if (!mirror) return layOut(schedule, plan, arrays, new Set(mirrored.map((m) => m.name).filter((n) => used.has(n))));
  const pages = Math.max(1, Math.ceil((end * 4) / PAGE));
  if (pages > MAX_PAGES) {
    throw new RnncError(`--target wasm: the trainer needs ${((end * 4) / 2 ** 30).toFixed(1)} GiB in one WebAssembly.Memory, more than the 4 GiB a wasm32 memory can hold: use --target ts, smaller sizes, a smaller batch or --truncate`);
  }
  return { at, mirrored, pages, products: [...products.values()], elementwise, moves };
}

/** The kernels' module, with or without relaxed-SIMD multiply-adds. */
const kernelBytes = (l: Layout, fma: boolean) => encodeModule([...l.products.map((s) => matmulFunction(s, fma)), ...[...l.elementwise.values()].map((c) => c.fn), ...l.moves.values()], l.pages);
/** A module that validates only where the engine has relaxed SIMD. */
const relaxedProbe = () => encodeModule([{ name: 'probe', params: [], locals: [], body: [...op.v128Const([0, 0, 0, 0]), ...op.v128Const([0, 0, 0, 0]), ...op.v128Const([0, 0, 0, 0]), ...op.f32x4RelaxedMadd, 0x1a] }], 0);
const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

export function wasmTarget(): Target {
  const ts = tsTarget('f32');
  let layout: Layout | undefined;
  const laidOut = () => {
    if (!layout) throw new Error('internal error: the wasm target is used before moduleStatements laid out its memory');
    return layout;
  };
  /** A view's byte address in the memory, as an expression. */
  const address = (v: View) => {
    const base = laidOut().at.get(v.buf);
    if (base === undefined) throw new Error(`internal error: the wasm target has no place in memory for ${v.buf}`);
    return formatAffine(plus(times(v.off, 4), 4 * base));
  };
  const view = (name: string, size: number) => `new Float32Array(memory, ${4 * laidOut().at.get(name)!}, ${size})`;
  const override = (w: CodeBlockWriter, k: Kernel): boolean => {
    if (inWasm(k)) {
      w.writeLine(`${matmulName(k)}(${address(k.a)}, ${address(k.b)}, ${address(k.c)});`);
      return true;
    }
    if (k.kind === 'transpose' || k.kind === 'sum' || k.kind === 'log_softmax' || k.kind === 'softmax_ce') {
      const m = moveOf(k);
      const reads = k.kind === 'softmax_ce' ? [k.x, k.target] : [k.x];
      if (!m || !laidOut().moves.has(m.name) || ![...reads, k.out].every((v) => laidOut().at.has(v.buf))) return false;
      w.writeLine(`${m.name}(${[k.x, k.out, ...(k.kind === 'softmax_ce' ? [k.target] : [])].map(address).join(', ')});`);
      return true;
    }
    if (k.kind !== 'elementwise') return false;
    const call = laidOut().elementwise.get(k);
    if (!call) return false;
    w.writeLine(`${call.fn.name}(${call.args.join(', ')}); // ${k.fused.join(' ')}`);
    return true;
  };
  return {
    ...ts,
    name: 'wasm',
    alignElements: ALIGN,
    moduleStatements(schedule, plan, arrays) {
      layout = layOut(schedule, plan, arrays);
      const kernels = [
        ...layout.products.map((s) => `${matmulName(s)}(a: number, b: number, c: number): void;`),
        ...[...layout.elementwise.values()].map((c) => `${c.fn.name}(${c.args.map((a) => `${a}: number`).join(', ')}): void;`),
        ...[...layout.moves.values()].map((f) => `${f.name}(${['x', 'out', 'target'].slice(0, f.params.length).map((a) => `${a}: number`).join(', ')}): void;`),
      ];
      return [
        '// ---- the WebAssembly kernels (codegen/wasm): the products, over the one memory every buffer lives in ----',
        '// (only the parts of the WebAssembly API used here: the module needs no DOM or Node types)',
        'declare const WebAssembly: { Module: new (bytes: Uint8Array) => object; Instance: new (module: object, imports: object) => { exports: unknown }; compile(bytes: Uint8Array): Promise<object>; validate(bytes: Uint8Array): boolean };',
        `interface WasmKernels { memory: { buffer: ArrayBuffer }; ${kernels.join(' ')} }`,
        `// the kernels with f32x4.mul + f32x4.add, and with relaxed SIMD's f32x4.relaxed_madd (used where the engine validates it); ${layout.pages} pages of memory`,
        `const WASM_PLAIN = '${base64(kernelBytes(layout, false))}';`,
        `const WASM_RELAXED = '${base64(kernelBytes(layout, true))}';`,
        `const RELAXED_PROBE = '${base64(relaxedProbe())}';`,
        `function fromBase64(text: string): Uint8Array {
  const digits = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const n = text.replace(/=+$/, '').length, out = new Uint8Array((n * 3) >> 2);
  for (let i = 0, bits = 0, have = 0, o = 0; i < n; i++) {
    bits = (bits << 6) | digits.indexOf(text[i]!);
    have += 6;
    if (have >= 8) out[o++] = (bits >> (have -= 8)) & 255;
  }
  return out;
}`,
        `const wasmBytes = () => fromBase64(WebAssembly.validate(fromBase64(RELAXED_PROBE)) ? WASM_RELAXED : WASM_PLAIN);`,
        'let wasmCompiled: object | undefined;',
        '/** The compiled kernels: compiled on first use, synchronously (fine in Node and in workers), unless createTrainerAsync did it first. */',
        'const wasmModule = () => (wasmCompiled ??= new WebAssembly.Module(wasmBytes()));',
        `/** createTrainer, after compiling the WebAssembly asynchronously: what a browser's main thread must use (it refuses to compile large modules synchronously). */
export async function createTrainerAsync(options: TrainerOptions = {}): Promise<Trainer> {
  wasmCompiled ??= await WebAssembly.compile(wasmBytes());
  return createTrainer(options);
}`,
      ];
    },
    declareArrays(w, arrays) {
      w.writeLine('// every float buffer lives in the kernels\' memory, allocated once with the instance (it never grows, so these views stay live)');
      w.writeLine('const wasm = new WebAssembly.Instance(wasmModule(), {}).exports as WasmKernels;');
      w.writeLine('const memory = wasm.memory.buffer;');
      w.writeLine(`const P = ${view('P', arrays.P)}, G = ${view('G', arrays.P)}, S = ${view('S', arrays.S)};`);
      w.writeLine(`const M = ${view('M', arrays.M)}, V = ${view('V', arrays.V)};`);
      const kernels = [...laidOut().products.map(matmulName), ...[...laidOut().elementwise.values()].map((c) => c.fn.name), ...laidOut().moves.keys()];
      if (kernels.length) w.writeLine(`const { ${kernels.join(', ')} } = wasm;`);
    },
    declareBuffers(w, schedule, plan) {
      const l = laidOut();
      for (const b of schedule.buffers) {
        if (b.kind === 'const') w.writeLine(`const ${b.name} = ${b.dtype === 'i32' ? `new Int32Array(${b.size})` : view(b.name, b.size)}.fill(${b.value});`);
        else if (b.kind === 'scratch' && b.dtype === 'i32') w.writeLine(`const ${b.name} = new Int32Array(${b.size});`);
      }
      w.writeLine(`const arena = ${view('arena', plan.arenaSize)};`);
      for (const b of schedule.buffers) {
        if (b.kind !== 'scratch' || b.dtype === 'i32') continue;
        const off = plan.offsets.get(b.name)!;
        w.writeLine(`const ${b.name} = arena.subarray(${off}, ${off + b.size});`);
      }
      for (const m of l.mirrored) w.writeLine(`const wasm_${m.name} = ${m.dtype === 'i32' ? view(m.name, m.size).replace('Float32Array', 'Int32Array') : view(m.name, m.size)}; // ${m.name}, copied in when bound: the wasm kernels read it here`);
    },
    renderFunction: (w, fn) => renderTsFunction(w, fn, override),
    afterBind(w) {
      for (const m of laidOut().mirrored) w.writeLine(`wasm_${m.name}.set(${m.name});`);
    },
  };
}
