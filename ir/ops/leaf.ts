import { ShapeError } from '../error.ts';
import type { DType } from '../node.ts';
import { tensor } from '../tensor.ts';
import type { OpDef } from './types.ts';

function leafType(attrs: Readonly<Record<string, unknown>>) {
  const shape = attrs.shape as number[];
  if (!shape.every((d) => Number.isInteger(d) && d > 0)) throw new ShapeError(`bad shape [${shape.join(', ')}]`);
  return { dtype: attrs.dtype as DType, shape };
}

/** A graph input, named; its value comes from the environment. */
export const argDef: OpDef = {
  arity: 0,
  fusion: 'leaf',
  kinked: false,
  infer: (_, attrs) => leafType(attrs),
  evaluate: (_, node) => {
    throw new Error(`arg '${node.attr<string>('name')}' has no value`);
  },
  vjp: () => [],
};

/** A tensor filled with one value. */
export const constDef: OpDef = {
  arity: 0,
  fusion: 'leaf',
  kinked: false,
  infer: (_, attrs) => leafType(attrs),
  evaluate: (_, node) => tensor(node.dtype, node.shape, new Float64Array(node.size).fill(node.attr<number>('value'))),
  vjp: () => [],
};
