/**
 * Row-wise log-softmax of [rows, cols], or cross-entropy against class ids (one i32 per row), as a
 * wasm function of byte addresses (x, out[, target]). Per row: the maximum (vectors, then the last
 * cols mod 4 as splats), the sum of e^(x − max) (vectors, the tail lane by lane), lse = max +
 * log(sum), then out = x − lse, or out[r] = lse − x[r, target[r]].
 */
import { I32, V128, lanes32, op, type Bytes, type ValType, type WasmFunction } from './encode.ts';
import { expV, logV, type Temps } from './math.ts';

export function softmaxFunction(name: string, rows: number, cols: number, withTarget: boolean): WasmFunction {
  const X = 0, OUT = 1, TGT = 2;
  const params: ValType[] = withTarget ? [I32, I32, I32] : [I32, I32];
  const locals: ValType[] = [];
  const local = (t: ValType) => (locals.push(t), params.length + locals.length - 1);
  const XP = local(I32), OP = local(I32), TP = local(I32), J = local(I32);
  const MAX = local(V128), SUM = local(V128), LSE = local(V128);
  const temps: Temps = { v128: () => local(V128) };
  const C4 = cols - (cols % 4);
  const at = (j: Bytes) => [...op.localGet(XP), ...j, ...op.i32Add];
  const loopJ = (body: Bytes): Bytes => (C4 === 0 ? [] : [...op.i32Const(0), ...op.localSet(J), ...op.loop([...body, ...op.localGet(J), ...op.i32Const(16), ...op.i32Add, ...op.localTee(J), ...op.i32Const(4 * C4), ...op.i32Ne, ...op.brIf(0)])]);
  /** All four lanes of v set to the max (or sum) of its lanes. */
  const across = (v: number, combine: Bytes): Bytes => [
    ...op.localGet(v), ...op.localGet(v), ...op.localGet(v), ...op.i8x16Shuffle(lanes32([2, 3, 0, 1])), ...combine, ...op.localSet(v),
    ...op.localGet(v), ...op.localGet(v), ...op.localGet(v), ...op.i8x16Shuffle(lanes32([1, 0, 3, 2])), ...combine, ...op.localSet(v),
  ];
  const row: Bytes = [
    // max
    ...op.localGet(XP), ...op.v128Load32Splat(), ...op.localSet(MAX),
    ...loopJ([...op.localGet(MAX), ...at(op.localGet(J)), ...op.v128Load(), ...op.f32x4Max, ...op.localSet(MAX)]),
  ];
  for (let j = C4; j < cols; j++) row.push(...op.localGet(MAX), ...op.localGet(XP), ...op.v128Load32Splat(4 * j), ...op.f32x4Max, ...op.localSet(MAX));
  row.push(...across(MAX, op.f32x4Max));
  // Σ e^(x − max): whole vectors, then the tail's lanes (load32_zero would add e^(−max) for the empty lanes)
  row.push(...op.v128Const([0, 0, 0, 0]), ...op.localSet(SUM));
  row.push(...loopJ([...op.localGet(SUM), ...expV([...at(op.localGet(J)), ...op.v128Load(), ...op.localGet(MAX), ...op.f32x4Sub], temps), ...op.f32x4Add, ...op.localSet(SUM)]));
  row.push(...across(SUM, op.f32x4Add));
  for (let j = C4; j < cols; j++) row.push(...op.localGet(SUM), ...expV([...op.localGet(XP), ...op.v128Load32Splat(4 * j), ...op.localGet(MAX), ...op.f32x4Sub], temps), ...op.f32x4Add, ...op.localSet(SUM));
  row.push(...op.localGet(MAX), ...logV(op.localGet(SUM), temps), ...op.f32x4Add, ...op.localSet(LSE));
  if (withTarget) {
    // out[r] = lse − x[r, target[r]]
    row.push(...op.localGet(OP), ...op.localGet(LSE), ...op.f32x4ExtractLane(0));
    row.push(...op.localGet(XP), ...op.localGet(TP), ...op.i32Load(), ...op.i32Const(2), ...op.i32Shl, ...op.i32Add, ...op.f32Load(), ...op.f32Sub, ...op.f32Store());
  } else {
    row.push(...loopJ([...op.localGet(OP), ...op.localGet(J), ...op.i32Add, ...at(op.localGet(J)), ...op.v128Load(), ...op.localGet(LSE), ...op.f32x4Sub, ...op.v128Store()]));
    for (let j = C4; j < cols; j++) row.push(...op.localGet(OP), ...op.localGet(XP), ...op.v128Load32Splat(4 * j), ...op.localGet(LSE), ...op.f32x4Sub, ...op.v128Store32Lane(0, 4 * j));
  }
  const advance = (l: number, bytes: number): Bytes => [...op.localGet(l), ...op.i32Const(bytes), ...op.i32Add, ...op.localSet(l)];
  const body: Bytes = [
    ...op.localGet(X), ...op.localSet(XP), ...op.localGet(OUT), ...op.localSet(OP), ...(withTarget ? [...op.localGet(TGT), ...op.localSet(TP)] : []),
    ...op.loop([
      ...row,
      ...advance(XP, 4 * cols), ...advance(OP, withTarget ? 4 : 4 * cols), ...(withTarget ? advance(TP, 4) : []),
      ...op.localGet(XP), ...op.localGet(X), ...op.i32Const(4 * cols * rows), ...op.i32Add, ...op.i32Ne, ...op.brIf(0),
    ]),
  ];
  return { name, params, locals, body };
}
