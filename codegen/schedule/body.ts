/**
 * Lowering one graph body (a function, or one step of a Scan) to schedule items, from the fusion
 * decisions of fuse.ts: where each stored value is written (its destinations), one elementwise
 * kernel per region with a store for each destination, kernels with their operand views, loops for
 * Scans, and copies only where a value cannot be written where it is wanted.
 *
 * Destinations. A step's saved value (a `y` of the Scan) is written straight into its slot of the
 * stack; a source of a concat straight into its slot of the concat; the next value of a carry into
 * the carry's own buffer when that is safe: every other reader of the old value runs at a lower
 * level, and the writer reads it at the very element it writes. Otherwise the value goes to a
 * scratch buffer and is copied into the carry at the end of the step.
 */
import type { Graph } from '../../ir/graph.ts';
import type { Node } from '../../ir/node.ts';
import { isBinary, isTernary, isUnary } from '../../ir/op.ts';
import { scanParts } from '../../ir/ops/scan.ts';
import { strides } from '../../ir/tensor.ts';
import { plus, sameAffine, variable } from './affine.ts';
import { fuse, isElementwise, resolve, type Fusion } from './fuse.ts';
import { accessOf, broadcastMap, compose, identityMap, isIdentity, row, sliceMap, type IndexMap } from './index-map.ts';
import { mergeElementwise, order, type Placed } from './merge.ts';
import { itemBuffers } from './walk.ts';
import type { Buffers } from './buffers.ts';
import { accumulateStore, elementwise, kernelFor, plain, type Dest } from './items.ts';
import type { Expr, Item, View } from './types.ts';

/** What the caller wants done with a graph output. */
export type OutputRequest =
  /** Anywhere: the caller reads the returned view. */
  | { readonly kind: 'any' }
  /** The value must end up in `view` (written straight there, or copied). */
  | { readonly kind: 'slot'; readonly view: View }
  /** As slot, for the next value of a carry whose current value the body reads from `view` as `arg`. */
  | { readonly kind: 'carry'; readonly view: View; readonly arg: Node }
  /** view += scalar · value. */
  | { readonly kind: 'accumulate'; readonly view: View; readonly scalar: string };

const sameView = (a: View, b: View) => a.buf === b.buf && sameAffine(a.off, b.off);

/** The view of a destination, if the value's elements sit there contiguously. */
function contiguous(d: Dest, shape: readonly number[]): View | null {
  const acc = accessOf(d.view, d.shape, d.map);
  const want = strides(shape);
  return shape.every((n, k) => n === 1 || acc.strides[k] === want[k]) ? { buf: acc.buf, off: acc.off } : null;
}

export interface LoweredBody {
  readonly items: Item[];
  readonly outputs: Record<string, View>;
}

export function lowerBody(bufs: Buffers, g: Graph, env: ReadonlyMap<number, View>, requests: Readonly<Record<string, OutputRequest>>, depth: number): LoweredBody {
  return new BodyLowering(bufs, g, env, depth).run(requests);
}

class BodyLowering {
  private readonly f: Fusion;
  private readonly dests = new Map<number, Dest[]>();
  private readonly accumulates = new Map<number, { view: View; scalar: string }[]>();
  private readonly scanResults = new Map<number, View[]>();
  private readonly placed: Placed[] = [];
  private readonly pos = new Map<number, number>();

  constructor(
    private readonly bufs: Buffers,
    private readonly g: Graph,
    private readonly env: ReadonlyMap<number, View>,
    private readonly depth: number,
  ) {
    this.f = fuse(g);
    this.f.order.forEach((n, i) => this.pos.set(n.id, i));
  }

  run(requests: Readonly<Record<string, OutputRequest>>): LoweredBody {
    const { role } = this.f;
    for (const n of this.f.order) if (n.op === 'scan') this.allocScan(n);
    const entries = Object.entries(requests).map(([name, req]) => ({ name, req, v: resolve(this.g.outputs[name]!) }));
    // slots first: the copies they make are readers that the in-place test of a carry must see
    const ends: { v: Node; to: View; swap: boolean }[] = [];
    for (const { v, req } of entries) if (req.kind === 'slot') this.toSlot(v, req.view);
    for (const { v, req } of entries) if (req.kind === 'accumulate') this.toAccumulate(v, req.view, req.scalar);
    const carries = entries.flatMap(({ v, req }) => (req.kind === 'carry' && v !== req.arg ? [{ v, req }] : []));
    for (const { v, req } of carries) {
      if (this.inPlace(v, req.arg, req.view, carries.map((c) => c.v))) this.addDest(v, plain(req.view, v.shape));
      else ends.push({ v, to: req.view, swap: role.get(v.id) === 'view' });
    }
    for (const c of [...this.f.order].reverse()) if (role.get(c.id) === 'concat') this.placeConcat(c);
    // everything else stored gets a scratch buffer of its own
    for (const n of this.f.order) {
      const r = role.get(n.id);
      // (a gradient that is only accumulated into G needs no buffer of its own)
      const onlyAccumulated = this.accumulates.has(n.id) && !this.dests.has(n.id) && (this.f.users.get(n.id) ?? []).length === 0;
      if ((r === 'kernel' && n.op !== 'scan') || r === 'concat' || (r === 'member' && this.f.stored.has(n.id) && !onlyAccumulated)) this.primary(n);
    }
    this.emitItems();
    this.emitEndCopies(ends);
    const outputs: Record<string, View> = {};
    for (const { name, v, req } of entries) if (req.kind === 'any') outputs[name] = this.viewOf(v);
    return { items: mergeElementwise(order(this.placed)).map((p) => p.item), outputs };
  }

  // ---- destinations ----

  private addDest(n: Node, d: Dest): void {
    const ds = this.dests.get(n.id) ?? [];
    const same = (x: Dest) => x.view.buf === d.view.buf && JSON.stringify([x.view.off, x.shape, x.map]) === JSON.stringify([d.view.off, d.shape, d.map]);
    if (!ds.some(same)) this.dests.set(n.id, [...ds, d]);
  }

  /** The first destination: where later items read the value. Contiguous when a kernel or view needs it so. */
  private primary(n: Node): Dest {
    const ds = this.dests.get(n.id) ?? [];
    if (ds.length > 0 && (contiguous(ds[0]!, n.shape) || !this.needsContiguous(n))) return ds[0]!;
    const d = plain(this.bufs.scratch(n.size, n.dtype, n.op), n.shape);
    this.dests.set(n.id, [d, ...ds]);
    return d;
  }

  private needsContiguous(n: Node): boolean {
    const { role } = this.f;
    return role.get(n.id) === 'kernel' || (this.f.users.get(n.id) ?? []).some((u) => role.get(u.id) === 'kernel' || role.get(u.id) === 'view');
  }

  private toSlot(v: Node, to: View): void {
    const r = this.f.role.get(v.id)!;
    if (r === 'member') return this.addDest(v, plain(to, v.shape));
    if ((r === 'kernel' || r === 'concat') && !this.dests.has(v.id) && v.op !== 'scan') return this.addDest(v, plain(to, v.shape));
    if (r === 'view' && sameView(this.viewOf(v), to)) return;
    this.copy(v, (value) => [{ to: plain(to, v.shape), value }], this.need(v));
  }

  private toAccumulate(v: Node, to: View, scalar: string): void {
    if (this.f.role.get(v.id) === 'member') this.accumulates.set(v.id, [...(this.accumulates.get(v.id) ?? []), { view: to, scalar }]);
    else this.copy(v, (value) => [accumulateStore(plain(to, v.shape), value, scalar)], this.need(v));
  }

  /**
   * Whether `v` may be written straight into the carry buffer `to`, which holds `arg` until then:
   * no one reads the old value at v's level or later, except v's own region at the very element
   * (`carried`: the next values of all carries, copied at the end of the step when they are views).
   */
  private inPlace(v: Node, arg: Node, to: View, carried: readonly Node[]): boolean {
    const { role, level, region } = this.f;
    const r = role.get(v.id);
    if (!(r === 'member' || (r === 'kernel' && v.op !== 'scan')) || (r === 'kernel' && this.dests.has(v.id))) return false;
    const lv = level.get(v.id)!;
    const ok = (reader: Node, via: Node): boolean => {
      const rr = role.get(reader.id)!;
      if (rr === 'view') return (this.f.users.get(reader.id) ?? []).every((u) => ok(u, reader));
      if (rr === 'member' && r === 'member' && region.get(reader.id) === region.get(v.id)) return via === arg && isElementwise(reader);
      if (rr === 'member' || rr === 'kernel') return level.get(reader.id)! < lv;
      if (rr === 'inline') return this.evaluators(reader).every((m) => level.get(m.id)! < lv && region.get(m.id) !== region.get(v.id));
      if (rr === 'concat') return this.need(via) < lv;
      return false;
    };
    if (!(this.f.users.get(arg.id) ?? []).every((u) => ok(u, arg))) return false;
    // copies made so far (saved values of the old carry) and copies of the end of the step
    if (this.placed.some((p) => p.level >= lv && reads(p.item, to.buf))) return false;
    return !carried.some((o) => o !== v && role.get(o.id) === 'view' && this.viewOf(o).buf === to.buf);
  }

  /** The members (regions) that evaluate an inline value. */
  private evaluators(n: Node): Node[] {
    return (this.f.users.get(n.id) ?? []).flatMap((u) => (this.f.role.get(u.id) === 'inline' ? this.evaluators(u) : [u]));
  }

  private placeConcat(c: Node): void {
    const home = this.primary(c);
    const axis = c.attr<number>('axis');
    let start = 0;
    for (const src of c.srcs) {
      const s = resolve(src);
      const slot: Dest = { view: home.view, shape: home.shape, map: compose(home.map, sliceMap(identityMap(c.shape.length), axis, start)) };
      start += s.shape[axis]!;
      const r = this.f.role.get(s.id);
      const fits = contiguous(slot, s.shape);
      if (r === 'member' || ((r === 'kernel' || r === 'concat') && !this.dests.has(s.id) && fits && s.op !== 'scan')) this.addDest(s, slot);
      else this.copy(s, (value) => [{ to: slot, value }], this.need(s));
    }
  }

  /** The Scan's results: a buffer per carry, and a stack per distinct saved value (a value saved twice is stacked once). */
  private allocScan(n: Node): void {
    const { nCarries, body } = scanParts(n.attrs);
    const outs = Object.values(body.outputs).map(resolve);
    const views: View[] = [];
    n.results!.forEach((r, i) => {
      const twin = i >= nCarries ? outs.findIndex((o, j) => j >= nCarries && j < i && o === outs[i]) : -1;
      views.push(twin >= 0 ? views[twin]! : this.bufs.scratch(r.shape.reduce((a, b) => a * b, 1), r.dtype, i < nCarries ? 'carry' : 'ys'));
    });
    this.scanResults.set(n.id, views);
  }

  // ---- values ----

  /** The level at which a value can be read from memory by a new item. */
  private need(n: Node): number {
    const r = this.f.role.get(n.id)!;
    return r === 'member' ? this.f.level.get(n.id)! + 1 : r === 'literal' ? 0 : Math.max(0, this.f.memLevel(n) + 1);
  }

  /** Where a value in memory is read from. */
  private locate(n: Node): Dest {
    const r = this.f.role.get(n.id)!;
    if (r === 'constbuf') return plain(this.bufs.constant(n.attr<number>('value'), n.size, n.dtype), n.shape);
    if (r !== 'view') return this.primary(n);
    switch (n.op) {
      case 'arg': {
        const v = this.env.get(n.id);
        if (!v) throw new Error(`schedule: input '${n.attr<string>('name')}' is not bound`);
        return plain(v, n.shape);
      }
      case 'proj':
        return plain(this.scanResults.get(n.srcs[0]!.id)![n.attr<number>('index')]!, n.shape);
      case 'reshape':
        return plain(this.viewOf(resolve(n.srcs[0]!)), n.shape);
      case 'slice': {
        const src = resolve(n.srcs[0]!), axis = n.attr<number>('axis');
        const inner = src.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
        const v = this.viewOf(src);
        return plain({ buf: v.buf, off: plus(v.off, n.attr<number>('start') * inner) }, n.shape);
      }
      default:
        throw new Error(`schedule: ${n.op} is not a view`);
    }
  }

  /** A contiguous view of a value in memory (what kernels read and write). */
  private viewOf(n: Node): View {
    const v = contiguous(this.locate(n), n.shape);
    if (!v) throw new Error(`schedule: %${n.id} (${n.op}) is not contiguous in memory`);
    return v;
  }

  /** The value of `s` at the coordinates `m` gives, inside region `region` (null: a copy). */
  private expr(s: Node, m: IndexMap, region: number | null, locals: ReadonlyMap<number, number>): Expr {
    const n = resolve(s);
    const r = this.f.role.get(n.id)!;
    if (r === 'literal') return { op: 'literal', value: n.attr<number>('value') };
    if (r === 'member' && region !== null && this.f.region.get(n.id) === region && isIdentity(m)) return { op: 'local', id: locals.get(n.id)! };
    if (r === 'inline') return this.compute(n, m, region, locals);
    const d = this.locate(n);
    return { op: 'load', access: accessOf(d.view, d.shape, compose(d.map, m)) };
  }

  /** `n` computed from its sources, at the coordinates `m` gives. */
  private compute(n: Node, m: IndexMap, region: number | null, locals: ReadonlyMap<number, number>): Expr {
    const src = (i: number, mm: IndexMap = m) => this.expr(n.srcs[i]!, mm, region, locals);
    if (isUnary(n.op)) return { op: n.op, a: src(0) };
    if (isBinary(n.op)) return { op: n.op, a: src(0), b: src(1) };
    if (isTernary(n.op)) return { op: n.op, c: src(0), a: src(1), b: src(2) };
    switch (n.op) {
      case 'broadcast':
        return src(0, broadcastMap(m, n.srcs[0]!.shape, n.shape));
      case 'slice':
        return src(0, sliceMap(m, n.attr<number>('axis'), n.attr<number>('start')));
      case 'onehot': {
        const idx = resolve(n.srcs[0]!), d = this.locate(idx);
        return { op: 'onehot', index: accessOf(d.view, d.shape, compose(d.map, row(m, 0))), cls: { off: m.off[1]!, strides: m.mat[1]! } };
      }
      default:
        throw new Error(`schedule: cannot compute ${n.op} elementwise`);
    }
  }

  // ---- items ----

  private emit(level: number, seq: number, item: Item): void {
    this.placed.push({ level, seq, item });
  }

  /** An elementwise item that computes `v` once per element and stores what `stores` makes of it. */
  private copy(v: Node, stores: (value: Expr) => { to: Dest; value: Expr }[], level: number, seq = this.pos.get(v.id) ?? this.f.order.length): void {
    this.emit(level, seq, this.copyItem(v, stores));
  }

  /** The elementwise item that computes `v` (read or recomputed) and stores it where `stores` says. */
  private copyItem(v: Node, stores: (value: Expr) => { to: Dest; value: Expr }[]): Item {
    return elementwise(v.shape, [this.expr(v, identityMap(v.shape.length), null, new Map())], stores({ op: 'local', id: 0 }), ['copy']);
  }

  private emitItems(): void {
    const { role, region, level } = this.f;
    const regions = new Map<number, Node[]>();
    for (const n of this.f.order) {
      const r = role.get(n.id);
      if (r === 'member') regions.set(region.get(n.id)!, [...(regions.get(region.get(n.id)!) ?? []), n]);
      else if (r === 'kernel') this.emitKernel(n);
    }
    for (const [id, members] of regions) {
      const locals = new Map<number, number>();
      const values: Expr[] = [];
      const stores: { to: Dest; value: Expr }[] = [];
      const shape = members[0]!.shape;
      for (const n of members) {
        locals.set(n.id, values.length);
        values.push(this.compute(n, identityMap(shape.length), id, locals));
        const value: Expr = { op: 'local', id: locals.get(n.id)! };
        if (this.f.stored.has(n.id)) for (const d of this.dests.get(n.id) ?? []) stores.push({ to: d, value });
        for (const a of this.accumulates.get(n.id) ?? []) stores.push(accumulateStore(plain(a.view, n.shape), value, a.scalar));
      }
      this.emit(level.get(id)!, this.pos.get(members[0]!.id)!, elementwise(shape, values, stores, members.map((n) => n.op)));
    }
  }

  private emitKernel(n: Node): void {
    const lvl = this.f.level.get(n.id)!, seq = this.pos.get(n.id)!;
    if (n.op === 'scan') {
      for (const item of this.lowerScan(n)) this.emit(lvl, seq, item);
      return;
    }
    const out = this.viewOf(n);
    const v = (i: number) => this.viewOf(resolve(n.srcs[i]!));
    const sh = (i: number) => n.srcs[i]!.shape;
    const k = kernelFor(n, v, sh, out);
    this.emit(lvl, seq, k);
  }

  /** A Scan: the carries copied into their buffers, then the loop over the body. */
  private lowerScan(n: Node): Item[] {
    const { body, nConsts, nCarries, length, reverse } = scanParts(n.attrs);
    const results = this.scanResults.get(n.id)!;
    const srcs = n.srcs.map(resolve);
    const init: Item[] = [];
    body.inputs.slice(nConsts, nConsts + nCarries).forEach((a, k) => init.push(this.copyItem(srcs[nConsts + k]!, (value) => [{ to: plain(results[k]!, a.shape), value }])));
    const t = `t${this.depth}`;
    const env = new Map<number, View>();
    body.inputs.forEach((a, i) => {
      if (i < nConsts) env.set(a.id, this.viewOf(srcs[i]!));
      else if (i < nConsts + nCarries) env.set(a.id, results[i - nConsts]!);
      else {
        const x = this.viewOf(srcs[i]!);
        env.set(a.id, { buf: x.buf, off: plus(x.off, variable(t, a.size)) });
      }
    });
    const requests: Record<string, OutputRequest> = {};
    Object.entries(body.outputs).forEach(([name, o], i) => {
      requests[name] = i < nCarries ? { kind: 'carry', view: results[i]!, arg: body.inputs[nConsts + i]! } : { kind: 'slot', view: { buf: results[i]!.buf, off: variable(t, o.size) } };
    });
    const inner = lowerBody(this.bufs, body, env, requests, this.depth + 1);
    return [...init, { kind: 'loop', variable: t, length, reverse, body: inner.items }];
  }

  /** Carries that could not be written in place: copied at the end of the step (through a temporary when one carry's new value is another's old one). */
  private emitEndCopies(ends: readonly { v: Node; to: View; swap: boolean }[]): void {
    let top = Math.max(0, ...this.placed.map((p) => p.level)) + 1;
    const temps = ends.filter((e) => e.swap).map((e) => {
      const tmp = this.bufs.scratch(e.v.size, e.v.dtype, 'swap');
      this.copy(e.v, (value) => [{ to: plain(tmp, e.v.shape), value }], top);
      return { ...e, from: tmp };
    });
    if (temps.length) top++;
    for (const e of ends) {
      const tmp = temps.find((x) => x.v === e.v && x.to === e.to);
      const stores = (value: Expr) => [{ to: plain(e.to, e.v.shape), value }];
      if (!tmp) this.copy(e.v, stores, top, this.f.order.length);
      else this.emit(top, this.f.order.length, elementwise(e.v.shape, [{ op: 'load', access: accessOf(tmp.from, e.v.shape, identityMap(e.v.shape.length)) }], stores({ op: 'local', id: 0 }), ['copy']));
    }
  }
}

const reads = (item: Item, buf: string): boolean => itemBuffers(item).reads.has(buf);
