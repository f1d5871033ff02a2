/**
 * exp, tanh and sigmoid on f32x4, in wasm, for the elementwise kernels: no call back into
 * JavaScript per element. Cephes' single-precision algorithms (expf, tanhf): exp reduces x to
 * r = x − n·ln2 (ln2 in two parts, so r is exact), a degree-5 polynomial for e^r, and 2^n put into
 * the exponent bits; tanh is an odd polynomial below |x| = 0.625 and 1 − 2/(e^{2|x|} + 1) above,
 * with x's sign; sigmoid is 1/(1 + e^{−x}). Measured errors: docs/wasm.md (bench/wasm-math.ts).
 */
import { op, type Bytes } from './encode.ts';

/** Fresh v128 locals for temporaries: each call site gets its own (V8 allocates the registers). */
export interface Temps {
  v128(): number;
}

const splat = (x: number): Bytes => op.v128Const([x, x, x, x]);
const mulAdd = (acc: Bytes, x: number, c: number): Bytes => [...acc, ...op.localGet(x), ...op.f32x4Mul, ...splat(c), ...op.f32x4Add];
/** ((c₀·x + c₁)·x + c₂)… by Horner's rule, x a local. */
const horner = (x: number, coefficients: readonly number[]): Bytes => coefficients.slice(1).reduce((acc, c) => mulAdd(acc, x, c), splat(coefficients[0]!));

// exp is finite and normal in [-87.33, 88.02] (2^n with n in [-126, 127]): inputs are clamped there,
// so e^x below is ~1e-38 instead of smaller, and above, 1.6e38 instead of overflowing
const EXP_LO = -87.33, EXP_HI = 88.02;
const LOG2E = 1.44269504088896341, LN2_HI = 0.693359375, LN2_LO = -2.12194440e-4;
const EXP_P = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
const TANH_P = [-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1];

/** e^x of the vector `x` leaves (on the stack). */
export function expV(x: Bytes, t: Temps): Bytes {
  const X = t.v128(), N = t.v128(), R = t.v128();
  return [
    ...x, ...splat(EXP_LO), ...op.f32x4Max, ...splat(EXP_HI), ...op.f32x4Min, ...op.localSet(X),
    ...op.localGet(X), ...splat(LOG2E), ...op.f32x4Mul, ...op.f32x4Nearest, ...op.localSet(N),
    // r = x − n·ln2_hi − n·ln2_lo
    ...op.localGet(X), ...op.localGet(N), ...splat(LN2_HI), ...op.f32x4Mul, ...op.f32x4Sub,
    ...op.localGet(N), ...splat(LN2_LO), ...op.f32x4Mul, ...op.f32x4Sub, ...op.localSet(R),
    // e^r ≈ P(r)·r² + r + 1
    ...horner(R, EXP_P), ...op.localGet(R), ...op.localGet(R), ...op.f32x4Mul, ...op.f32x4Mul,
    ...op.localGet(R), ...op.f32x4Add, ...splat(1), ...op.f32x4Add,
    // · 2^n: (n + 127) << 23 as float bits
    ...op.localGet(N), ...op.i32x4TruncSatF32x4S, ...op.v128ConstI32([127, 127, 127, 127]), ...op.i32x4Add,
    ...op.i32Const(23), ...op.i32x4Shl, ...op.f32x4Mul,
  ];
}

/** tanh of the vector `x`. */
export function tanhV(x: Bytes, t: Temps): Bytes {
  const X = t.v128(), A = t.v128(), Z = t.v128();
  const large = [
    ...splat(1), ...splat(2),
    ...expV([...op.localGet(A), ...op.localGet(A), ...op.f32x4Add], t), ...splat(1), ...op.f32x4Add, ...op.f32x4Div, ...op.f32x4Sub,
    // |tanh| with x's sign bit
    ...op.localGet(X), ...op.v128Const(new Array(4).fill(-0)), ...op.v128And, ...op.v128Or,
  ];
  const small = [
    ...op.localGet(X), ...op.localGet(X), ...op.f32x4Mul, ...op.localSet(Z),
    ...horner(Z, TANH_P), ...op.localGet(Z), ...op.f32x4Mul, ...op.localGet(X), ...op.f32x4Mul, ...op.localGet(X), ...op.f32x4Add,
  ];
  return [
    ...x, ...op.localTee(X), ...op.f32x4Abs, ...op.localSet(A),
    ...large, ...small, ...op.localGet(A), ...splat(0.625), ...op.f32x4Gt, ...op.v128Bitselect,
  ];
}

/** 1 / (1 + e^−x). */
export const sigmoidV = (x: Bytes, t: Temps): Bytes => [...splat(1), ...splat(1), ...expV([...x, ...op.f32x4Neg], t), ...op.f32x4Add, ...op.f32x4Div];

