/**
 * The DSL's tensor: a handle on an IR node. A cell is written for one example; values that vary
 * per example are `batched` and carry a leading batch axis in the IR that the DSL never shows.
 * So every op checks its operands here, in the cell author's terms (per-example shapes, the last
 * axis), before it builds IR: an IR shape error would show the batch axis.
 */
import * as b from '../../ir/build.ts';
import { fmtShape, RnncError, type Site } from '../../ir/error.ts';
import { withSite, type Node } from '../../ir/node.ts';
import { callerSite } from './site.ts';

export type Operand = Tensor | number;

export class Tensor {
  constructor(
    readonly node: Node,
    readonly batched: boolean,
    readonly site: Site | undefined,
    /** Token ids only: the vocabulary size (ids lie in [0, vocab)). */
    readonly vocab?: number,
  ) {}

  /** The per-example shape, as the cell author wrote it. */
  get shape(): readonly number[] {
    return this.batched ? this.node.shape.slice(1) : this.node.shape;
  }
  get isTokens(): boolean {
    return this.node.dtype === 'i32';
  }

  add(o: Operand) { return binary('add', this, o); }
  sub(o: Operand) { return binary('sub', this, o); }
  mul(o: Operand) { return binary('mul', this, o); }
  div(o: Operand) { return binary('div', this, o); }
  neg() { return unary('neg', this); }
  exp() { return unary('exp', this); }
  log() { return unary('log', this); }
  tanh() { return unary('tanh', this); }
  sigmoid() { return unary('sigmoid', this); }
  relu() { return unary('relu', this); }

  /** Matrix · vector: `this` is a [M, K] parameter, `x` a [K] vector (a matrix product over the batch). */
  mv(x: Tensor): Tensor {
    const site = callerSite();
    return traced(site, () => {
      const v = floats('mv', 'the vector', x, site);
      if (this.batched) throw new RnncError(`mv: the matrix must be a parameter (the same for every example), got a per-example ${fmtShape(this.shape)}`, site);
      if (this.shape.length !== 2 || v.shape.length !== 1) {
        throw new RnncError(`mv: expects a [M, K] parameter and a [K] vector, got ${fmtShape(this.shape)} and ${fmtShape(v.shape)}`, site);
      }
      if (this.shape[1] !== v.shape[0]) {
        throw new RnncError(`mv: shapes ${fmtShape(this.shape)} and ${fmtShape(v.shape)} do not match (the matrix has ${this.shape[1]} columns, the vector ${v.shape[0]} elements)`, site);
      }
      const rows = v.batched ? v.node : b.reshape(v.node, [1, v.shape[0]!]);
      const y = b.matmul(rows, this.node, false, true);
      return new Tensor(v.batched ? y : b.reshape(y, [this.shape[0]!]), v.batched, site);
    });
  }

  /** Embedding lookup: `this` is a [V, E] table, `tokens` integer ids; gives [E] per example. */
  lookup(tokens: Tensor): Tensor {
    const site = callerSite();
    return traced(site, () => {
      const t = operand('lookup', 'the token ids', tokens, site);
      if (!t.isTokens) throw new RnncError(`lookup: expects token ids (from tokens(...)), got ${describe(t)}`, site);
      if (this.isTokens) throw new RnncError('lookup: the table must be a [V, E] parameter, got token ids', site);
      if (this.batched) throw new RnncError(`lookup: the table must be a [V, E] parameter (the same for every example), got a per-example ${fmtShape(this.shape)}`, site);
      if (this.shape.length !== 2) throw new RnncError(`lookup: the table must be a [V, E] parameter, got ${fmtShape(this.shape)}`, site);
      // a row past the table's end would be read at run time, out of bounds: refuse it here
      if (t.vocab !== undefined && this.shape[0]! < t.vocab) {
        throw new RnncError(`lookup: the table ${fmtShape(this.shape)} has ${this.shape[0]} rows, but the token ids go up to ${t.vocab - 1} (a vocabulary of ${t.vocab})`, site);
      }
      return new Tensor(b.gather(this.node, t.node), true, site);
    });
  }

  /** `n` equal pieces along the last axis (the gates of an LSTM or GRU). */
  split(n: number): Tensor[] {
    const site = callerSite();
    const len = lastAxis('split', this, site);
    if (!Number.isInteger(n) || n <= 0) throw new RnncError(`split: the number of parts must be a positive integer, got ${describe(n)}`, site);
    if (len % n !== 0) throw new RnncError(`split: cannot split ${fmtShape(this.shape)} into ${n} equal parts (${len} is not a multiple of ${n})`, site);
    return Array.from({ length: n }, (_, i) => this.sliceLast(i * (len / n), (i + 1) * (len / n), site));
  }

  /** Elements [start, end) of the last axis. */
  slice(start: number, end: number): Tensor {
    const site = callerSite();
    const len = lastAxis('slice', this, site);
    if (!Number.isInteger(start) || !Number.isInteger(end)) throw new RnncError(`slice: start and end must be integers, got ${describe(start)} and ${describe(end)}`, site);
    // checked here, per example: the IR's own check would show the batch axis, which the cell never wrote
    if (!(0 <= start && start < end && end <= len)) {
      throw new RnncError(`slice: [${start}, ${end}) is out of range for ${fmtShape(this.shape)}: the last axis (axis ${this.shape.length - 1}) has ${len} elements, so 0 <= start < end <= ${len}`, site);
    }
    return this.sliceLast(start, end, site);
  }

  private sliceLast(start: number, end: number, site: Site | undefined): Tensor {
    return traced(site, () => new Tensor(b.slice(this.node, this.node.shape.length - 1, start, end), this.batched, site));
  }

  /** Sum of all elements of one example. */
  sum(): Tensor {
    const site = callerSite();
    return traced(site, () => {
      floats('sum', 'the tensor', this, site);
      const axes = this.shape.map((_, i) => i + (this.batched ? 1 : 0));
      return new Tensor(b.sum(this.node, axes), this.batched, site);
    });
  }
}

/** Build nodes with `site` as their origin; IR shape errors become errors at that line. */
export function traced<T>(site: Site | undefined, fn: () => T): T {
  return withSite(site, fn);
}

/** How an error message names a value that a cell passed where something else was expected. */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (v instanceof Tensor) return v.isTokens ? 'token ids' : `a tensor ${fmtShape(v.shape)}`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'object') return `an object with keys ${Object.keys(v).join(', ') || '(none)'}`;
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

/** A plain `{ ... }` object: not null, an array, a function, or an instance of a class such as Tensor. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** `v` as a tensor operand of `op` (a cell written in JavaScript can pass anything). */
function operand(op: string, what: string, v: unknown, site: Site | undefined): Tensor {
  if (!(v instanceof Tensor)) throw new RnncError(`${op}: ${what} must be a tensor, got ${describe(v)}`, site);
  return v;
}

/** As `operand`, and not token ids: ids are indices, not numbers. */
function floats(op: string, what: string, v: unknown, site: Site | undefined): Tensor {
  const t = operand(op, what, v, site);
  if (t.isTokens) throw new RnncError(`${op}: token ids are not numbers; look them up in an embedding first`, site);
  return t;
}

/** The length of the last per-example axis, which split and slice work along. */
function lastAxis(op: string, t: Tensor, site: Site | undefined): number {
  floats(op, 'the tensor', t, site);
  if (t.shape.length === 0) throw new RnncError(`${op}: works along the last axis, and a scalar [] has none`, site);
  return t.shape[t.shape.length - 1]!;
}

function toTensor(op: string, o: unknown, like: Tensor, site: Site | undefined): Tensor {
  if (o instanceof Tensor) return o;
  if (typeof o !== 'number' || !Number.isFinite(o)) throw new RnncError(`${op}: the operand must be a tensor or a finite number, got ${describe(o)}`, site);
  return new Tensor(b.constant(o, like.shape, like.node.dtype), false, like.site);
}

/**
 * Lift both operands to one shape: equal per-example shapes, or a scalar [] (a number, a learned
 * gain) against anything; batched if either is.
 */
function align(op: string, x: Tensor, y: Tensor, site: Site | undefined): [Node, Node, boolean] {
  const scalar = (t: Tensor) => t.shape.length === 0;
  if (!b.sameShape(x.shape, y.shape) && !scalar(x) && !scalar(y)) throw new RnncError(`${op}: shapes ${fmtShape(x.shape)} and ${fmtShape(y.shape)} do not match`, site);
  const shape = scalar(x) ? y.shape : x.shape;
  const batched = x.batched || y.batched;
  const B = (x.batched ? x : y).node.shape[0]!;
  const full = batched ? [B, ...shape] : shape;
  // a per-example scalar [B] stands against [B, ...shape] as [B, 1, ...]: broadcasting aligns on the right
  const lift = (t: Tensor) => (t.batched && scalar(t) && shape.length > 0 ? b.reshape(t.node, [B, ...shape.map(() => 1)]) : t.node);
  return [b.broadcast(lift(x), full), b.broadcast(lift(y), full), batched];
}

export function binary(op: 'add' | 'sub' | 'mul' | 'div', x: Operand, y: Operand): Tensor {
  const site = callerSite();
  return traced(site, () => {
    if (!(x instanceof Tensor) && !(y instanceof Tensor)) throw new RnncError(`${op}: needs at least one tensor`, site);
    const tx = toTensor(op, x, y as Tensor, site), ty = toTensor(op, y, tx, site);
    if (tx.isTokens || ty.isTokens) throw new RnncError(`${op}: token ids are not numbers; look them up in an embedding first`, site);
    const [a, c, batched] = align(op, tx, ty, site);
    return new Tensor(b.binary(op, a, c), batched, site);
  });
}

export function unary(op: 'neg' | 'exp' | 'log' | 'tanh' | 'sigmoid' | 'relu' | 'stop_gradient', x: Tensor): Tensor {
  const site = callerSite();
  return traced(site, () => {
    const t = floats(op, 'the operand', x, site);
    return new Tensor(b.unary(op, t.node), t.batched, site);
  });
}

export const tanh = (x: Tensor) => unary('tanh', x);
export const sigmoid = (x: Tensor) => unary('sigmoid', x);
export const relu = (x: Tensor) => unary('relu', x);
export const exp = (x: Tensor) => unary('exp', x);
export const log = (x: Tensor) => unary('log', x);
export const stopGradient = (x: Tensor) => unary('stop_gradient', x);

/** Concatenate along the last axis. */
export function concat(...xs: Tensor[]): Tensor {
  const site = callerSite();
  return traced(site, () => {
    if (xs.length === 0) throw new RnncError('concat: nothing to concatenate', site);
    if (xs.some((x) => Array.isArray(x))) throw new RnncError('concat: takes the tensors themselves, concat(a, b), not an array of them (spread it: concat(...xs))', site);
    xs.forEach((x, i) => floats('concat', `operand ${i + 1}`, x, site));
    const shapes = xs.map((x) => fmtShape(x.shape)).join(', ');
    if (xs.some((x) => x.shape.length === 0)) throw new RnncError(`concat: joins along the last axis, and a scalar [] has none: got ${shapes}`, site);
    const batched = xs.some((x) => x.batched);
    const rank = xs[0]!.shape.length;
    if (xs.some((x) => x.shape.length !== rank || x.shape.slice(0, -1).some((d, i) => d !== xs[0]!.shape[i]))) {
      throw new RnncError(`concat: shapes ${shapes} do not fit along the last axis`, site);
    }
    const nodes = xs.map((x) => (batched && !x.batched ? b.broadcast(x.node, [batchOf(xs), ...x.shape]) : x.node));
    return new Tensor(b.concat(nodes, nodes[0]!.shape.length - 1), batched, site);
  });
}

function batchOf(xs: Tensor[]): number {
  return xs.find((x) => x.batched)!.node.shape[0]!;
}
