/**
 * A fused elementwise kernel of the schedule as a wasm function over f32x4: the kernel's index
 * space with its mergeable axes merged (as one flat loop where every access is contiguous), the
 * innermost axis four elements at a time and its last n mod 4 one lane at a time, every value as a
 * vector (a contiguous access a v128 load, a broadcast a splat), exp/tanh/sigmoid from math.ts.
 * The function's parameters are the integer variables its offsets use (`start`, `t0`…) and its
 * float scalars; each access's address is computed from them once, on entry. A one-hot compares
 * class ids (i32 lanes, copied into the memory) with each lane's class coordinate. A kernel this
 * cannot express (a log; a strided innermost access; an op it does not know) returns null, and
 * stays the TS target's loop over views of the same memory.
 */
import type { ElementwiseKernel, Expr, Access } from '../schedule/types.ts';
import { F32, I32, V128, op, type Bytes, type ValType, type WasmFunction } from './encode.ts';
import { expV, sigmoidV, tanhV, type Temps } from './math.ts';

export interface ElementwiseCall {
  readonly fn: WasmFunction;
  /** The call's arguments in order: the names of the integer variables, then of the float scalars. */
  readonly args: readonly string[];
}

/** Merge axis d into d + 1 where every access steps over the inner axis exactly: (shape, strides) of the merged space. */
function mergeAxes(shape: readonly number[], accesses: readonly { readonly strides: readonly number[] }[]): { shape: number[]; strides: number[][] } {
  let dims = shape.length ? [...shape] : [1];
  let strides = accesses.map((a) => (shape.length ? [...a.strides] : [0]));
  for (let d = dims.length - 2; d >= 0; d--) {
    if (strides.every((s) => s[d] === s[d + 1]! * dims[d + 1]!)) {
      dims = [...dims.slice(0, d), dims[d]! * dims[d + 1]!, ...dims.slice(d + 2)];
      strides = strides.map((s) => [...s.slice(0, d), s[d + 1]!, ...s.slice(d + 2)]);
    }
  }
  return { shape: dims, strides };
}

const SUPPORTED = new Set(['load', 'onehot', 'literal', 'scalar', 'local', 'neg', 'exp', 'tanh', 'sigmoid', 'relu', 'relu_deriv', 'stop_gradient', 'add', 'sub', 'mul', 'div', 'sqerr']);

function exprs(e: Expr, out: Expr[] = []): Expr[] {
  out.push(e);
  if ('a' in e) exprs(e.a, out);
  if ('b' in e) exprs(e.b, out);
  return out;
}

/**
 * The kernel as a wasm function named `name`, or null where it cannot be one. `base` gives a float
 * buffer's element offset in the memory (undefined: not in the memory).
 */
export function elementwiseFunction(k: ElementwiseKernel, name: string, base: (buf: string) => number | undefined): ElementwiseCall | null {
  const all = [...k.locals.flatMap((e) => exprs(e)), ...k.stores.flatMap((s) => exprs(s.value))];
  if (!all.every((e) => SUPPORTED.has(e.op))) return null;
  // loads (a one-hot's class ids too, 32-bit integers in the same memory), then stores
  const accesses: Access[] = [];
  for (const e of all) if (e.op === 'load') accesses.push(e.access);
  else if (e.op === 'onehot') accesses.push(e.index);
  accesses.push(...k.stores.map((s) => s.to));
  if (!accesses.every((a) => base(a.buf) !== undefined)) return null;
  // a one-hot's class coordinate merges with the axes too (its strides after the accesses')
  const classes = all.flatMap((e) => (e.op === 'onehot' ? [e.cls] : []));
  const mergedAll = mergeAxes(k.shape, [...accesses, ...classes]);
  const merged = { shape: mergedAll.shape, strides: mergedAll.strides.slice(0, accesses.length) };
  const classStrides = (cls: (typeof classes)[number]) => mergedAll.strides[accesses.length + classes.indexOf(cls)]!;
  const rank = merged.shape.length, inner = merged.shape[rank - 1]!;
  // the innermost axis: contiguous or broadcast for loads, contiguous for stores
  if (!merged.strides.every((s, i) => s[rank - 1] === 1 || (s[rank - 1] === 0 && i < accesses.length - k.stores.length))) return null;

  const vars = [...new Set(accesses.flatMap((a) => a.off.terms.map(([v]) => v)))].sort();
  const scalars = [...new Set(all.flatMap((e) => (e.op === 'scalar' ? [e.name] : [])))].sort();
  const params: ValType[] = [...vars.map((): ValType => I32), ...scalars.map((): ValType => F32)];
  const locals: ValType[] = [];
  const local = (t: ValType) => (locals.push(t), params.length + locals.length - 1);
  const temps: Temps = { v128: () => local(V128) };

  // one address per distinct access (buffer and offset), and its row address inside the outer loops
  const keyOf = (a: Access) => `${a.buf}|${a.off.c}|${a.off.terms.join(';')}|${merged.strides[accesses.indexOf(a)]!.join(',')}`;
  const slots = new Map<string, { address: number; row: number; strides: number[]; access: Access }>();
  accesses.forEach((a, i) => {
    const key = keyOf(a);
    if (!slots.has(key)) slots.set(key, { address: local(I32), row: -1, strides: merged.strides[i]!, access: a });
  });
  const counters = merged.shape.slice(0, -1).map(() => local(I32));
  const J = local(I32); // the innermost position, in bytes
  for (const s of slots.values()) s.row = s.strides.slice(0, -1).some((x) => x !== 0) ? local(I32) : s.address;

  const entry: Bytes = [];
  for (const s of slots.values()) {
    entry.push(...op.i32Const(4 * (base(s.access.buf)! + s.access.off.c)));
    for (const [v, c] of s.access.off.terms) entry.push(...op.localGet(vars.indexOf(v)), ...op.i32Const(4 * c), ...op.i32Mul, ...op.i32Add);
    entry.push(...op.localSet(s.address));
  }
  const rows: Bytes = [];
  for (const s of slots.values()) {
    if (s.row === s.address) continue;
    rows.push(...op.localGet(s.address));
    s.strides.slice(0, -1).forEach((x, d) => x !== 0 && rows.push(...op.localGet(counters[d]!), ...op.i32Const(4 * x), ...op.i32Mul, ...op.i32Add));
    rows.push(...op.localSet(s.row));
  }

  const valueLocals = k.locals.map(() => local(V128));
  /** The element body: `lane` true for one element (the tail), false for four. */
  const body = (lane: boolean): Bytes => {
    const load = (a: Access): Bytes => {
      const s = slots.get(keyOf(a))!;
      if (s.strides[rank - 1] === 0) return [...op.localGet(s.row), ...op.v128Load32Splat()];
      return [...op.localGet(s.row), ...op.localGet(J), ...op.i32Add, ...(lane ? op.v128Load32Zero() : op.v128Load())];
    };
    const expr = (e: Expr): Bytes => {
      switch (e.op) {
        case 'load': return load(e.access);
        case 'onehot': {
          // 1 where the class id equals the lane's class coordinate off + Σ counter·stride + j·stride
          const st = classStrides(e.cls), last = st[rank - 1]!;
          const coordinate: Bytes = [...op.i32Const(e.cls.off)];
          st.slice(0, -1).forEach((x, d) => x !== 0 && coordinate.push(...op.localGet(counters[d]!), ...op.i32Const(x), ...op.i32Mul, ...op.i32Add));
          if (last !== 0) coordinate.push(...op.localGet(J), ...op.i32Const(2), ...op.i32ShrU, ...op.i32Const(last), ...op.i32Mul, ...op.i32Add);
          return [
            ...load(e.index), ...coordinate, ...op.i32x4Splat, ...op.v128ConstI32([0, last, 2 * last, 3 * last]), ...op.i32x4Add, ...op.i32x4Eq,
            ...op.v128Const([1, 1, 1, 1]), ...op.v128And,
          ];
        }
        case 'literal': return op.v128Const([e.value, e.value, e.value, e.value]);
        case 'scalar': return [...op.localGet(vars.length + scalars.indexOf(e.name)), ...op.f32x4Splat];
        case 'local': return op.localGet(valueLocals[e.id]!);
        case 'neg': return [...expr(e.a), ...op.f32x4Neg];
        case 'stop_gradient': return expr(e.a);
        case 'exp': return expV(expr(e.a), temps);
        case 'tanh': return tanhV(expr(e.a), temps);
        case 'sigmoid': return sigmoidV(expr(e.a), temps);
        case 'relu': return [...expr(e.a), ...op.v128Const([0, 0, 0, 0]), ...op.f32x4Max];
        case 'relu_deriv': return [...expr(e.a), ...op.v128Const([0, 0, 0, 0]), ...op.f32x4Gt, ...op.v128Const([1, 1, 1, 1]), ...op.v128And];
        case 'add': return [...expr(e.a), ...expr(e.b), ...op.f32x4Add];
        case 'sub': return [...expr(e.a), ...expr(e.b), ...op.f32x4Sub];
        case 'mul': return [...expr(e.a), ...expr(e.b), ...op.f32x4Mul];
        case 'div': return [...expr(e.a), ...expr(e.b), ...op.f32x4Div];
        case 'sqerr': {
          const d = temps.v128();
          return [...expr(e.a), ...expr(e.b), ...op.f32x4Sub, ...op.localTee(d), ...op.localGet(d), ...op.f32x4Mul];
        }
        default: throw new Error(`internal error: wasm elementwise op ${e.op}`);
      }
    };
    const out: Bytes = [];
    k.locals.forEach((e, i) => out.push(...expr(e), ...op.localSet(valueLocals[i]!)));
    for (const st of k.stores) {
      const s = slots.get(keyOf(st.to))!;
      out.push(...op.localGet(s.row), ...op.localGet(J), ...op.i32Add, ...expr(st.value), ...(lane ? op.v128Store32Lane(0) : op.v128Store()));
    }
    return out;
  };

  const n4 = inner - (inner % 4);
  const innerLoop: Bytes = [...rows];
  if (n4 > 0) {
    innerLoop.push(...op.i32Const(0), ...op.localSet(J));
    innerLoop.push(...op.loop([...body(false), ...op.localGet(J), ...op.i32Const(16), ...op.i32Add, ...op.localTee(J), ...op.i32Const(4 * n4), ...op.i32Ne, ...op.brIf(0)]));
  }
  if (n4 < inner) {
    const tail = body(true);
    for (let e = n4; e < inner; e++) innerLoop.push(...op.i32Const(4 * e), ...op.localSet(J), ...tail);
  }
  // the outer axes, outermost first, as counted loops around the innermost one
  let code = innerLoop;
  for (let d = rank - 2; d >= 0; d--) {
    const c = counters[d]!;
    code = [...op.i32Const(0), ...op.localSet(c), ...op.loop([...code, ...op.localGet(c), ...op.i32Const(1), ...op.i32Add, ...op.localTee(c), ...op.i32Const(merged.shape[d]!), ...op.i32Ne, ...op.brIf(0)])];
  }
  return { fn: { name, params, locals, body: [...entry, ...code] }, args: [...vars, ...scalars] };
}
