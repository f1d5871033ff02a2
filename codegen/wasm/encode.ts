/**
 * A small WebAssembly binary encoder: the few sections and the few dozen instructions the kernels
 * use (i32 address arithmetic, loops, f32 and f32x4 loads, stores and arithmetic, shuffles). Every
 * instruction is a function returning its bytes, so a kernel reads as the instructions it runs.
 * Why not binaryen or wabt: the whole encoding needed here is this file; binaryen's JS API (23 MB)
 * has no relaxed-SIMD helpers, and wabt would mean generating WAT text only to parse it again.
 * Modules are checked by WebAssembly.validate in the tests (test/wasm-kernels.test.ts).
 */

export type Bytes = number[];

/** Unsigned LEB128. */
export function uleb(n: number): Bytes {
  const out: Bytes = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer. */
export function sleb(n: number): Bytes {
  const out: Bytes = [];
  n |= 0;
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) return out.push(byte), out;
    out.push(byte | 0x80);
  }
}

const utf8 = (s: string): Bytes => [...new TextEncoder().encode(s)];
const vec = (items: Bytes[]): Bytes => [...uleb(items.length), ...items.flat()];
const name = (s: string): Bytes => [...uleb(utf8(s).length), ...utf8(s)];
const section = (id: number, body: Bytes): Bytes => [id, ...uleb(body.length), ...body];

export const I32 = 0x7f, F32 = 0x7d, V128 = 0x7b;
export type ValType = typeof I32 | typeof F32 | typeof V128;

/** A memory argument: log2 of the alignment hint, and a constant byte offset. */
const memarg = (offset: number, align: number): Bytes => [align, ...uleb(offset)];
const simd = (op: number, ...rest: Bytes): Bytes => [0xfd, ...uleb(op), ...rest];

/** The instructions, by their text-format names. */
export const op = {
  localGet: (i: number): Bytes => [0x20, ...uleb(i)],
  localSet: (i: number): Bytes => [0x21, ...uleb(i)],
  localTee: (i: number): Bytes => [0x22, ...uleb(i)],
  i32Const: (n: number): Bytes => [0x41, ...sleb(n)],
  i32Add: [0x6a] as Bytes,
  i32Sub: [0x6b] as Bytes,
  i32Mul: [0x6c] as Bytes,
  i32LtU: [0x49] as Bytes,
  i32Ne: [0x47] as Bytes,
  f32Const: (x: number): Bytes => [0x43, ...new Uint8Array(new Float32Array([x]).buffer)],
  f32Load: (offset = 0): Bytes => [0x2a, ...memarg(offset, 2)],
  f32Store: (offset = 0): Bytes => [0x38, ...memarg(offset, 2)],
  f32Add: [0x92] as Bytes,
  f32Sub: [0x93] as Bytes,
  f32Mul: [0x94] as Bytes,
  f32Div: [0x95] as Bytes,
  f32Sqrt: [0x91] as Bytes,
  loop: (body: Bytes): Bytes => [0x03, 0x40, ...body, 0x0b],
  block: (body: Bytes): Bytes => [0x02, 0x40, ...body, 0x0b],
  brIf: (depth: number): Bytes => [0x0d, ...uleb(depth)],
  br: (depth: number): Bytes => [0x0c, ...uleb(depth)],
  v128Load: (offset = 0): Bytes => simd(0x00, ...memarg(offset, 2)),
  v128Store: (offset = 0): Bytes => simd(0x0b, ...memarg(offset, 2)),
  v128Load32Splat: (offset = 0): Bytes => simd(0x09, ...memarg(offset, 2)),
  v128Load32Zero: (offset = 0): Bytes => simd(0x5c, ...memarg(offset, 2)),
  v128Const: (lanes: readonly number[]): Bytes => simd(0x0c, ...new Uint8Array(new Float32Array(lanes).buffer)),
  v128ConstI32: (lanes: readonly number[]): Bytes => simd(0x0c, ...new Uint8Array(new Int32Array(lanes).buffer)),
  i8x16Shuffle: (lanes: readonly number[]): Bytes => simd(0x0d, ...lanes),
  f32x4Splat: simd(0x13),
  f32x4ExtractLane: (lane: number): Bytes => simd(0x1f, lane),
  f32x4Add: simd(0xe4),
  f32x4Sub: simd(0xe5),
  f32x4Mul: simd(0xe6),
  f32x4Div: simd(0xe7),
  f32x4Sqrt: simd(0xe3),
  f32x4Neg: simd(0xe1),
  f32x4Abs: simd(0xe0),
  f32x4Min: simd(0xe8),
  f32x4Max: simd(0xe9),
  f32x4Gt: simd(0x44),
  f32x4Nearest: simd(0x6a),
  v128And: simd(0x4e),
  v128Or: simd(0x50),
  /** (a & mask) | (b & ~mask), operands a, b, mask. */
  v128Bitselect: simd(0x52),
  i32x4Add: simd(0xae),
  i32x4Sub: simd(0xb1),
  i32x4Mul: simd(0xb5),
  i32x4Eq: simd(0x37),
  i32x4Splat: simd(0x11),
  i32x4ShrS: simd(0xac),
  i32x4ShrU: simd(0xad),
  f32x4ConvertI32x4S: simd(0xfa),
  f32x4Lt: simd(0x43),
  v128AndNot: simd(0x4f),
  f32x4Pmax: simd(0xeb),
  i32Load: (offset = 0): Bytes => [0x28, ...memarg(offset, 2)],
  i32Shl: [0x74] as Bytes,
  i32ShrU: [0x76] as Bytes,
  i32x4Shl: simd(0xab),
  i32x4TruncSatF32x4S: simd(0xf8),
  /** Stores lane `lane` of a vector (4 bytes). */
  v128Store32Lane: (lane: number, offset = 0): Bytes => simd(0x5a, ...memarg(offset, 2), lane),
  /** a·b + c, fused or not as the engine chooses (relaxed SIMD). */
  f32x4RelaxedMadd: simd(0x105),
};

/** The byte shuffle taking 32-bit lanes `lanes` (0–3 from the first operand, 4–7 from the second). */
export const lanes32 = (lanes: readonly number[]): number[] => lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);

export interface WasmFunction {
  readonly name: string;
  readonly params: readonly ValType[];
  /** Locals after the parameters, in order. */
  readonly locals: readonly ValType[];
  readonly body: Bytes;
}

/**
 * A module of exported functions (no results) over one memory of `pages` 64 KiB pages, defined
 * here and exported as `memory`, with no maximum growth (min = max): nothing is imported.
 */
export function encodeModule(functions: readonly WasmFunction[], pages: number): Uint8Array {
  const sigs: string[] = [];
  const sigOf = (f: WasmFunction) => {
    const key = f.params.join(',');
    if (!sigs.includes(key)) sigs.push(key);
    return sigs.indexOf(key);
  };
  const typeIndex = functions.map(sigOf);
  const types = sigs.map((s) => [0x60, ...vec((s ? s.split(',') : []).map((t) => [Number(t)])), 0x00]);
  const code = functions.map((f) => {
    // locals run-length encoded by type
    const groups: Bytes[] = [];
    for (let i = 0; i < f.locals.length; ) {
      let j = i;
      while (j < f.locals.length && f.locals[j] === f.locals[i]) j++;
      groups.push([...uleb(j - i), f.locals[i]!]);
      i = j;
    }
    const body = [...vec(groups), ...f.body, 0x0b];
    return [...uleb(body.length), ...body];
  });
  const exports = [[...name('memory'), 0x02, 0x00], ...functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)])];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(3, vec(typeIndex.map((t) => uleb(t)))),
    ...section(5, vec([[0x01, ...uleb(pages), ...uleb(pages)]])),
    ...section(7, vec(exports)),
    ...section(10, vec(code)),
  ]);
}
