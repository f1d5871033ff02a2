/**
 * Lay an IR graph out for drawing: every Scan is walked once per step, so each iteration of its
 * body becomes its own set of drawn nodes in a per-step group, while what the body takes as a
 * const (the parameters) stays one drawn node shared by every step. Nothing here makes IR nodes:
 * the drawing reads the graphs the code generator reads and only adds positions (step, window,
 * phase) and names for people.
 *
 * What it recognises, all from the IR itself:
 * - a carry of a Scan is the state edge from one step to the next;
 * - an xs operand sliced (along time) out of a sequence input is that input at step t (`x[t]`);
 * - an xs operand that is a stacked y of another Scan (the residuals that Scan's VJP saves) is
 *   that Scan's value at the same step: the forward value is marked `saved`;
 * - a carry `acc' = acc + contribution` started at zero (how the Scan VJP sums parameter
 *   gradients) is drawn as one node that every step's contribution flows into, and a sum of such
 *   accumulators (one per window) stays that one node;
 * - a Scan that reads a gradient (a cotangent, or the loss seed) is a backward Scan;
 * - a Scan whose carries start from the graph's inputs or from a stop_gradient starts a window
 *   (truncated BPTT); a Scan continuing another's carries, or reading its residuals, joins it.
 */
import { fmtShape } from '../../ir/error.ts';
import { topoSort, type Graph } from '../../ir/graph.ts';
import type { Node, TensorType } from '../../ir/node.ts';
import { scanParts, type ScanParts } from '../../ir/ops/scan.ts';

export type Phase = 'fwd' | 'bwd';
export type NodeKind = 'param' | 'state' | 'input' | 'target' | 'arg' | 'op' | 'const' | 'stopgrad' | 'stack' | 'acc' | 'output';
/**
 * value: data; state: a carry into the next step; param: a shared parameter read; saved: a forward
 * value read by the backward pass; grad: a gradient; gradState: a gradient carried to the previous
 * step; nograd: into or out of a stop_gradient.
 */
export type EdgeKind = 'value' | 'state' | 'param' | 'saved' | 'grad' | 'gradState' | 'nograd' | 'loop';

/** One step of one Scan: what becomes a cluster. */
export interface Step {
  readonly window: Window;
  /** Time index in the whole sequence. */
  readonly t: number;
  readonly phase: Phase;
}

export interface Window {
  /** Order of discovery; `draw` numbers windows by time. */
  readonly seq: number;
  start: number;
  end: number;
  /** What the window is when it is not a truncation window: a layer's direction (`layer 0, reverse`). */
  readonly label?: string;
}

export interface DNode {
  /** Creation order: dot ids come from it, never from IR node ids (those depend on history). */
  readonly index: number;
  readonly kind: NodeKind;
  /** Names for people (`h[1]`, `o[0]`, `weight_hh`, `grad_weight_hh`); drawn first. */
  readonly names: string[];
  /** The op and a few attributes, or '' for graph inputs. */
  readonly op: string;
  /** `dtype[shape]`. */
  readonly type: string;
  step: Step | null;
  /** For nodes outside the steps: a named group (the cell view's 'step' and 'head'). */
  readonly group: string | null;
  readonly time: number | null;
  readonly grad: boolean;
  saved: boolean;
  /** Accumulators: the number of per-step contributions summed. */
  terms: number;
}

export interface DEdge {
  readonly from: DNode;
  readonly to: DNode;
  readonly kind: EdgeKind;
  /** e.g. `[t]` where a body reads one step of a stacked value. */
  readonly label: string;
}

export interface Expanded {
  readonly nodes: readonly DNode[];
  readonly edges: readonly DEdge[];
  readonly windows: readonly Window[];
}

export interface ExpandOptions {
  /** Outputs that are gradients (default: names starting with `grad_`); the rest is the forward graph. */
  readonly isGradOutput?: (name: string) => boolean;
  /** The step's output value (o_t): instances of it get the name `o[t]`. */
  readonly stepOutput?: Node;
  /** A group for top-level nodes (the cell view puts the step and the readout in two boxes). */
  readonly groupOf?: (n: Node) => string | null;
  /** Label of a graph output (default: its name). */
  readonly outputName?: (name: string) => string;
  /** Draw an edge from each output named like a state input back to it (the cell view's recurrence). */
  readonly loopStates?: boolean;
  /** A Scan's own label (a layer's direction), which its steps' box then carries. */
  readonly scanLabel?: (scan: Node) => string | undefined;
}

/** How a body arg or a top-level operand is reached: a drawn node, or a top-level IR node drawn on demand. */
interface Binding {
  readonly dn?: DNode;
  readonly top?: Node;
  /** A const, drawn once per use where it is used. */
  readonly konst?: Node;
  /** A step outside a padded stack (a cotangent that is zero there): a 0 drawn where it is used. */
  readonly zero?: { readonly type: string; readonly grad: boolean };
  readonly label?: string;
  readonly carry?: boolean;
}

interface ScanExp {
  readonly parts: ScanParts;
  readonly offset: number;
  readonly phase: Phase;
  readonly window: Window;
  /** Per carry: the binding after the last step (null for accumulators). */
  readonly finals: (Binding | null)[];
  /** Per y: the binding at each time index. */
  readonly ys: Binding[][];
  /** Per carry: the contributions of an accumulator, or null. */
  readonly acc: (Binding[] | null)[];
}

export const typeText = (t: TensorType & { results?: readonly TensorType[] }): string =>
  t.results ? `(${t.results.map((r) => `${r.dtype}${fmtShape(r.shape)}`).join(', ')})` : `${t.dtype}${fmtShape(t.shape)}`;

/** The op with the attributes that matter to a reader (shape is in the type line, bodies are drawn). */
export function opText(n: Node): string {
  if (n.op === 'const') return `const ${fmtNumber(n.attr<number>('value'))}`;
  if (n.op === 'stop_gradient') return 'stop-gradient';
  const attrs: string[] = [];
  for (const k of Object.keys(n.attrs).sort()) {
    const v = n.attrs[k]!;
    if (k === 'shape' || k === 'dtype' || (typeof v === 'object' && !Array.isArray(v))) continue;
    if (typeof v === 'boolean') {
      if (v) attrs.push(k);
    } else attrs.push(`${k}=${Array.isArray(v) ? `[${v.join(',')}]` : String(v)}`);
  }
  return attrs.length ? `${n.op} ${attrs.join(' ')}` : n.op;
}

const fmtNumber = (v: number) => (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4))));
const argName = (n: Node) => n.attr<string>('name');
const isConstZero = (n: Node) => n.op === 'const' && n.attr<number>('value') === 0;

class Expander {
  readonly nodes: DNode[] = [];
  readonly edges: DEdge[] = [];
  readonly windows: Window[] = [];
  private readonly forward = new Set<Node>();
  private readonly gradMemo = new Map<Node, boolean>();
  private readonly topMemo = new Map<Node, DNode>();
  private readonly scans = new Map<Node, ScanExp>();
  private readonly offsets = new Map<Node, number>();
  /** A sequence input at step t (`x[t]`), drawn once however many Scans read it. */
  private readonly perStep = new Map<Node, Map<number, DNode>>();

  constructor(
    private readonly g: Graph,
    private readonly opts: ExpandOptions,
  ) {
    const isGrad = opts.isGradOutput ?? ((name: string) => name.startsWith('grad_'));
    const fwdRoots = Object.entries(g.outputs).filter(([k]) => !isGrad(k)).map(([, n]) => n);
    for (const n of topoSort(fwdRoots)) this.forward.add(n);
  }

  run(): Expanded {
    const name = this.opts.outputName ?? ((k: string) => k);
    for (const [k, n] of Object.entries(this.g.outputs)) {
      const src = this.topBinding(n);
      const dn = src.dn;
      if (dn && dn.kind === 'acc') {
        dn.names.push(name(k));
        continue;
      }
      const out = this.make({ kind: 'output', names: [name(k)], op: '', type: typeText(n), grad: this.isGradTop(n) });
      this.connect(src, out);
      if (this.opts.loopStates) {
        const input = this.g.inputs.find((i) => argName(i) === k && i.attr<string>('role') === 'state');
        if (input) this.edges.push({ from: out, to: this.topRef(input), kind: 'loop', label: 'next step' });
      }
    }
    return { nodes: this.nodes, edges: this.edges, windows: this.windows };
  }

  private make(p: { kind: NodeKind; names?: string[]; op: string; type: string; step?: Step | null; group?: string | null; time?: number | null; grad?: boolean }): DNode {
    const dn: DNode = {
      index: this.nodes.length, kind: p.kind, names: p.names ?? [], op: p.op, type: p.type, step: p.step ?? null,
      group: p.group ?? null, time: p.time ?? p.step?.t ?? null, grad: p.grad ?? false, saved: false, terms: 0,
    };
    this.nodes.push(dn);
    return dn;
  }

  /** Whether a top-level value is (derived from) a gradient: a const outside the forward graph seeds it. */
  private isGradTop(n: Node): boolean {
    const hit = this.gradMemo.get(n);
    if (hit !== undefined) return hit;
    let r = false;
    if (n.op === 'const') r = !this.forward.has(n);
    else if (n.op !== 'arg' && n.op !== 'stop_gradient') r = n.srcs.some((s) => this.isGradTop(s));
    this.gradMemo.set(n, r);
    return r;
  }

  /** Draw an edge from what `b` stands for into `to`. */
  private connect(b: Binding, to: DNode): void {
    let from: DNode;
    const k = b.konst ?? (b.top?.op === 'const' ? b.top : undefined);
    if (k) from = this.make({ kind: 'const', op: opText(k), type: typeText(k), step: to.step, group: to.group, grad: b.top ? this.isGradTop(k) : false });
    else if (b.zero) from = this.make({ kind: 'const', op: 'const 0 (padding)', type: b.zero.type, step: to.step, group: to.group, grad: b.zero.grad });
    else from = b.dn ?? this.topRef(b.top!);
    this.edges.push({ from, to, kind: this.edgeKind(from, to, b.carry ?? false), label: b.label ?? '' });
  }

  private edgeKind(from: DNode, to: DNode, carry: boolean): EdgeKind {
    if (from.grad) return carry ? 'gradState' : 'grad';
    if (from.saved && to.step?.phase === 'bwd') return 'saved';
    if (from.kind === 'stopgrad' || to.kind === 'stopgrad') return 'nograd';
    if (carry) return 'state';
    if (from.kind === 'param') return 'param';
    return 'value';
  }

  private resolve(b: Binding): DNode | null {
    if (b.dn) return b.dn;
    if (b.konst || !b.top || b.top.op === 'const') return null;
    return this.topRef(b.top);
  }

  private bindingGrad(b: Binding): boolean {
    if (b.zero) return b.zero.grad;
    return this.resolve(b)?.grad ?? (b.top ? this.isGradTop(b.top) : false);
  }

  /** How a top-level node is drawn: accumulators and projections of Scans resolve to what they stand for. */
  private topBinding(n: Node): Binding {
    if (n.op === 'const') return { top: n };
    if (n.op === 'proj' && n.srcs[0]!.op === 'scan') {
      const s = this.expandScan(n.srcs[0]!);
      const k = n.attr<number>('index');
      if (k < s.parts.nCarries && !s.acc[k]) return s.finals[k]!;
    }
    return { dn: this.topRef(n) };
  }

  private topRef(n: Node): DNode {
    const hit = this.topMemo.get(n);
    if (hit) return hit;
    const type = typeText(n);
    const grad = this.isGradTop(n);
    const group = this.opts.groupOf?.(n) ?? null;
    let dn: DNode;
    const accs = this.accumulatorLeaves(n);
    if (accs) {
      dn = this.make({ kind: 'acc', op: '', type, grad: true, group });
      for (const b of accs) {
        for (const c of b) this.connect(c, dn);
        dn.terms += b.length;
      }
    } else if (n.op === 'arg') {
      const role = n.attr<string>('role');
      const kind: NodeKind = role === 'param' || role === 'state' || role === 'input' || role === 'target' ? role : 'arg';
      dn = this.make({ kind, names: [argName(n)], op: '', type, group });
    } else if (n.op === 'proj' && n.srcs[0]!.op === 'scan') {
      const s = this.expandScan(n.srcs[0]!);
      const k = n.attr<number>('index');
      if (k < s.parts.nCarries) {
        // a carry's final value is the last step's node; only reached here when asked for a DNode
        const b = s.finals[k]!;
        dn = this.resolve(b) ?? this.make({ kind: 'op', op: 'proj', type, grad });
      } else {
        // outputs named '__...' are the passes' own (residuals, hoisted terms): no name for people
        const name = Object.keys(s.parts.body.outputs)[k]!;
        const span = `[${s.offset}:${s.offset + s.parts.length}]`;
        dn = this.make({ kind: 'stack', names: name.startsWith('__') ? [] : [`${name}${span}`], op: `stack over steps ${span}`, type, grad, group });
        s.ys[k - s.parts.nCarries]!.forEach((b) => this.connect(b, dn));
      }
    } else {
      dn = this.make({ kind: n.op === 'stop_gradient' ? 'stopgrad' : 'op', op: opText(n), type, grad, group });
      for (const s of n.srcs) this.connect(this.topBinding(s), dn);
    }
    this.topMemo.set(n, dn);
    return dn;
  }

  /** The per-step contributions of an accumulator carry, or of a sum of them; null if `n` is neither. */
  private accumulatorLeaves(n: Node): Binding[][] | null {
    if (n.op === 'proj' && n.srcs[0]!.op === 'scan') {
      const s = this.expandScan(n.srcs[0]!);
      const k = n.attr<number>('index');
      return k < s.parts.nCarries && s.acc[k] ? [s.acc[k]!] : null;
    }
    if (n.op === 'add') {
      const a = this.accumulatorLeaves(n.srcs[0]!), b = this.accumulatorLeaves(n.srcs[1]!);
      return a && b ? [...a, ...b] : null;
    }
    return null;
  }

  /** Index `t` (along time) of a stacked operand, followed back through slices to where it was made. */
  private stepBinding(src: Node, t: number, step: Step): Binding {
    if (src.op === 'slice' && src.attr<number>('axis') === 0) return this.stepBinding(src.srcs[0]!, src.attr<number>('start') + t, step);
    if (src.op === 'pad' && src.attr<number>('axis') === 0) {
      // a stack padded along time (slice's VJP: a cotangent of some steps only): zero outside
      const inner = src.srcs[0]!, before = src.attr<number>('before');
      if (t >= before && t < before + inner.shape[0]!) return this.stepBinding(inner, t - before, step);
      return { zero: { type: `${src.dtype}${fmtShape(src.shape.slice(1))}`, grad: this.isGradTop(src) } };
    }
    if (src.op === 'arg' && this.g.inputs.includes(src)) {
      const byTime = this.perStep.get(src) ?? new Map<number, DNode>();
      this.perStep.set(src, byTime);
      let dn = byTime.get(t);
      if (!dn) {
        const role = src.attr<string>('role');
        dn = this.make({
          kind: role === 'target' ? 'target' : 'input', names: [`${argName(src)}[${t}]`], op: '',
          type: `${src.dtype}${fmtShape(src.shape.slice(1))}`, step, time: t,
        });
        byTime.set(t, dn);
      }
      return { dn };
    }
    if (src.op === 'proj' && src.srcs[0]!.op === 'scan') {
      const s = this.expandScan(src.srcs[0]!);
      const j = src.attr<number>('index') - s.parts.nCarries;
      if (j >= 0 && s.ys[j]![t]) return s.ys[j]![t]!;
    }
    return { top: src, label: `[${t}]` };
  }

  /** Where step 0 of a Scan sits in the sequence. */
  private offsetOf(scan: Node): number {
    const hit = this.offsets.get(scan);
    if (hit !== undefined) return hit;
    const p = scanParts(scan.attrs);
    let off: number | undefined;
    for (const x of scan.srcs.slice(p.nConsts + p.nCarries)) if ((off = this.timeOf(x, 0)) !== undefined) break;
    if (off === undefined) {
      for (const c of scan.srcs.slice(p.nConsts, p.nConsts + p.nCarries)) {
        const from = c.op === 'stop_gradient' ? c.srcs[0]! : c;
        if (from.op === 'proj' && from.srcs[0]!.op === 'scan') {
          const prev = from.srcs[0]!, pp = scanParts(prev.attrs);
          off = pp.reverse ? this.offsetOf(prev) - p.length : this.offsetOf(prev) + pp.length;
          break;
        }
      }
    }
    this.offsets.set(scan, off ?? 0);
    return off ?? 0;
  }

  private timeOf(x: Node, t: number): number | undefined {
    if (x.op === 'slice' && x.attr<number>('axis') === 0) return this.timeOf(x.srcs[0]!, x.attr<number>('start') + t);
    if (x.op === 'arg') return t;
    if (x.op === 'proj' && x.srcs[0]!.op === 'scan' && x.attr<number>('index') >= scanParts(x.srcs[0]!.attrs).nCarries) return this.offsetOf(x.srcs[0]!) + t;
    return undefined;
  }

  private windowOf(scan: Node, phase: Phase): Window {
    const p = scanParts(scan.attrs);
    const join = (from: Node): Window | null => (from.op === 'proj' && from.srcs[0]!.op === 'scan' ? this.expandScan(from.srcs[0]!).window : null);
    if (phase === 'bwd') {
      for (const x of scan.srcs.slice(p.nConsts + p.nCarries)) {
        let s = x;
        while (s.op === 'slice') s = s.srcs[0]!;
        const w = s.op === 'proj' && s.srcs[0]!.op === 'scan' && s.attr<number>('index') >= scanParts(s.srcs[0]!.attrs).nCarries ? join(s) : null;
        if (w) return w;
      }
    }
    // a carry straight from another Scan continues its window; inputs or a stop_gradient start one
    for (const c of scan.srcs.slice(p.nConsts, p.nConsts + p.nCarries)) {
      const w = join(c);
      if (w) return w;
    }
    const label = this.opts.scanLabel?.(scan);
    const w: Window = { seq: this.windows.length, start: Infinity, end: -Infinity, ...(label === undefined ? {} : { label }) };
    this.windows.push(w);
    return w;
  }

  private expandScan(scan: Node): ScanExp {
    const hit = this.scans.get(scan);
    if (hit) return hit;
    const p = scanParts(scan.attrs);
    const { body, nConsts, nCarries, length } = p;
    const offset = this.offsetOf(scan);
    const phase: Phase = scan.srcs.some((s) => this.isGradTop(s)) ? 'bwd' : 'fwd';
    const window = this.windowOf(scan, phase);
    window.start = Math.min(window.start, offset);
    window.end = Math.max(window.end, offset + length);

    const outNames = Object.keys(body.outputs);
    const outs = Object.values(body.outputs);
    const order = topoSort(outs);
    const uses = new Map<Node, number>();
    for (const n of order) for (const s of n.srcs) uses.set(s, (uses.get(s) ?? 0) + 1);
    outs.forEach((o) => uses.set(o, (uses.get(o) ?? 0) + 1));
    // acc' = acc + contribution, from zero, acc read nowhere else: a sum over steps
    const accOther: (Node | null)[] = outs.slice(0, nCarries).map((o, k) => {
      const a = body.inputs[nConsts + k]!;
      if (o.op !== 'add' || !isConstZero(scan.srcs[nConsts + k]!) || uses.get(a) !== 1) return null;
      const i = o.srcs.indexOf(a);
      return i < 0 ? null : o.srcs[1 - i]!;
    });
    const exp: ScanExp = {
      parts: p, offset, phase, window, finals: outs.slice(0, nCarries).map(() => null),
      ys: outs.slice(nCarries).map(() => []), acc: accOther.map((o) => (o ? [] : null)),
    };
    this.scans.set(scan, exp);

    let carries: Binding[] = scan.srcs.slice(nConsts, nConsts + nCarries).map((s) => ({ ...this.topBinding(s), carry: true }));
    for (let i = 0; i < length; i++) {
      const t = p.reverse ? length - 1 - i : i;
      const step: Step = { window, t: offset + t, phase };
      const env = new Map<Node, Binding>();
      // a step's inputs are drawn when something reads them
      const lazy = new Map<Node, () => Binding>();
      const get = (n: Node): Binding => {
        let bnd = env.get(n);
        if (!bnd) env.set(n, (bnd = lazy.get(n)!()));
        return bnd;
      };
      body.inputs.forEach((a, j) => {
        if (j < nConsts) env.set(a, { top: scan.srcs[j]! });
        else if (j < nConsts + nCarries) env.set(a, carries[j - nConsts]!);
        else lazy.set(a, () => this.stepBinding(scan.srcs[j]!, t, step));
      });
      for (const n of order) {
        if (env.has(n) || lazy.has(n)) continue;
        if (n.op === 'const') {
          env.set(n, { konst: n });
          continue;
        }
        const k = accOther.findIndex((o, c) => o !== null && outs[c] === n);
        if (k >= 0) continue; // the accumulator's add: drawn as edges into one node
        const srcBindings = n.srcs.map(get);
        const grad = srcBindings.some((b) => this.bindingGrad(b));
        const dn = this.make({ kind: 'op', op: opText(n), type: typeText(n), step, grad });
        if (n === this.opts.stepOutput) dn.names.push(`o[${offset + t}]`);
        srcBindings.forEach((b) => this.connect(b, dn));
        env.set(n, { dn });
      }
      const nextName = (k: number) => `${argName(body.inputs[nConsts + k]!)}[${offset + t + (p.reverse ? 0 : 1)}]`;
      carries = outs.slice(0, nCarries).map((o, k) => {
        if (accOther[k]) {
          exp.acc[k]!.push(get(accOther[k]!));
          return { carry: true };
        }
        const b = get(o);
        if (b.dn?.step === step) b.dn.names.unshift(nextName(k));
        return { ...b, label: undefined, carry: true };
      });
      outs.slice(nCarries).forEach((o, j) => {
        const b = get(o);
        const name = outNames[nCarries + j]!;
        if (name.startsWith('__res')) {
          const dn = this.resolve(b);
          if (dn) dn.saved = true;
        } else if (b.dn?.step === step && !name.startsWith('__')) b.dn.names.push(`${name}[${offset + t}]`);
        exp.ys[j]![t] = { ...b, carry: false };
      });
    }
    carries.forEach((b, k) => (exp.finals[k] = accOther[k] ? null : b));
    return exp;
  }
}

/** The drawing's nodes and edges for `g`, with every Scan laid out step by step. */
export function expandGraph(g: Graph, opts: ExpandOptions = {}): Expanded {
  return new Expander(g, opts).run();
}
