/**
 * The DSL's tensor: a handle on an IR node. A cell is written for one example; values that vary
 * per example are `batched` and carry a leading batch axis in the IR that the DSL never shows.
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
      if (this.batched || this.shape.length !== 2 || x.shape.length !== 1) {
        throw new RnncError(`mv: expects a [M, K] parameter and a [K] vector, got ${fmtShape(this.shape)} and ${fmtShape(x.shape)}`, site);
      }
      if (this.shape[1] !== x.shape[0]) throw new RnncError(`mv: shapes ${fmtShape(this.shape)} and ${fmtShape(x.shape)} do not match`, site);
      const rows = x.batched ? x.node : b.reshape(x.node, [1, x.shape[0]!]);
      const y = b.matmul(rows, this.node, false, true);
      return new Tensor(x.batched ? y : b.reshape(y, [this.shape[0]!]), x.batched, site);
    });
  }

  /** Embedding lookup: `this` is a [V, E] table, `tokens` integer ids; gives [E] per example. */
  lookup(tokens: Tensor): Tensor {
    const site = callerSite();
    return traced(site, () => {
      if (!tokens.isTokens || !tokens.batched) throw new RnncError(`lookup: expects token ids, got ${tokens.node.dtype}${fmtShape(tokens.shape)}`, site);
      if (this.batched || this.shape.length !== 2) throw new RnncError(`lookup: the table must be a [V, E] parameter, got ${fmtShape(this.shape)}`, site);
      return new Tensor(b.gather(this.node, tokens.node), true, site);
    });
  }

  /** `n` equal pieces along the last axis (the gates of an LSTM or GRU). */
  split(n: number): Tensor[] {
    const site = callerSite();
    const len = this.shape[this.shape.length - 1]!;
    if (!Number.isInteger(n) || n <= 0 || len % n !== 0) throw new RnncError(`split: cannot split ${fmtShape(this.shape)} into ${n} equal parts`, site);
    return Array.from({ length: n }, (_, i) => this.sliceLast(i * (len / n), (i + 1) * (len / n), site));
  }

  /** Elements [start, end) of the last axis. */
  slice(start: number, end: number): Tensor {
    return this.sliceLast(start, end, callerSite());
  }

  private sliceLast(start: number, end: number, site: Site | undefined): Tensor {
    return traced(site, () => new Tensor(b.slice(this.node, this.node.shape.length - 1, start, end), this.batched, site));
  }

  /** Sum of all elements of one example. */
  sum(): Tensor {
    const site = callerSite();
    return traced(site, () => {
      const axes = this.shape.map((_, i) => i + (this.batched ? 1 : 0));
      return new Tensor(b.sum(this.node, axes), this.batched, site);
    });
  }
}

/** Build nodes with `site` as their origin; IR shape errors become errors at that line. */
export function traced<T>(site: Site | undefined, fn: () => T): T {
  return withSite(site, fn);
}

function toTensor(o: Operand, like: Tensor): Tensor {
  if (o instanceof Tensor) return o;
  if (typeof o !== 'number' || !Number.isFinite(o)) throw new RnncError(`expected a tensor or a finite number, got ${String(o)}`, callerSite());
  return new Tensor(b.constant(o, like.shape, like.node.dtype), false, like.site);
}

/** Lift both operands to one shape: equal per-example shapes (or a number), batched if either is. */
function align(op: string, x: Tensor, y: Tensor, site: Site | undefined): [Node, Node, boolean] {
  if (!b.sameShape(x.shape, y.shape)) throw new RnncError(`${op}: shapes ${fmtShape(x.shape)} and ${fmtShape(y.shape)} do not match`, site);
  const batched = x.batched || y.batched;
  const full = batched ? (x.batched ? x.node.shape : y.node.shape) : x.node.shape;
  return [b.broadcast(x.node, full), b.broadcast(y.node, full), batched];
}

export function binary(op: 'add' | 'sub' | 'mul' | 'div', x: Operand, y: Operand): Tensor {
  const site = callerSite();
  return traced(site, () => {
    if (!(x instanceof Tensor) && !(y instanceof Tensor)) throw new RnncError(`${op}: needs at least one tensor`, site);
    const tx = toTensor(x, y as Tensor), ty = toTensor(y, tx);
    if (tx.isTokens || ty.isTokens) throw new RnncError(`${op}: token ids are not numbers; look them up in an embedding first`, site);
    const [a, c, batched] = align(op, tx, ty, site);
    return new Tensor(b.binary(op, a, c), batched, site);
  });
}

export function unary(op: 'neg' | 'exp' | 'log' | 'tanh' | 'sigmoid' | 'relu' | 'stop_gradient', x: Tensor): Tensor {
  const site = callerSite();
  return traced(site, () => {
    if (!(x instanceof Tensor)) throw new RnncError(`${op}: expected a tensor, got ${String(x)}`, site);
    return new Tensor(b.unary(op, x.node), x.batched, site);
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
    const batched = xs.some((x) => x.batched);
    const rank = xs[0]!.shape.length;
    if (xs.some((x) => x.shape.length !== rank || x.shape.slice(0, -1).some((d, i) => d !== xs[0]!.shape[i]))) {
      throw new RnncError(`concat: shapes ${xs.map((x) => fmtShape(x.shape)).join(', ')} do not fit along the last axis`, site);
    }
    const nodes = xs.map((x) => (batched && !x.batched ? b.broadcast(x.node, [batchOf(xs), ...x.shape]) : x.node));
    return new Tensor(b.concat(nodes, nodes[0]!.shape.length - 1), batched, site);
  });
}

function batchOf(xs: Tensor[]): number {
  return xs.find((x) => x.batched)!.node.shape[0]!;
}
