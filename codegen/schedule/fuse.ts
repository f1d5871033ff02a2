/**
 * Fusion decisions for one graph body (a function, or one step of a Scan), before any buffer is
 * named. Each node gets a role:
 * - view: no code; an existing buffer at an offset (an input, a Scan result, a reshape, a
 *   contiguous slice of a value in memory);
 * - kernel: an item of its own (products, transposes, reductions, softmax, gather/scatter, pad, scan);
 * - concat: no code; its sources write straight into their slots of its buffer;
 * - member: computed once per element inside a fused elementwise region;
 * - inline: recomputed at each use at the index that use reads — broadcasts, slices and one-hots
 *   (index maps, no work of their own), and elementwise values read only through such maps no more
 *   than once per element on the whole (the four gates sliced out of one [B, 4H] sum);
 * - literal / constbuf: a constant inside an expression, or filled once into a buffer a kernel reads.
 *
 * Regions and their order come from levels: a kernel is one level above what it reads, a member is at
 * the level of what it reads (one above a value it must read from memory). Members joined by plain
 * elementwise edges at one level form one region, so every path between two regions goes through
 * memory, levels grow along it, and ordering items by level is a valid schedule.
 */
import { graphNodes, type Graph } from '../../ir/graph.ts';
import type { Node } from '../../ir/node.ts';
import { opDefs } from '../../ir/ops/registry.ts';
import type { FusionClass } from '../../ir/ops/types.ts';

export type Role = 'view' | 'kernel' | 'concat' | 'member' | 'inline' | 'literal' | 'constbuf';

/** Each op's class, from its one definition: a new op declares it there and nothing here changes. */
const fusion = (n: Node): FusionClass => opDefs[n.op].fusion;
const isKernel = (n: Node) => fusion(n) === 'kernel';
/** Ops that read their source through an index map (broadcast, slice, one-hot). */
const isIndex = (n: Node) => fusion(n) === 'index';
export const isElementwise = (n: Node) => fusion(n) === 'elementwise';

/** stop_gradient is the identity once the graph is differentiated: every use sees through it. */
export const resolve = (n: Node): Node => (n.op === 'stop_gradient' ? resolve(n.srcs[0]!) : n);

/** Whether slicing `axis` of `shape` keeps the elements contiguous (so it can be a view). */
export const sliceIsContiguous = (shape: readonly number[], axis: number) => shape.slice(0, axis).every((d) => d === 1);

/** Nodes whose value is always a buffer (or a view of one) by their op alone. */
function bufferish(n: Node): boolean {
  const f = fusion(n);
  if ((f === 'leaf' && n.op !== 'const') || f === 'result' || f === 'reshape' || f === 'concat' || f === 'kernel') return true;
  return n.op === 'slice' && sliceIsContiguous(n.srcs[0]!.shape, n.attr<number>('axis')) && bufferish(resolve(n.srcs[0]!));
}

export interface Fusion {
  readonly order: readonly Node[];
  readonly role: ReadonlyMap<number, Role>;
  /** Members (and kernels, concats) whose value must be in memory. */
  readonly stored: ReadonlySet<number>;
  readonly level: ReadonlyMap<number, number>;
  /** Region id of each member (the id of one of its members). */
  readonly region: ReadonlyMap<number, number>;
  /** The graph's users of each node (after seeing through stop_gradient). */
  readonly users: ReadonlyMap<number, readonly Node[]>;
  /** The level at which a node's value is in memory (-1: before the body starts). */
  memLevel(n: Node): number;
}

export function fuse(g: Graph): Fusion {
  const order = graphNodes(g).filter((n) => n.op !== 'stop_gradient');
  const users = new Map<number, Node[]>();
  for (const n of order) for (const s of n.srcs) users.set(resolve(s).id, [...(users.get(resolve(s).id) ?? []), n]);
  const outputs = new Set(Object.values(g.outputs).map((o) => resolve(o).id));

  // 1. roles and what must be stored, users before sources
  const role = new Map<number, Role>();
  const stored = new Set<number>();
  const reads = new Map<number, number>(); // inline nodes: evaluations per element, on average
  for (const n of [...order].reverse()) {
    const us = users.get(n.id) ?? [];
    const needsMemory = outputs.has(n.id) || us.some((u) => isKernel(u) || fusion(u) === 'concat' || fusion(u) === 'reshape');
    if (bufferish(n)) role.set(n.id, isKernel(n) ? 'kernel' : fusion(n) === 'concat' ? 'concat' : 'view');
    else if (n.op === 'const') role.set(n.id, needsMemory ? 'constbuf' : 'literal');
    else if (isIndex(n)) role.set(n.id, needsMemory ? 'member' : 'inline');
    else if (isElementwise(n)) {
      // read only through index maps (by inline values, or by a slice kept in memory): recomputed there
      const allInline = us.length > 0 && us.every((u) => role.get(u.id) === 'inline' || isIndex(u));
      const perElement = us.reduce((acc, u) => acc + readsBy(u, n), 0);
      role.set(n.id, !needsMemory && allInline && perElement <= 1 + 1e-9 ? 'inline' : 'member');
      // a member read through an index map, or by an inline value, is read from memory
      if (role.get(n.id) === 'member' && us.some((u) => role.get(u.id) === 'inline' || isIndex(u))) stored.add(n.id);
    } else throw new Error(`schedule: no role for ${n.op}`);
    if (needsMemory && role.get(n.id) !== 'literal') stored.add(n.id);
    if (role.get(n.id) === 'inline') reads.set(n.id, us.reduce((acc, u) => acc + readsBy(u, n), 0));
  }
  /** Evaluations of each element of `src` that one use by `u` causes. */
  function readsBy(u: Node, src: Node): number {
    const r = role.get(u.id) === 'inline' ? reads.get(u.id)! : 1;
    return isIndex(u) && u.op !== 'onehot' ? (r * u.size) / src.size : r;
  }

  // 2. levels and regions, sources before users
  const level = new Map<number, number>();
  const parent = new Map<number, number>();
  const find = (x: number): number => (parent.get(x) === x ? x : find(parent.get(x)!));
  const memLevel = (n: Node): number => {
    const r = role.get(n.id)!;
    if (n.op === 'arg' || r === 'constbuf' || r === 'literal') return -1;
    if (r === 'view') return memLevel(resolve(n.srcs[0]!));
    return level.get(n.id)!;
  };
  /** The level a node's evaluation needs when `n` reads `s`: from memory one above, inline what it needs. */
  const needs = new Map<number, number>();
  const need = (s: Node): number => {
    const r = role.get(s.id)!;
    if (r === 'literal') return 0;
    if (r === 'inline') return needs.get(s.id)!;
    return memLevel(s) + 1;
  };
  for (const n of order) {
    const r = role.get(n.id)!;
    const srcs = n.srcs.map(resolve);
    if (r === 'kernel') level.set(n.id, Math.max(0, ...srcs.map((s) => memLevel(s) + 1)));
    // a concat is in memory once all its sources are; a source that cannot write into its slot is copied one level later
    else if (r === 'concat') level.set(n.id, Math.max(0, ...srcs.map((s) => (role.get(s.id) === 'member' ? level.get(s.id)! : need(s)))));
    else if (r === 'inline') needs.set(n.id, Math.max(0, ...srcs.map(need)));
    else if (r === 'member') {
      const local = (s: Node) => isElementwise(n) && role.get(s.id) === 'member';
      const lvl = Math.max(0, ...srcs.map((s) => (local(s) ? level.get(s.id)! : need(s))));
      level.set(n.id, lvl);
      parent.set(n.id, n.id);
      for (const s of srcs) {
        if (!local(s)) continue;
        if (level.get(s.id) === lvl) parent.set(find(s.id), find(n.id));
        else stored.add(s.id); // read from memory by a later region
      }
    }
  }
  const region = new Map<number, number>();
  for (const n of order) if (role.get(n.id) === 'member') region.set(n.id, find(n.id));
  return { order, role, stored, level, region, users, memLevel };
}
