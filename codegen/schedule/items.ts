/**
 * Making the items of a body: a Dest (where a value's elements are stored), the elementwise kernel
 * that stores values to their destinations, and the kernel of each op that has one.
 */
import type { Node } from '../../ir/node.ts';
import { accessOf, identityMap, type IndexMap } from './index-map.ts';
import type { ElementwiseKernel, Expr, Kernel, View } from './types.ts';

/** Where a stored value's elements go: `view` read as a tensor of `shape` through `map` (from the value's coordinates). */
export interface Dest {
  readonly view: View;
  readonly shape: readonly number[];
  readonly map: IndexMap;
}

export const plain = (view: View, shape: readonly number[]): Dest => ({ view, shape, map: identityMap(shape.length) });
export function accumulateStore(to: Dest, value: Expr, scalar: string): { to: Dest; value: Expr } {
  const current: Expr = { op: 'load', access: accessOf(to.view, to.shape, to.map) };
  return { to, value: { op: 'add', a: current, b: { op: 'mul', a: { op: 'scalar', name: scalar }, b: value } } };
}

/** An elementwise kernel over `shape`; stores to destinations, every value a local (so all loads precede all stores). */
export function elementwise(shape: readonly number[], values: readonly Expr[], stores: readonly { to: Dest; value: Expr }[], fused: readonly string[]): ElementwiseKernel {
  const locals = [...values];
  const out = stores.map((s) => {
    let value = s.value;
    if (value.op !== 'local') (locals.push(value), (value = { op: 'local', id: locals.length - 1 }));
    return { to: accessOf(s.to.view, s.to.shape, s.to.map), value };
  });
  return { kind: 'elementwise', shape, locals, stores: out, fused };
}

export function kernelFor(n: Node, v: (i: number) => View, sh: (i: number) => readonly number[], out: View): Kernel {
  const [r0, c0] = n.shape as [number, number];
  switch (n.op) {
    case 'matmul': {
      const ta = n.attr<boolean>('transA'), tb = n.attr<boolean>('transB');
      return { kind: 'matmul', a: v(0), b: v(1), c: out, m: r0, n: c0, k: ta ? sh(0)[0]! : sh(0)[1]!, transA: ta, transB: tb };
    }
    case 'transpose':
      return { kind: 'transpose', x: v(0), out, rows: sh(0)[0]!, cols: sh(0)[1]! };
    case 'sum':
      return { kind: 'sum', x: v(0), out, shape: sh(0), axes: n.attr<number[]>('axes') };
    case 'log_softmax':
      return { kind: 'log_softmax', x: v(0), out, rows: sh(0)[0]!, cols: sh(0)[1]! };
    case 'softmax_ce':
      return { kind: 'softmax_ce', x: v(0), target: v(1), out, rows: sh(0)[0]!, cols: sh(0)[1]! };
    case 'gather':
      return { kind: 'gather', table: v(0), idx: v(1), out, rows: r0, cols: c0 };
    case 'scatter_add':
      return { kind: 'scatter_add', idx: v(0), values: v(1), out, rows: sh(0)[0]!, cols: n.shape[1]!, size: n.size };
    case 'pad': {
      const axis = n.attr<number>('axis'), before = n.attr<number>('before');
      const inner = n.shape.slice(axis + 1).reduce((a, b) => a * b, 1), outer = n.shape.slice(0, axis).reduce((a, b) => a * b, 1);
      return { kind: 'pad', x: v(0), out, outer, block: sh(0)[axis]! * inner, outBlock: n.shape[axis]! * inner, offset: before * inner, size: n.size };
    }
    default:
      throw new Error(`schedule: no kernel for ${n.op}`);
  }
}
