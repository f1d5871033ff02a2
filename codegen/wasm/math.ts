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


const SQRT_HALF = 0.707106781186547524;
const LOG_P = [7.0376836292e-2, -1.151461031e-1, 1.167699874e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1];

/**
 * log of the vector `x`, for finite x > 0 (Cephes' logf): x = m·2^e with m in [√½, √2), then
 * log x = e·ln2 + log m with a polynomial for log(1 + (m − 1)). Used where x ≥ 1 (the softmax's
 * sum of exponentials); zero, negative or non-finite x give a finite wrong value, not NaN.
 */
export function logV(x: Bytes, t: Temps): Bytes {
  const X = t.v128(), E = t.v128(), M = t.v128(), Z = t.v128(), Y = t.v128();
  return [
    ...x, ...op.localSet(X),
    // e = exponent − 126, m = mantissa in [0.5, 1)
    ...op.localGet(X), ...op.i32Const(23), ...op.i32x4ShrU, ...op.v128ConstI32([126, 126, 126, 126]), ...op.i32x4Sub, ...op.f32x4ConvertI32x4S, ...op.localSet(E),
    ...op.localGet(X), ...op.v128ConstI32([0x007fffff, 0x007fffff, 0x007fffff, 0x007fffff]), ...op.v128And, ...op.v128ConstI32([0x3f000000, 0x3f000000, 0x3f000000, 0x3f000000]), ...op.v128Or, ...op.localSet(M),
    // below √½: e − 1 and m + m − 1; else m − 1 (Z holds the mask for a moment)
    ...op.localGet(M), ...splat(SQRT_HALF), ...op.f32x4Lt, ...op.localSet(Z),
    ...op.localGet(E), ...op.localGet(Z), ...splat(1), ...op.v128And, ...op.f32x4Sub, ...op.localSet(E),
    ...op.localGet(M), ...splat(1), ...op.f32x4Sub, ...op.localGet(M), ...op.localGet(Z), ...op.v128And, ...op.f32x4Add, ...op.localSet(M),
    ...op.localGet(M), ...op.localGet(M), ...op.f32x4Mul, ...op.localSet(Z),
    // y = m·z·P(m) + e·ln2_lo − z/2; log = m + y + e·ln2_hi
    ...horner(M, LOG_P), ...op.localGet(M), ...op.f32x4Mul, ...op.localGet(Z), ...op.f32x4Mul,
    ...op.localGet(E), ...splat(LN2_LO), ...op.f32x4Mul, ...op.f32x4Add,
    ...op.localGet(Z), ...splat(0.5), ...op.f32x4Mul, ...op.f32x4Sub, ...op.localSet(Y),
    ...op.localGet(M), ...op.localGet(Y), ...op.f32x4Add, ...op.localGet(E), ...splat(LN2_HI), ...op.f32x4Mul, ...op.f32x4Add,
  ];
}
