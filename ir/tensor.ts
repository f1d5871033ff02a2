import type { DType, Shape } from './node.ts';

/** A value in the reference interpreter: always float64 storage (i32 values are exact there). */
export interface Tensor {
  readonly dtype: DType;
  readonly shape: Shape;
  readonly data: Float64Array;
}

export function sizeOf(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function tensor(dtype: DType, shape: Shape, data?: ArrayLike<number>): Tensor {
  const d = new Float64Array(sizeOf(shape));
  if (data) {
    if (data.length !== d.length) throw new Error(`tensor: ${data.length} values for shape [${shape.join(', ')}]`);
    d.set(data);
  }
  return { dtype, shape: [...shape], data: d };
}

/** Row-major strides. */
export function strides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Multi-index of a flat offset. */
export function unravel(flat: number, shape: Shape): number[] {
  const idx = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    idx[i] = flat % shape[i]!;
    flat = Math.floor(flat / shape[i]!);
  }
  return idx;
}
