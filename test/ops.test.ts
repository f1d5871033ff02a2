/**
 * The op table: one row per op (several for ops with modes) drives the shape rule, the float64
 * reference evaluation against a direct computation, and the gradient check (central differences
 * coordinate by coordinate, and the VJP identity <v, J u> = <Jᵀ v, u> along a random direction).
 * arg, const, scan and proj have their own tests (below, and in scan.test.ts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as b from '../ir/build.ts';
import { RnncError } from '../ir/error.ts';
import { makeGraph } from '../ir/graph.ts';
import { relError, rng } from '../ir/gradcheck.ts';
import { evaluate } from '../ir/interpret.ts';
import { mk, type Node, type Shape } from '../ir/node.ts';
import { UNARY, BINARY, type Op } from '../ir/op.ts';
import { opDefs } from '../ir/ops/registry.ts';
import { differentiate } from '../ir/passes/differentiate.ts';
import { sizeOf, tensor, type Tensor } from '../ir/tensor.ts';
import { verifyGraph } from '../ir/verify.ts';
import { vjpCheck } from './helpers.ts';

type Family = 'unary' | 'binary' | 'linalg' | 'movement' | 'reduce' | 'indexing' | 'loss';

/** An operand: f64 values drawn from `gen`, or i32 indices with fixed values (repeats on purpose). */
interface In {
  readonly shape: Shape;
  readonly ints?: readonly number[];
  /** 'unit': U(-1, 1); 'pos': U(0.5, 2) (log, divisors); 'away': ±U(0.2, 1), clear of relu's kink. */
  readonly gen?: 'unit' | 'pos' | 'away';
}

interface Row {
  readonly name: string;
  readonly op: Op;
  readonly family: Family;
  readonly ins: readonly In[];
  readonly make: (xs: readonly Node[]) => Node;
  readonly shape: Shape;
  /** The result computed directly, with plain loops over the flat row-major operands. */
  readonly ref: (xs: readonly Float64Array[]) => ArrayLike<number>;
  /** 'check' (default): finite differences + VJP identity; 'zero': the gradient is exactly zero; 'none': no float operand. */
  readonly grad?: 'check' | 'zero' | 'none';
}

type Ref = Row['ref'];
const map1 = (f: (x: number) => number): Ref => ([x]) => Array.from(x!, f);
const map2 = (f: (x: number, y: number) => number): Ref => ([x, y]) => Array.from(x!, (v, i) => f(v, y![i]!));
const f64 = (shape: Shape): In => ({ shape });

/** Row-major transpose of an [r, c] matrix. */
function transpose(a: Float64Array, r: number, c: number): Float64Array {
  const t = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = a[i * c + j]!;
  return t;
}

/** op(A) op(B) for A, B stored as given: transpose explicitly, then the textbook triple loop. */
function matmulRow(transA: boolean, transB: boolean): Row {
  const [m, k, n] = [2, 3, 4];
  return {
    name: `matmul${transA ? ' transA' : ''}${transB ? ' transB' : ''}`, op: 'matmul', family: 'linalg',
    ins: [f64(transA ? [k, m] : [m, k]), f64(transB ? [n, k] : [k, n])],
    make: ([a, c]) => mk('matmul', [a!, c!], { transA, transB }),
    shape: [m, n],
    ref: ([a, c]) => {
      const A = transA ? transpose(a!, k, m) : a!, B = transB ? transpose(c!, n, k) : c!;
      const out = new Float64Array(m * n);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) out[i * n + j] += A[i * k + p]! * B[p * n + j]!;
      return out;
    },
  };
}

function logSoftmaxRef(x: Float64Array, n: number, c: number): Float64Array {
  const out = new Float64Array(n * c);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let j = 0; j < c; j++) s += Math.exp(x[r * c + j]!);
    for (let j = 0; j < c; j++) out[r * c + j] = x[r * c + j]! - Math.log(s);
  }
  return out;
}

const GATHER_IDX = [1, 3, 1, 0, 4, 1];
const SCATTER_IDX = [2, 0, 2, 2, 4, 0];
const TARGETS = [4, 0, 2];

const rows: readonly Row[] = [
  // ── unary, on [2, 3]
  { name: 'neg', op: 'neg', family: 'unary', ins: [f64([2, 3])], make: ([x]) => mk('neg', [x!]), shape: [2, 3], ref: map1((x) => -x) },
  { name: 'exp', op: 'exp', family: 'unary', ins: [f64([2, 3])], make: ([x]) => mk('exp', [x!]), shape: [2, 3], ref: map1(Math.exp) },
  { name: 'log', op: 'log', family: 'unary', ins: [{ shape: [2, 3], gen: 'pos' }], make: ([x]) => mk('log', [x!]), shape: [2, 3], ref: map1(Math.log) },
  { name: 'tanh', op: 'tanh', family: 'unary', ins: [f64([2, 3])], make: ([x]) => mk('tanh', [x!]), shape: [2, 3], ref: map1((x) => (Math.exp(x) - Math.exp(-x)) / (Math.exp(x) + Math.exp(-x))) },
  { name: 'sigmoid', op: 'sigmoid', family: 'unary', ins: [{ shape: [2, 3], gen: 'unit' }], make: ([x]) => mk('sigmoid', [x!]), shape: [2, 3], ref: map1((x) => 1 / (1 + Math.exp(-x))) },
  { name: 'relu', op: 'relu', family: 'unary', ins: [{ shape: [2, 3], gen: 'away' }], make: ([x]) => mk('relu', [x!]), shape: [2, 3], ref: map1((x) => Math.max(x, 0)) },
  { name: 'relu_deriv', op: 'relu_deriv', family: 'unary', ins: [{ shape: [2, 3], gen: 'away' }], make: ([x]) => mk('relu_deriv', [x!]), shape: [2, 3], ref: map1((x) => (x > 0 ? 1 : 0)) },
  { name: 'stop_gradient', op: 'stop_gradient', family: 'unary', ins: [f64([2, 3])], make: ([x]) => mk('stop_gradient', [x!]), shape: [2, 3], ref: map1((x) => x), grad: 'zero' },

  // ── binary, on equal shapes [2, 3]
  { name: 'add', op: 'add', family: 'binary', ins: [f64([2, 3]), f64([2, 3])], make: ([x, y]) => mk('add', [x!, y!]), shape: [2, 3], ref: map2((x, y) => x + y) },
  { name: 'sub', op: 'sub', family: 'binary', ins: [f64([2, 3]), f64([2, 3])], make: ([x, y]) => mk('sub', [x!, y!]), shape: [2, 3], ref: map2((x, y) => x - y) },
  { name: 'mul', op: 'mul', family: 'binary', ins: [f64([2, 3]), f64([2, 3])], make: ([x, y]) => mk('mul', [x!, y!]), shape: [2, 3], ref: map2((x, y) => x * y) },
  { name: 'div', op: 'div', family: 'binary', ins: [f64([2, 3]), { shape: [2, 3], gen: 'pos' }], make: ([x, y]) => mk('div', [x!, y!]), shape: [2, 3], ref: map2((x, y) => x / y) },
  { name: 'sqerr', op: 'sqerr', family: 'binary', ins: [f64([2, 3]), f64([2, 3])], make: ([x, y]) => mk('sqerr', [x!, y!]), shape: [2, 3], ref: map2((x, y) => (x - y) ** 2) },
  // ── ternary: the mask clear of 0 (a ±U(0.2, 1) draw picks some of each), so its own gradient is 0
  {
    name: 'where', op: 'where', family: 'binary', ins: [{ shape: [2, 3], gen: 'away' }, f64([2, 3]), f64([2, 3])],
    make: ([c, x, y]) => mk('where', [c!, x!, y!]), shape: [2, 3], ref: ([c, x, y]) => Array.from(c!, (v, i) => (v > 0 ? x![i]! : y![i]!)),
  },

  // ── matrix product, all four transpose flags
  matmulRow(false, false),
  matmulRow(true, false),
  matmulRow(false, true),
  matmulRow(true, true),

  // ── movement
  {
    name: 'broadcast leading axis [3] -> [2, 3]', op: 'broadcast', family: 'movement', ins: [f64([3])],
    make: ([x]) => mk('broadcast', [x!], { shape: [2, 3] }), shape: [2, 3],
    ref: ([x]) => { const o: number[] = []; for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) o.push(x![j]!); return o; },
  },
  {
    name: 'broadcast size-1 axis [2, 1] -> [2, 3]', op: 'broadcast', family: 'movement', ins: [f64([2, 1])],
    make: ([x]) => mk('broadcast', [x!], { shape: [2, 3] }), shape: [2, 3],
    ref: ([x]) => { const o: number[] = []; for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) o.push(x![i]!); return o; },
  },
  {
    name: 'broadcast both [1, 3] -> [4, 2, 3]', op: 'broadcast', family: 'movement', ins: [f64([1, 3])],
    make: ([x]) => mk('broadcast', [x!], { shape: [4, 2, 3] }), shape: [4, 2, 3],
    ref: ([x]) => { const o: number[] = []; for (let a = 0; a < 4; a++) for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) o.push(x![j]!); return o; },
  },
  {
    name: 'broadcast scalar [] -> [2, 3]', op: 'broadcast', family: 'movement', ins: [f64([])],
    make: ([x]) => mk('broadcast', [x!], { shape: [2, 3] }), shape: [2, 3], ref: ([x]) => new Array<number>(6).fill(x![0]!),
  },
  { name: 'reshape [2, 3] -> [3, 2]', op: 'reshape', family: 'movement', ins: [f64([2, 3])], make: ([x]) => mk('reshape', [x!], { shape: [3, 2] }), shape: [3, 2], ref: ([x]) => x! },
  {
    name: 'transpose [2, 3] -> [3, 2]', op: 'transpose', family: 'movement', ins: [f64([2, 3])], make: ([x]) => mk('transpose', [x!]), shape: [3, 2],
    ref: ([x]) => { const o: number[] = []; for (let j = 0; j < 3; j++) for (let i = 0; i < 2; i++) o.push(x![i * 3 + j]!); return o; },
  },
  { name: 'reshape [6] -> [1, 2, 3]', op: 'reshape', family: 'movement', ins: [f64([6])], make: ([x]) => mk('reshape', [x!], { shape: [1, 2, 3] }), shape: [1, 2, 3], ref: ([x]) => x! },
  {
    name: 'slice axis 1 [1, 4) of [3, 5]', op: 'slice', family: 'movement', ins: [f64([3, 5])],
    make: ([x]) => mk('slice', [x!], { axis: 1, start: 1, end: 4 }), shape: [3, 3],
    ref: ([x]) => { const o: number[] = []; for (let i = 0; i < 3; i++) for (let j = 1; j < 4; j++) o.push(x![i * 5 + j]!); return o; },
  },
  {
    name: 'slice axis 0 [1, 3) of [3, 2]', op: 'slice', family: 'movement', ins: [f64([3, 2])],
    make: ([x]) => mk('slice', [x!], { axis: 0, start: 1, end: 3 }), shape: [2, 2],
    ref: ([x]) => { const o: number[] = []; for (let i = 1; i < 3; i++) for (let j = 0; j < 2; j++) o.push(x![i * 2 + j]!); return o; },
  },
  {
    name: 'pad axis 1 (1, 2) of [2, 3]', op: 'pad', family: 'movement', ins: [f64([2, 3])],
    make: ([x]) => mk('pad', [x!], { axis: 1, before: 1, after: 2 }), shape: [2, 6],
    ref: ([x]) => { const o = new Float64Array(12); for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) o[i * 6 + j + 1] = x![i * 3 + j]!; return o; },
  },
  {
    name: 'pad axis 0 (2, 0) of [2, 3]', op: 'pad', family: 'movement', ins: [f64([2, 3])],
    make: ([x]) => mk('pad', [x!], { axis: 0, before: 2, after: 0 }), shape: [4, 3],
    ref: ([x]) => { const o = new Float64Array(12); for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) o[(i + 2) * 3 + j] = x![i * 3 + j]!; return o; },
  },
  {
    name: 'concat axis 1 of [2, 1], [2, 3], [2, 2]', op: 'concat', family: 'movement', ins: [f64([2, 1]), f64([2, 3]), f64([2, 2])],
    make: (xs) => mk('concat', xs, { axis: 1 }), shape: [2, 6],
    ref: ([p, q, r]) => {
      const o: number[] = [];
      for (let i = 0; i < 2; i++) o.push(p![i]!, q![i * 3]!, q![i * 3 + 1]!, q![i * 3 + 2]!, r![i * 2]!, r![i * 2 + 1]!);
      return o;
    },
  },
  { name: 'concat axis 0 of [1, 3], [2, 3]', op: 'concat', family: 'movement', ins: [f64([1, 3]), f64([2, 3])], make: (xs) => mk('concat', xs, { axis: 0 }), shape: [3, 3], ref: ([p, q]) => [...p!, ...q!] },

  // ── reduction
  {
    name: 'sum axes [0, 2] of [2, 3, 4]', op: 'sum', family: 'reduce', ins: [f64([2, 3, 4])],
    make: ([x]) => mk('sum', [x!], { axes: [0, 2] }), shape: [3],
    ref: ([x]) => { const o = new Float64Array(3); for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) o[j] += x![i * 12 + j * 4 + k]!; return o; },
  },
  {
    name: 'sum axis [1] of [2, 3, 4]', op: 'sum', family: 'reduce', ins: [f64([2, 3, 4])],
    make: ([x]) => mk('sum', [x!], { axes: [1] }), shape: [2, 4],
    ref: ([x]) => { const o = new Float64Array(8); for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) o[i * 4 + k] += x![i * 12 + j * 4 + k]!; return o; },
  },
  {
    name: 'sum all axes of [2, 3, 4]', op: 'sum', family: 'reduce', ins: [f64([2, 3, 4])],
    make: ([x]) => mk('sum', [x!], { axes: [0, 1, 2] }), shape: [],
    ref: ([x]) => [x!.reduce((s, v) => s + v, 0)],
  },

  // ── indexing (fixed indices with repeats, so gradients accumulate)
  {
    name: 'gather [5, 3] rows 1,3,1,0,4,1', op: 'gather', family: 'indexing', ins: [f64([5, 3]), { shape: [6], ints: GATHER_IDX }],
    make: ([t, i]) => mk('gather', [t!, i!]), shape: [6, 3],
    ref: ([t]) => GATHER_IDX.flatMap((r) => [t![r * 3]!, t![r * 3 + 1]!, t![r * 3 + 2]!]),
  },
  {
    name: 'scatter_add [6, 3] into 5 rows at 2,0,2,2,4,0', op: 'scatter_add', family: 'indexing', ins: [{ shape: [6], ints: SCATTER_IDX }, f64([6, 3])],
    make: ([i, v]) => mk('scatter_add', [i!, v!], { rows: 5 }), shape: [5, 3],
    ref: ([, v]) => { const o = new Float64Array(15); SCATTER_IDX.forEach((r, n) => { for (let j = 0; j < 3; j++) o[r * 3 + j] += v![n * 3 + j]!; }); return o; },
  },
  {
    name: 'onehot 2,0,3,2 depth 4', op: 'onehot', family: 'indexing', ins: [{ shape: [4], ints: [2, 0, 3, 2] }],
    make: ([i]) => mk('onehot', [i!], { depth: 4, dtype: 'f64' }), shape: [4, 4], grad: 'none',
    ref: () => [0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0],
  },

  // ── losses
  { name: 'log_softmax [3, 5]', op: 'log_softmax', family: 'loss', ins: [f64([3, 5])], make: ([x]) => mk('log_softmax', [x!]), shape: [3, 5], ref: ([x]) => logSoftmaxRef(x!, 3, 5) },
  {
    name: 'softmax_ce [3, 5] targets 4,0,2', op: 'softmax_ce', family: 'loss', ins: [f64([3, 5]), { shape: [3], ints: TARGETS }],
    make: ([x, t]) => mk('softmax_ce', [x!, t!]), shape: [3],
    ref: ([x]) => { const l = logSoftmaxRef(x!, 3, 5); return TARGETS.map((k, r) => -l[r * 5 + k]!); },
  },
];

// ── building and checking one row

function fill(spec: In, seed: number): Tensor {
  if (spec.ints) return tensor('i32', spec.shape, spec.ints);
  const rand = rng(seed);
  const t = tensor('f64', spec.shape);
  for (let i = 0; i < t.data.length; i++) {
    const r = rand();
    t.data[i] = spec.gen === 'pos' ? 0.5 + 1.5 * r : spec.gen === 'away' ? (rand() < 0.5 ? -1 : 1) * (0.2 + 0.8 * r) : 2 * r - 1;
  }
  return t;
}

function setup(row: Row, seed: number) {
  const args = row.ins.map((s, i) => b.arg(`in${i}`, s.ints ? 'i32' : 'f64', s.shape, 'input'));
  const y = row.make(args);
  const g = makeGraph(args, { y });
  const env: Record<string, Tensor> = {};
  row.ins.forEach((s, i) => (env[`in${i}`] = fill(s, seed + 101 * i)));
  const wrt = row.ins.flatMap((s, i) => (s.ints ? [] : [`in${i}`]));
  return { y, g, env, wrt };
}


const EPS = 1e-5;
const TOL = 1e-6;
const worstByFamily = new Map<Family, { err: number; row: string }>();

function record(row: Row, err: number): void {
  const w = worstByFamily.get(row.family);
  if (!w || err > w.err) worstByFamily.set(row.family, { err, row: row.name });
}

describe('op table', () => {
  it('covers every op in the registry (arg, const, scan, proj have their own tests)', () => {
    const own: Op[] = ['arg', 'const', 'scan', 'proj'];
    expect([...new Set([...rows.map((r) => r.op), ...own])].sort()).toEqual(Object.keys(opDefs).sort());
    expect(new Set(rows.map((r) => r.name)).size).toBe(rows.length);
  });

  describe.each(rows.map((r) => [r.name, r] as const))('%s', (_, row) => {
    it('shape rule gives the result type', () => {
      const { y } = setup(row, 1);
      expect(y.op).toBe(row.op);
      expect(y.shape).toEqual(row.shape);
      expect(y.dtype).toBe('f64');
    });

    it('float64 evaluation matches a direct computation', () => {
      const { g, env } = setup(row, 2);
      const out = evaluate(g, env).y!;
      expect(out.shape).toEqual(row.shape);
      const want = row.ref(row.ins.map((_, i) => env[`in${i}`]!.data));
      expect(out.data.length).toBe(sizeOf(row.shape));
      for (let i = 0; i < want.length; i++) expect(relError(out.data[i]!, want[i]!, 1), `element ${i}`).toBeLessThan(1e-13);
    });

    if (row.grad === 'none') {
      it('has no float operand to differentiate', () => {
        const { wrt } = setup(row, 3);
        expect(wrt).toEqual([]);
      });
      return;
    }

    it(row.grad === 'zero' ? 'gradient is exactly zero' : 'gradcheck: central differences and <v, J u> = <Jᵀ v, u>', () => {
      const { g, env, wrt } = setup(row, 3);
      if (row.grad === 'zero') {
        const d = differentiate(g, { cotangents: ['y'], wrt });
        verifyGraph(d);
        const rand = rng(4);
        const yShape = g.outputs.y!.shape;
        const v = tensor('f64', yShape, Array.from({ length: sizeOf(yShape) }, () => 2 * rand() - 1));
        const jtv = evaluate(d, { ...env, cot_y: v });
        for (const name of wrt) {
          expect(d.outputs[`grad_${name}`]!.op).toBe('const'); // a symbolic zero, materialised at the output
          expect([...jtv[`grad_${name}`]!.data].every((x) => x === 0)).toBe(true);
        }
        return;
      }

      // central differences of <v, f> coordinate by coordinate, and <v, J u> = <Jᵀ v, u>
      const worst = vjpCheck(g, ['y'], wrt, env, 4, EPS);
      record(row, worst);
      expect(worst).toBeLessThan(TOL);
    });
  });

  afterAll(() => {
    const lines = [...worstByFamily].map(([f, w]) => `  ${f.padEnd(9)} ${w.err.toExponential(2)}  (${w.row})`);
    console.log(`largest gradcheck relative error per op family:\n${lines.join('\n')}`);
  });
});

// ── bad operands: the node factory throws an RnncError naming the op and the shapes

interface Bad {
  readonly op: Op;
  readonly make: () => Node;
  readonly mentions: readonly string[];
}
const fa = (shape: Shape, name = 'p') => b.arg(name, 'f64', shape, 'input');
const ia = (shape: Shape) => b.arg('i', 'i32', shape, 'input');

const bad: readonly Bad[] = [
  ...UNARY.map((op): Bad => ({ op, make: () => mk(op, [ia([3])]), mentions: ['integer', '[3]'] })),
  ...BINARY.map((op): Bad => ({ op, make: () => mk(op, [fa([2, 3]), fa([3, 2], 'q')]), mentions: ['[2, 3]', '[3, 2]'] })),
  { op: 'add', make: () => mk('add', [fa([3]), ia([3])]), mentions: ['f64', 'i32'] },
  { op: 'where', make: () => mk('where', [fa([2, 3]), fa([2, 3], 'q'), fa([3, 2], 'r')]), mentions: ['[2, 3]', '[3, 2]'] },
  { op: 'where', make: () => mk('where', [ia([3]), fa([3]), fa([3], 'q')]), mentions: ['i32', 'f64'] },
  { op: 'matmul', make: () => mk('matmul', [fa([2, 3]), fa([4, 2], 'q')], { transA: false, transB: false }), mentions: ['[2, 3]', '[4, 2]'] },
  { op: 'matmul', make: () => mk('matmul', [fa([2, 3]), fa([4, 2], 'q')], { transA: false, transB: true }), mentions: ['[2, 3]', '[4, 2]ᵀ'] },
  { op: 'matmul', make: () => mk('matmul', [fa([3]), fa([3, 2], 'q')], { transA: false, transB: false }), mentions: ['matrices', '[3]', '[3, 2]'] },
  { op: 'broadcast', make: () => mk('broadcast', [fa([2, 3])], { shape: [3, 3] }), mentions: ['[2, 3]', '[3, 3]'] },
  { op: 'broadcast', make: () => mk('broadcast', [fa([2, 3])], { shape: [3] }), mentions: ['[2, 3]', '[3]'] },
  { op: 'reshape', make: () => mk('reshape', [fa([2, 3])], { shape: [4, 2] }), mentions: ['[2, 3]', '[4, 2]'] },
  { op: 'transpose', make: () => mk('transpose', [fa([2, 3, 4])]), mentions: ['matrix', '[2, 3, 4]'] },
  { op: 'sum', make: () => mk('sum', [fa([2, 3])], { axes: [2] }), mentions: ['axis 2', '[2, 3]'] },
  { op: 'slice', make: () => mk('slice', [fa([3, 5])], { axis: 1, start: 2, end: 6 }), mentions: ['[2, 6)', '[3, 5]'] },
  { op: 'pad', make: () => mk('pad', [fa([2, 3])], { axis: 2, before: 1, after: 0 }), mentions: ['axis 2', '[2, 3]'] },
  { op: 'concat', make: () => mk('concat', [fa([2, 3]), fa([3, 3], 'q')], { axis: 1 }), mentions: ['[2, 3]', '[3, 3]', 'axis 1'] },
  { op: 'gather', make: () => mk('gather', [fa([5, 3]), fa([6], 'q')]), mentions: ['indices', 'f64[6]'] },
  { op: 'gather', make: () => mk('gather', [ia([5, 3]), ia([6])]), mentions: ['table', 'i32[5, 3]'] },
  { op: 'scatter_add', make: () => mk('scatter_add', [ia([6]), fa([5, 3])], { rows: 5 }), mentions: ['[5, 3]', '[6]'] },
  { op: 'onehot', make: () => mk('onehot', [ia([2, 2])], { depth: 3, dtype: 'f64' }), mentions: ['i32[2, 2]'] },
  { op: 'log_softmax', make: () => mk('log_softmax', [fa([3])]), mentions: ['f64[3]'] },
  { op: 'softmax_ce', make: () => mk('softmax_ce', [fa([3, 5]), ia([2])]), mentions: ['[3, 5]', 'i32[2]'] },
];

describe('bad operands', () => {
  it('every op of the table has at least one bad-operand case', () => {
    expect(new Set(bad.map((c) => c.op))).toEqual(new Set(rows.map((r) => r.op)));
  });

  it.each(bad.map((c) => [`${c.op}: ${c.mentions.join(' ')}`, c] as const))('%s', (_, c) => {
    let err: unknown;
    try {
      c.make();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RnncError);
    const msg = (err as Error).message;
    expect(msg.startsWith(`${c.op}: `), msg).toBe(true);
    for (const m of c.mentions) expect(msg).toContain(m);
  });
});

// ── the leaves

describe('arg and const', () => {
  it('arg: typed by its attributes, evaluates to the bound value', () => {
    const a = b.arg('a', 'f64', [2, 2], 'input');
    expect([a.op, a.dtype, a.shape]).toEqual(['arg', 'f64', [2, 2]]);
    const t = tensor('f64', [2, 2], [1, 2, 3, 4]);
    expect([...evaluate(makeGraph([a], { a }), { a: t }).a!.data]).toEqual([1, 2, 3, 4]);
    expect(() => evaluate(makeGraph([a], { a }), {})).toThrow(/no value for input 'a' f64\[2, 2\]/);
  });

  it('const: fills its shape with its value; no gradient flows from it', () => {
    const c = b.constant(2.5, [3], 'f64');
    expect([c.op, c.dtype, c.shape]).toEqual(['const', 'f64', [3]]);
    expect([...evaluate(makeGraph([], { c }), {}).c!.data]).toEqual([2.5, 2.5, 2.5]);
    const x = b.arg('x', 'f64', [3], 'input');
    const loss = b.sumAll(b.mul(x, c));
    const d = differentiate(makeGraph([x], { loss }), { loss: 'loss', wrt: ['x'] });
    expect([...evaluate(d, { x: tensor('f64', [3], [1, 2, 3]) }).grad_x!.data]).toEqual([2.5, 2.5, 2.5]);
  });

  it.each([
    ['arg', () => b.arg('z', 'f64', [2, 0], 'input'), '[2, 0]'],
    ['arg', () => b.arg('z', 'f64', [1.5], 'input'), '[1.5]'],
    ['const', () => b.constant(1, [-1, 2]), '[-1, 2]'],
  ] as const)('%s with a bad shape %#', (op, make, shape) => {
    expect(make).toThrow(RnncError);
    expect(make).toThrow(`${op}: bad shape ${shape}`);
  });
});
