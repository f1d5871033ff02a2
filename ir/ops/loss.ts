import * as b from '../build.ts';
import { fmtShape, ShapeError } from '../error.ts';
import { tensor, type Tensor } from '../tensor.ts';
import { single, type OpDef } from './types.ts';

/** Numerically stable log-softmax of row `r` of a [N, C] tensor into `out`. */
function logSoftmaxRow(x: Tensor, r: number, c: number, out: Float64Array): void {
  let max = -Infinity;
  for (let j = 0; j < c; j++) max = Math.max(max, x.data[r * c + j]!);
  let s = 0;
  for (let j = 0; j < c; j++) s += Math.exp(x.data[r * c + j]! - max);
  const lse = max + Math.log(s);
  for (let j = 0; j < c; j++) out[r * c + j] = x.data[r * c + j]! - lse;
}

function checkRows(x: { shape: readonly number[]; dtype: string }, what: string): void {
  if (x.shape.length !== 2 || x.dtype === 'i32') throw new ShapeError(`${what} must be a float matrix [N, C], got ${x.dtype}${fmtShape(x.shape)}`);
}

/** log-softmax over the last axis of [N, C]. */
export const logSoftmaxDef: OpDef = {
  arity: 1,
  fusion: 'kernel',
  kinked: false,
  infer([x]) {
    checkRows(x!, 'input');
    return { dtype: x!.dtype, shape: x!.shape };
  },
  evaluate([x], node) {
    const [n, c] = x!.shape as [number, number];
    const out = tensor(node.dtype, node.shape);
    for (let r = 0; r < n; r++) logSoftmaxRow(x!, r, c, out.data);
    return out;
  },
  vjp(node, cot) {
    // dx = g - softmax · rowsum(g), with softmax = exp(y)
    const g = single(cot);
    const rowSum = b.broadcast(b.reshape(b.sum(g, [1]), [node.shape[0]!, 1]), node.shape);
    return [b.sub(g, b.mul(b.exp(node), rowSum))];
  },
};

/** Per-row softmax cross-entropy: logits [N, C], targets i32 [N] -> [N]. */
export const softmaxCEDef: OpDef = {
  arity: 2,
  fusion: 'kernel',
  kinked: false,
  infer([x, t]) {
    checkRows(x!, 'logits');
    if (t!.dtype !== 'i32' || t!.shape.length !== 1 || t!.shape[0] !== x!.shape[0]) {
      throw new ShapeError(`targets must be i32 [${x!.shape[0]}] for logits ${fmtShape(x!.shape)}, got ${t!.dtype}${fmtShape(t!.shape)}`);
    }
    return { dtype: x!.dtype, shape: [x!.shape[0]!] };
  },
  evaluate([x, t], node) {
    const [n, c] = x!.shape as [number, number];
    const lsm = new Float64Array(n * c);
    const out = tensor(node.dtype, node.shape);
    for (let r = 0; r < n; r++) {
      logSoftmaxRow(x!, r, c, lsm);
      const k = t!.data[r]!;
      if (!Number.isInteger(k) || k < 0 || k >= c) throw new RangeError(`softmax_ce: target ${k} out of range [0, ${c})`);
      out.data[r] = -lsm[r * c + k]!;
    }
    return out;
  },
  vjp(node, cot) {
    // dlogits = (softmax - onehot(t)) · g per row
    const [x, t] = node.srcs as [typeof node, typeof node];
    const g = b.broadcast(b.reshape(single(cot), [x.shape[0]!, 1]), x.shape);
    return [b.mul(b.sub(b.exp(b.logSoftmax(x)), b.onehot(t, x.shape[1]!, x.dtype)), g), null];
  },
};
