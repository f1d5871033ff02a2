/**
 * C = A·Bᵀ ([M, K]·[N, K]ᵀ, every operand row-major and contiguous) as a wasm function of three
 * byte addresses, specialized to M, N, K. C is cut into tiles of mr × nr; a tile keeps its mr·nr
 * dot products as f32x4 accumulators in locals (four partial sums each, over k ≡ 0..3 mod 4), reads
 * mr rows of A and nr rows of B four floats at a time, and at the end folds each row's accumulators
 * into one vector of four sums (a 4×4 transpose-add: two shuffles and an add per pair) that is
 * stored at once. Both operands are walked along their contiguous rows, so nothing is packed.
 * Edges are tiles of their own shape (the last M mod mr rows, the last N mod nr columns), the last
 * K mod 4 elements one lane at a time (v128.load32_zero), all unrolled from the bound sizes.
 */
import { I32, V128, lanes32, op, type Bytes, type ValType, type WasmFunction } from './encode.ts';

export interface MatmulShape {
  readonly m: number;
  readonly n: number;
  readonly k: number;
}

/**
 * The tile for a product: rows × columns of C held in registers (x86-64 has 16 vector registers:
 * 2×4 is 8 accumulators, 2 rows of A and a row of B; 3×4 spills a little but reads B a third less
 * often, which pays when B is a weight too large for L2). Measured with bench/kernels.ts.
 */
export function tileOf(s: MatmulShape): { mr: number; nr: number } {
  if (s.m === 1) return { mr: 1, nr: Math.min(8, s.n) };
  if (s.m >= 3 && s.n > s.m && s.n * s.k >= 2 ** 17) return { mr: 3, nr: Math.min(4, s.n) };
  return { mr: Math.min(2, s.m), nr: Math.min(4, s.n) };
}

export const matmulName = (s: MatmulShape) => `mm_${s.m}_${s.n}_${s.k}`;

// parameters a, b, c; then the locals
const A = 0, B = 1, C = 2, AP = 3, BP = 4, CP = 5, CQ = 6, KK = 7, X = 8, Y = 9;
const I32_LOCALS = 7;

/**
 * Which operand the outer loop walks once: the inner loop sweeps the other again for every tile of
 * the outer one. Sweep the smaller operand when it fits in L2 (about 1 MiB here); when neither does,
 * columns outside, since a tile has more columns than rows (nr > mr), so A is swept fewer times
 * than B would be (bench/kernels.ts: 2048×512×2048 ran at 31 GFLOP/s so, 24 the other way).
 */
export function columnsOutsideFor(s: MatmulShape): boolean {
  const a = 4 * s.m * s.k, b = 4 * s.n * s.k;
  return Math.min(a, b) <= 2 ** 20 ? a < b : true;
}

export function matmulFunction(s: MatmulShape, fma: boolean, tile = tileOf(s), columnsOutside = columnsOutsideFor(s)): WasmFunction {
  const { m: M, n: N, k: K } = s;
  const { mr, nr } = tile;
  const maxAcc = mr * nr;
  const ACC = Y + 1, AV = ACC + maxAcc, BV = AV + mr;
  const locals: ValType[] = [...Array<ValType>(I32_LOCALS).fill(I32), ...Array<ValType>(maxAcc + mr + 1).fill(V128)];
  const rowA = 4 * K, rowC = 4 * N;

  const kv = K - (K % 4); // vector steps end here; the rest one lane at a time
  const tileBody = (tr: number, tc: number): Bytes => {
    const acc = (r: number, c: number) => ACC + r * tc + c;
    const out: Bytes = [];
    for (let i = 0; i < tr * tc; i++) out.push(...op.v128Const([0, 0, 0, 0]), ...op.localSet(ACC + i));
    // one step of k: mr + nr loads (whole vectors, or one lane at the K tail), mr·nr multiply-adds
    const kStep = (load: (offset: number) => Bytes, at: number): Bytes => {
      const b: Bytes = [];
      for (let r = 0; r < tr; r++) b.push(...op.localGet(X), ...load(at + r * rowA), ...op.localSet(AV + r));
      for (let c = 0; c < tc; c++) {
        b.push(...op.localGet(Y), ...load(at + c * rowA), ...op.localSet(BV));
        for (let r = 0; r < tr; r++) {
          if (fma) b.push(...op.localGet(AV + r), ...op.localGet(BV), ...op.localGet(acc(r, c)), ...op.f32x4RelaxedMadd);
          else b.push(...op.localGet(acc(r, c)), ...op.localGet(AV + r), ...op.localGet(BV), ...op.f32x4Mul, ...op.f32x4Add);
          b.push(...op.localSet(acc(r, c)));
        }
      }
      return b;
    };
    if (kv > 0) {
      out.push(...op.i32Const(0), ...op.localSet(KK));
      out.push(...op.loop([
        ...op.localGet(AP), ...op.localGet(KK), ...op.i32Add, ...op.localSet(X),
        ...op.localGet(BP), ...op.localGet(KK), ...op.i32Add, ...op.localSet(Y),
        ...kStep(op.v128Load, 0),
        ...op.localGet(KK), ...op.i32Const(16), ...op.i32Add, ...op.localTee(KK), ...op.i32Const(4 * kv), ...op.i32Ne, ...op.brIf(0),
      ]));
    }
    if (kv < K) {
      out.push(...op.localGet(AP), ...op.localSet(X), ...op.localGet(BP), ...op.localSet(Y));
      for (let t = kv; t < K; t++) out.push(...kStep(op.v128Load32Zero, 4 * t));
    }
    // fold each row's accumulators, four columns at a time, into the sums of those columns
    const zero = op.v128Const([0, 0, 0, 0]);
    const get = (r: number, c: number) => (c < tc ? op.localGet(acc(r, c)) : zero);
    for (let r = 0; r < tr; r++) {
      for (let c0 = 0; c0 < tc; c0 += 4) {
        const pair = (c: number): Bytes => [
          ...get(r, c), ...get(r, c + 1), ...op.i8x16Shuffle(lanes32([0, 4, 1, 5])),
          ...get(r, c), ...get(r, c + 1), ...op.i8x16Shuffle(lanes32([2, 6, 3, 7])), ...op.f32x4Add,
        ]; // [s_c (lanes 0+2), s_c+1 (0+2), s_c (1+3), s_c+1 (1+3)]
        const both: Bytes = [
          ...pair(c0), ...op.localSet(AV), ...pair(c0 + 2), ...op.localSet(BV),
          ...op.localGet(AV), ...op.localGet(BV), ...op.i8x16Shuffle(lanes32([0, 1, 4, 5])),
          ...op.localGet(AV), ...op.localGet(BV), ...op.i8x16Shuffle(lanes32([2, 3, 6, 7])), ...op.f32x4Add,
        ];
        const at = r * rowC + 4 * c0;
        if (tc - c0 >= 4) out.push(...op.localGet(CQ), ...both, ...op.v128Store(at));
        else {
          out.push(...both, ...op.localSet(BV));
          for (let c = c0; c < tc; c++) {
            const lane = at + 4 * (c - c0);
            out.push(...op.localGet(CQ), ...op.localGet(BV), ...op.f32x4ExtractLane(c - c0), ...op.f32Store(lane));
          }
        }
      }
    }
    return out;
  };

  /**
   * Tiles tr × tc over rows [i0, i0 + ti·tr) and columns [j0, j0 + tj·tc), the outer loop over the
   * operand columnsOutsideFor picks: with columns outside (the per-step product, where B is a
   * weight much larger than A), the tc rows of B stay in L1 while every row tile of A comes from L2.
   * CQ is the tile's corner in C; CP the start of its row (rows outside) or column (columns outside).
   */
  const region = (i0: number, ti: number, tr: number, j0: number, tj: number, tc: number): Bytes => {
    if (ti === 0 || tj === 0) return [];
    const at = (base: number, bytes: number): Bytes => [...op.localGet(base), ...op.i32Const(bytes), ...op.i32Add];
    const advance = (local: number, bytes: number): Bytes => [...at(local, bytes), ...op.localSet(local)];
    const until = (local: number, base: number, bytes: number): Bytes => [...op.localGet(local), ...at(base, bytes), ...op.i32Ne, ...op.brIf(0)];
    const tile = tileBody(tr, tc);
    if (columnsOutside) {
      return [
        ...at(B, j0 * rowA), ...op.localSet(BP), ...at(C, 4 * j0), ...op.localSet(CP),
        ...op.loop([
          ...at(A, i0 * rowA), ...op.localSet(AP), ...at(CP, i0 * rowC), ...op.localSet(CQ),
          ...op.loop([...tile, ...advance(AP, tr * rowA), ...advance(CQ, tr * rowC), ...until(AP, A, (i0 + ti * tr) * rowA)]),
          ...advance(BP, tc * rowA), ...advance(CP, 4 * tc), ...until(BP, B, (j0 + tj * tc) * rowA),
        ]),
      ];
    }
    return [
      ...at(A, i0 * rowA), ...op.localSet(AP), ...at(C, i0 * rowC), ...op.localSet(CP),
      ...op.loop([
        ...at(B, j0 * rowA), ...op.localSet(BP), ...at(CP, 4 * j0), ...op.localSet(CQ),
        ...op.loop([...tile, ...advance(BP, tc * rowA), ...advance(CQ, 4 * tc), ...until(BP, B, (j0 + tj * tc) * rowA)]),
        ...advance(AP, tr * rowA), ...advance(CP, tr * rowC), ...until(AP, A, (i0 + ti * tr) * rowA),
      ]),
    ];
  };
  const Mt = Math.floor(M / mr), Nt = Math.floor(N / nr), Mr = M % mr, Nr = N % nr;
  const body = [
    ...region(0, Mt, mr, 0, Nt, nr),
    ...region(0, Mt, mr, Nt * nr, Nr ? 1 : 0, Nr),
    ...region(Mt * mr, Mr ? 1 : 0, Mr, 0, Nt, nr),
    ...region(Mt * mr, Mr ? 1 : 0, Mr, Nt * nr, Nr ? 1 : 0, Nr),
  ];
  return { name: matmulName(s), params: [I32, I32, I32], locals, body };
}
