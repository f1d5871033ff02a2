/**
 * The schedule's transpose and leading-axis sum as wasm functions of byte addresses (x, out),
 * specialized to their sizes. A transpose moves 4×4 blocks (four v128 loads, eight shuffles, four
 * stores), with the rows and columns past the last whole block copied one float at a time. A sum
 * over leading axes (a bias gradient: out[j] = Σ_r x[r, j]) keeps sixteen columns in four vector
 * accumulators while it walks the rows, then four, then the last columns one lane at a time.
 */
import { I32, V128, lanes32, op, type Bytes, type WasmFunction } from './encode.ts';

const X = 0, OUT = 1;

/** for (local = from; local != to; local += step) body — byte counters; nothing when empty. */
function count(local: number, from: number, to: number, step: number, body: Bytes): Bytes {
  if (from >= to) return [];
  return [...op.i32Const(from), ...op.localSet(local), ...op.loop([...body, ...op.localGet(local), ...op.i32Const(step), ...op.i32Add, ...op.localTee(local), ...op.i32Const(to), ...op.i32Ne, ...op.brIf(0)])];
}

/** out = xᵀ, x [R, C] row-major. */
export function transposeFunction(name: string, R: number, C: number): WasmFunction {
  const r = 2, c = 3, src = 4, dst = 5; // r, c: element counters; src, dst: addresses
  const row = 6; // v128 locals 6..9: the block's rows; 10..13: the shuffled pairs
  const R4 = R - (R % 4), C4 = C - (C % 4);
  const addr = (base: number, a: number, strideA: number, b: number, strideB: number): Bytes => [
    ...op.localGet(base), ...op.localGet(a), ...op.i32Const(4 * strideA), ...op.i32Mul, ...op.i32Add, ...op.localGet(b), ...op.i32Const(4 * strideB), ...op.i32Mul, ...op.i32Add,
  ];
  const block: Bytes = [...addr(X, r, C, c, 1), ...op.localSet(src), ...addr(OUT, c, R, r, 1), ...op.localSet(dst)];
  for (let i = 0; i < 4; i++) block.push(...op.localGet(src), ...op.v128Load(4 * i * C), ...op.localSet(row + i));
  const shuffle = (a: number, b: number, lanes: number[]): Bytes => [...op.localGet(a), ...op.localGet(b), ...op.i8x16Shuffle(lanes32(lanes))];
  block.push(...shuffle(row, row + 1, [0, 4, 1, 5]), ...op.localSet(row + 4), ...shuffle(row, row + 1, [2, 6, 3, 7]), ...op.localSet(row + 5));
  block.push(...shuffle(row + 2, row + 3, [0, 4, 1, 5]), ...op.localSet(row + 6), ...shuffle(row + 2, row + 3, [2, 6, 3, 7]), ...op.localSet(row + 7));
  const outs: [number, number, number[]][] = [[row + 4, row + 6, [0, 1, 4, 5]], [row + 4, row + 6, [2, 3, 6, 7]], [row + 5, row + 7, [0, 1, 4, 5]], [row + 5, row + 7, [2, 3, 6, 7]]];
  outs.forEach(([a, b, lanes], i) => block.push(...op.localGet(dst), ...shuffle(a, b, lanes), ...op.v128Store(4 * i * R)));
  const one: Bytes = [...addr(OUT, c, R, r, 1), ...addr(X, r, C, c, 1), ...op.f32Load(), ...op.f32Store()];
  const body = [
    ...count(r, 0, R4, 4, count(c, 0, C4, 4, block)),
    ...count(r, 0, R4, 1, count(c, C4, C, 1, one)), // the last C mod 4 columns
    ...count(r, R4, R, 1, count(c, 0, C, 1, one)), // the last R mod 4 rows
  ];
  return { name, params: [I32, I32], locals: [I32, I32, I32, I32, V128, V128, V128, V128, V128, V128, V128, V128], body };
}

/** out[j] = Σ_r x[r·kept + j], r < reduced, j < kept. */
export function leadingSumFunction(name: string, reduced: number, kept: number): WasmFunction {
  const j = 2, p = 3, acc = 4; // j: column in bytes; p: address walking the rows; acc: 4 v128
  const columns = (width: number, lane: boolean): Bytes => {
    const vectors = lane ? 1 : width / 4;
    const load = lane ? op.v128Load32Zero : op.v128Load;
    const out: Bytes = [];
    for (let v = 0; v < vectors; v++) out.push(...op.v128Const([0, 0, 0, 0]), ...op.localSet(acc + v));
    out.push(...op.localGet(X), ...op.localGet(j), ...op.i32Add, ...op.localSet(p));
    const step: Bytes = [];
    for (let v = 0; v < vectors; v++) step.push(...op.localGet(acc + v), ...op.localGet(p), ...load(16 * v), ...op.f32x4Add, ...op.localSet(acc + v));
    // rows: p runs from x + j to x + j + reduced·kept·4
    out.push(...op.loop([...step, ...op.localGet(p), ...op.i32Const(4 * kept), ...op.i32Add, ...op.localTee(p), ...op.localGet(X), ...op.localGet(j), ...op.i32Add, ...op.i32Const(4 * kept * reduced), ...op.i32Add, ...op.i32Ne, ...op.brIf(0)]));
    for (let v = 0; v < vectors; v++) out.push(...op.localGet(OUT), ...op.localGet(j), ...op.i32Add, ...op.localGet(acc + v), ...(lane ? op.v128Store32Lane(0) : op.v128Store(16 * v)));
    return out;
  };
  const K16 = kept - (kept % 16), K4 = kept - (kept % 4);
  const body = [...count(j, 0, 4 * K16, 64, columns(16, false)), ...count(j, 4 * K16, 4 * K4, 16, columns(4, false)), ...count(j, 4 * K4, 4 * kept, 4, columns(1, true))];
  return { name, params: [I32, I32], locals: [I32, I32, V128, V128, V128, V128], body };
}
