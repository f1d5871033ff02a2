import { RnncError, ShapeError, type Site } from './error.ts';
import type { Graph } from './graph.ts';
import type { Op } from './op.ts';

export type DType = 'f32' | 'f64' | 'i32';
export type Shape = readonly number[];
export interface TensorType {
  readonly dtype: DType;
  readonly shape: Shape;
}

export type Attr = number | string | boolean | readonly number[] | Graph;
export type Attrs = Readonly<Record<string, Attr>>;

/**
 * The one IR node type. Immutable and interned: `mk` returns the existing node for the same
 * (op, attrs, sources), so common subexpressions are one node and identical graphs are equal.
 * A node with several results (Scan) has `results`; `proj` nodes pick one of them.
 */
export class Node implements TensorType {
  constructor(
    readonly id: number,
    readonly op: Op,
    readonly dtype: DType,
    readonly shape: Shape,
    readonly srcs: readonly Node[],
    readonly attrs: Attrs,
    readonly results: readonly TensorType[] | undefined,
    /** The first creator's site; not part of the identity. */
    readonly site: Site | undefined,
  ) {}

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  attr<T extends Attr>(name: string): T {
    const v = this.attrs[name];
    if (v === undefined) throw new Error(`node %${this.id} (${this.op}) has no attribute '${name}'`);
    return v as T;
  }
}

/** A result type as a type rule gives it: one type, and one per result for a multi-result node. */
export type InferredType = TensorType & { readonly results?: readonly TensorType[] };

/** What the factory needs of an op's definition (an `OpDef` is one): its arity and type rule. */
export interface TypeRule {
  readonly arity: number | 'variadic';
  /** Result type; throws ShapeError (plain words, shapes included) on bad operands. */
  infer(srcs: readonly Node[], attrs: Attrs): InferredType;
}

/**
 * The type rules `mk` applies, installed by ir/ops/registry.ts when it loads. This module cannot
 * import the registry: the op definitions build nodes with `mk` in their VJPs, so the import
 * would be a cycle. Every module that reads the registry (the interpreter, the verifier, autodiff)
 * loads it; building nodes before anything has is a programming error and says so.
 */
let typeRules: Readonly<Record<Op, TypeRule>> | undefined;

export function setTypeRules(rules: Readonly<Record<Op, TypeRule>>): void {
  typeRules = rules;
}

function typeRule(op: Op): TypeRule {
  if (!typeRules) throw new Error(`mk(${op}): no type rules installed; import ir/ops/registry.ts before building nodes`);
  return typeRules[op];
}

const interned = new Map<string, Node>();
let nextId = 0;
let ambientSite: Site | undefined;

/** Nodes made inside `fn` without an explicit site get `site` (passes use it to keep error sites). */
export function withSite<T>(site: Site | undefined, fn: () => T): T {
  const saved = ambientSite;
  ambientSite = site ?? saved;
  try {
    return fn();
  } finally {
    ambientSite = saved;
  }
}

function attrKey(attrs: Attrs): string {
  const keys = Object.keys(attrs).sort();
  return keys
    .map((k) => {
      const v = attrs[k]!;
      return `${k}=${typeof v === 'object' && !Array.isArray(v) ? `graph#${(v as Graph).key}` : JSON.stringify(v)}`;
    })
    .join(',');
}

/** The node factory: infers type through the op's rule, verifies it, interns the node. */
export function mk(op: Op, srcs: readonly Node[], attrs: Attrs = {}, site?: Site): Node {
  const key = `${op}(${srcs.map((s) => s.id).join(',')}){${attrKey(attrs)}}`;
  const found = interned.get(key);
  if (found) return found;
  const def = typeRule(op);
  let type: InferredType;
  try {
    if (def.arity !== 'variadic' && srcs.length !== def.arity) {
      throw new ShapeError(`expects ${def.arity} operand(s), got ${srcs.length}`);
    }
    type = def.infer(srcs, attrs);
  } catch (e) {
    if (e instanceof ShapeError) throw new RnncError(`${op}: ${e.message}`, site ?? ambientSite);
    throw e;
  }
  const node = new Node(nextId++, op, type.dtype, [...type.shape], srcs, attrs, type.results, site ?? ambientSite);
  interned.set(key, node);
  return node;
}
