/**
 * Time layout: a traced cell laid over T steps as Scan nodes, cut into truncated-BPTT windows.
 *
 * Windows follow TBPTT(k1, k2): every k1 steps, back-propagate k2 steps. A window ends at each
 * multiple of k1 (and at T) and counts the losses of the steps since the previous end; it starts
 * k2 - k1 steps before those (not before 0), so a full window spans k2 steps and the last one,
 * when k1 does not divide T, is shorter by as much as its loss steps are; it hands on the state at
 * the next window's start, without gradient. With k1 = k2 = k the windows tile the sequence (the
 * last one shorter when T mod k != 0, as PyTorch's detach-every-k loop); k = T is full BPTT.
 */
import * as b from '../ir/build.ts';
import { RnncError } from '../ir/error.ts';
import { graphNodes, inlineGraph, makeGraph, type Graph } from '../ir/graph.ts';
import { rebuild } from '../ir/build.ts';
import type { Node } from '../ir/node.ts';
import type { Truncation } from '../ir/program.ts';
import { maskArgs, nextStates, targetArgs, type TracedCell } from './dsl/trace.ts';
import { checkLayeredTruncation, layeredSequence } from './layout-layers.ts';

export type { Truncation } from '../ir/program.ts';

export interface WindowShape {
  /** First step of the window in the sequence. */
  readonly start: number;
  readonly len: number;
  /** Steps [lossFrom, len) of the window carry a loss. */
  readonly lossFrom: number;
  /** The state after this many steps is where the next window starts. */
  readonly carryAt: number;
}

export function parseTruncation(spec: string | number | undefined, seq: number): Truncation {
  if (spec === undefined || spec === '' || spec === 'none') return { k1: seq, k2: seq };
  const parts = String(spec).split(':');
  const nums = parts.map((p) => Number(p));
  if (parts.length > 2 || nums.some((n) => !Number.isInteger(n) || n <= 0)) throw new RnncError(`truncate: '${spec}' must be k or k1:k2 with positive integers`);
  const [k1, k2 = k1] = nums as [number, number?];
  if (k2! < k1) throw new RnncError(`truncate: k2 (${k2}) must be at least k1 (${k1}): each window back-propagates at least the steps it adds`);
  return { k1: Math.min(k1, seq), k2: Math.min(k2!, seq) };
}

/** `count` windows of one shape, the n-th from step start + n·stride (`start` is the first one's). */
export interface WindowShapes extends WindowShape {
  readonly count: number;
  /** 0 when `count` is 1. */
  readonly stride: number;
}

/**
 * The windows of a sequence as a formula: a few runs of equal windows, however long the sequence.
 * The windows whose history would reach before step 0 start at 0 instead, each its own length; from
 * then on every window but the last is the same, k1 steps on from the one before; the last ends at T.
 */
export function windowRunsOf(seq: number, { k1, k2 }: Truncation): WindowShapes[] {
  if (!Number.isInteger(seq) || seq <= 0) throw new RnncError(`sequence length must be a positive integer, got ${seq}`);
  const n = Math.ceil(seq / k1);
  // a window back-propagates its loss steps plus k2 - k1 steps of history before them (all of it
  // when k2 reaches T, as for the full windows then, whatever k2 was clamped from)
  const history = k2 >= seq ? seq : k2 - k1;
  const window = (i: number, count: number): WindowShapes => {
    const lossStart = i * k1, end = Math.min(lossStart + k1, seq);
    const start = Math.max(0, lossStart - history);
    const nextStart = i + 1 < n ? Math.max(0, end - history) : end;
    return { start, len: end - start, lossFrom: lossStart - start, carryAt: nextStart - start, count, stride: count > 1 ? k1 : 0 };
  };
  const uniform = Math.min(n - 1, Math.ceil(history / k1)); // the first window with all its history
  const runs: WindowShapes[] = [];
  for (let i = 0; i < uniform; i++) runs.push(window(i, 1));
  if (uniform < n - 1) runs.push(window(uniform, n - 1 - uniform));
  runs.push(window(n - 1, 1));
  return runs;
}

/** The windows of a sequence one by one (for the sequence graph, which has every step anyway). */
export function windowsOf(seq: number, truncation: Truncation): WindowShape[] {
  return windowRunsOf(seq, truncation).flatMap(({ count, stride, ...w }) => Array.from({ length: count }, (_, k) => ({ ...w, start: w.start + k * stride })));
}

/**
 * The step with a probe added to each next state: next'_s = next_s + z_s, and everything the step
 * computes from next_s (its output, another next state: the LSTM's h' from c') reads next'_s.
 * With z = 0 the values are the step's own, and ∂L/∂z_t is ∂L/∂h_t, the total derivative of the
 * loss with respect to the state after step t: what the backward Scan carries as dh_t.
 */
export function probedStep(c: TracedCell): { probes: Node[]; outputs: Record<string, Node> } {
  const probes = c.states.map((s) => b.arg(`probe_${s.name}`, s.node.dtype, s.node.shape, 'input'));
  const probeOf = new Map(c.states.map((s, k) => [c.step.outputs[s.name]!.id, probes[k]!]));
  const memo = new Map<number, Node>();
  for (const n of graphNodes(c.step)) {
    const srcs = n.srcs.map((x) => memo.get(x.id)!);
    const same = srcs.every((x, i) => x === n.srcs[i]);
    const v = same ? n : rebuild(n, srcs);
    const z = probeOf.get(n.id);
    memo.set(n.id, z ? b.add(v, z) : v);
  }
  const outputs: Record<string, Node> = {};
  for (const [k, n] of Object.entries(c.step.outputs)) outputs[k] = memo.get(n.id)!;
  return { probes, outputs };
}

/**
 * The scan body: (params; states; step inputs[; probes][, target]) -> (next states; [loss_sum],
 * [output]; [trace_<state>]). With `probe`, the next states carry probes (probedStep) and the body
 * also yields each next state per step (`trace_<state>`), for the diagnostics.
 */
export function bodyGraph(c: TracedCell, opts: { loss: boolean; output: boolean; logits?: boolean; probe?: boolean }): Graph {
  const probed = opts.probe ? probedStep(c) : null;
  const step = probed ? probed.outputs : c.step.outputs;
  // (diagnostics are not built with variable lengths: the probed step's states are not masked)
  const outs: Record<string, Node> = probed ? Object.fromEntries(c.states.map((s) => [s.name, step[s.name]!])) : nextStates(c);
  const target = c.head.inputs.find((n) => n.attr<string>('role') === 'target')!;
  const head = inlineGraph(c.head, { output: step.output! });
  if (opts.loss) outs.loss_sum = head.loss_sum!;
  if (opts.logits) outs.logits = head.logits!;
  if (opts.output) outs.output = step.output!;
  if (probed) for (const s of c.states) outs[`trace_${s.name}`] = step[s.name]!;
  const inputs = [...c.params.map((p) => p.node), ...c.states.map((s) => s.node), ...c.inputs.map((i) => i.node), ...maskArgs(c), ...(probed ? probed.probes : []), ...(opts.loss ? targetArgs(c, target) : [])];
  return makeGraph(inputs, outs);
}

export interface WindowIO {
  readonly params: readonly Node[];
  readonly states: readonly Node[];
  /** Each input stacked over the window's steps: [len, B, ...]; with variable lengths the mask [len, B] last. */
  readonly xs: readonly Node[];
  /** [len, B] or [len, B, Y] when the loss is on every step; [B] or [B, Y] for the last step. */
  readonly target: Node;
  /** Variable lengths: each position's loss weight [len, B]. */
  readonly weight?: Node;
  /** Whether this window holds the sequence's last step (where a last-step loss sits). */
  readonly isLast: boolean;
  /** Diagnostics: a probe per state [len, B, ...], added to the state after every step (probedStep). */
  readonly probes?: readonly Node[];
}

export interface WindowValues {
  /** Sum of the window's per-position losses (null: no loss in this window). */
  readonly lossSum: Node | null;
  readonly carry: readonly Node[];
  readonly final: readonly Node[];
  /** With probes: each state after every step of the window, [len, B, ...]. */
  readonly traces: readonly Node[];
}

/** Lay one window out as Scans over its segments (split where the loss starts and the carry is taken). */
export function buildWindow(c: TracedCell, w: WindowShape, io: WindowIO): WindowValues {
  if (c.layers) {
    // one window, the whole sequence (checkLayeredTruncation)
    const v = layeredSequence(c, w.len, io, { loss: true, logits: false });
    return { lossSum: v.lossSum, carry: v.final, final: v.final, traces: [] };
  }
  const every = c.lossOn === 'every';
  const cuts = [...new Set([0, w.lossFrom, w.carryAt, w.len])].filter((x) => x >= 0 && x <= w.len).sort((a, b) => a - b);
  let states = [...io.states];
  let carry: Node[] = w.carryAt === 0 ? states : [];
  const losses: Node[] = [];
  const probe = io.probes !== undefined;
  const traces: Node[][] = c.states.map(() => []);
  for (let i = 0; i + 1 < cuts.length; i++) {
    const [a, e] = [cuts[i]!, cuts[i + 1]!];
    const withLoss = every && a >= w.lossFrom;
    const lastOutput = !every && io.isLast && e === w.len;
    const body = bodyGraph(c, { loss: withLoss, output: lastOutput, probe });
    const seg = (x: Node) => b.slice(x, 0, a, e);
    const srcs = [...io.params, ...states, ...io.xs.map(seg), ...(io.probes ?? []).map(seg), ...(withLoss ? [seg(io.target), ...(io.weight ? [seg(io.weight)] : [])] : [])];
    const scan = b.scan(body, srcs, { consts: io.params.length, carries: states.length, xs: srcs.length - io.params.length - states.length }, e - a);
    states = c.states.map((_, k) => b.proj(scan, k));
    let y = c.states.length;
    if (withLoss) losses.push(b.sumAll(b.proj(scan, y++)));
    if (probe) c.states.forEach((_, k) => traces[k]!.push(b.proj(scan, y + (lastOutput ? 1 : 0) + k)));
    if (lastOutput) {
      const outs = b.proj(scan, y);
      const last = b.reshape(b.slice(outs, 0, e - a - 1, e - a), outs.shape.slice(1));
      losses.push(inlineGraph(c.head, { output: last, target: io.target }).loss_sum!);
    }
    if (e === w.carryAt) carry = states;
  }
  const lossSum = losses.length === 0 ? null : losses.reduce((acc, l) => b.add(acc, l));
  return { lossSum, carry, final: states, traces: probe ? traces.map((t) => b.concat(t, 0)) : [] };
}

/** Graph inputs for a sequence (or window) of `len` steps. */
export function sequenceInputs(c: TracedCell, len: number) {
  const params = c.params.map((p) => p.node);
  const states = c.states.map((s) => s.node);
  const xs = c.inputs.map((i) => b.arg(i.name, i.node.dtype, [len, ...i.node.shape], 'input'));
  const t = c.head.inputs.find((n) => n.attr<string>('role') === 'target')!;
  const target = c.lossOn === 'every' ? b.arg('target', t.dtype, [len, ...t.shape], 'target') : t;
  if (!c.lengths) return { params, states, xs, target };
  const stacked = (n: Node) => b.arg(n.attr<string>('name'), n.dtype, [len, ...n.shape], 'input');
  return { params, states, xs: [...xs, stacked(c.lengths.mask)], target, weight: stacked(c.lengths.weight) };
}

/** A window's graph inputs in their order: parameters, states, inputs, the mask, the target, the weight. */
export const windowInputs = (io: ReturnType<typeof sequenceInputs>): Node[] => [...io.params, ...io.states, ...io.xs, io.target, ...(io.weight ? [io.weight] : [])];

/**
 * The whole sequence: windows chained with the state's gradient stopped at each boundary.
 * Outputs: `loss` (mean over all positions with a target), then the final states.
 */
export function sequenceGraph(c: TracedCell, seq: number, trunc: Truncation): Graph {
  checkLayeredTruncation(c, seq, trunc);
  const io = sequenceInputs(c, seq);
  const ws = windowsOf(seq, trunc);
  let states: readonly Node[] = io.states;
  const losses: Node[] = [];
  let final: readonly Node[] = states;
  ws.forEach((w, i) => {
    const cut = (x: Node) => b.slice(x, 0, w.start, w.start + w.len);
    const v = buildWindow(c, w, {
      params: io.params,
      states: i === 0 ? states : states.map(b.stopGradient),
      xs: io.xs.map(cut),
      target: c.lossOn === 'every' ? cut(io.target) : io.target,
      ...(io.weight ? { weight: cut(io.weight) } : {}),
      isLast: i === ws.length - 1,
    });
    if (v.lossSum) losses.push(v.lossSum);
    states = v.carry;
    final = v.final;
  });
  const positions = c.lossOn === 'every' ? seq : 1;
  const lossSum = losses.reduce((a, l) => b.add(a, l));
  // with variable lengths, the mean over the counted positions (each of lossElements / B elements)
  const loss = io.weight ? b.div(lossSum, b.scale(b.sumAll(io.weight), c.lossElements / c.batch)) : b.scale(lossSum, 1 / (positions * c.lossElements));
  const outs: Record<string, Node> = { loss };
  c.states.forEach((s, k) => (outs[s.name] = final[k]!));
  return makeGraph(windowInputs(io), outs);
}

/** Inference over a sequence: logits at every step and the final states. */
export function predictGraph(c: TracedCell, seq: number): Graph {
  const io = sequenceInputs(c, seq);
  if (c.layers) {
    const v = layeredSequence(c, seq, io, { loss: false, logits: true });
    const outs: Record<string, Node> = { logits: v.logits! };
    c.states.forEach((s, k) => (outs[s.name] = v.final[k]!));
    return makeGraph([...io.params, ...io.states, ...io.xs], outs);
  }
  const body = bodyGraph(c, { loss: false, output: false, logits: true });
  const scan = b.scan(body, [...io.params, ...io.states, ...io.xs], { consts: io.params.length, carries: io.states.length, xs: io.xs.length }, seq);
  const outs: Record<string, Node> = { logits: b.proj(scan, c.states.length) };
  c.states.forEach((s, k) => (outs[s.name] = b.proj(scan, k)));
  return makeGraph([...io.params, ...io.states, ...io.xs], outs);
}

/**
 * A forward pass with the loss and no backward pass, over `len` steps from the given state: the
 * final states by name and, where a loss falls in these steps, `loss_rows` [B], each example's
 * loss summed over the positions (so a caller can average over fewer examples than the batch).
 * `loss`: 'every' (a loss at every step), 'last' (on the last of these steps) or 'none'.
 */
export function evaluateGraph(c: TracedCell, len: number, loss: 'every' | 'last' | 'none'): Graph {
  const io = sequenceInputs(c, len);
  const every = loss === 'every';
  const bodyOuts: Record<string, Node> = {};
  for (const s of c.states) bodyOuts[s.name] = c.step.outputs[s.name]!;
  const stepTarget = c.head.inputs.find((n) => n.attr<string>('role') === 'target')!;
  if (every) bodyOuts.loss_rows = inlineGraph(c.head, { output: c.step.outputs.output! }).loss_rows!;
  if (loss === 'last') bodyOuts.output = c.step.outputs.output!;
  const body = makeGraph([...io.params, ...io.states, ...c.inputs.map((i) => i.node), ...(every ? [stepTarget] : [])], bodyOuts);
  const srcs = [...io.params, ...io.states, ...io.xs, ...(every ? [io.target] : [])];
  const scan = b.scan(body, srcs, { consts: io.params.length, carries: io.states.length, xs: srcs.length - io.params.length - io.states.length }, len);
  const outs: Record<string, Node> = {};
  c.states.forEach((s, k) => (outs[s.name] = b.proj(scan, k)));
  if (every) outs.loss_rows = b.sum(b.proj(scan, c.states.length), [0]);
  if (loss === 'last') {
    const ys = b.proj(scan, c.states.length);
    const last = b.reshape(b.slice(ys, 0, len - 1, len), ys.shape.slice(1));
    outs.loss_rows = inlineGraph(c.head, { output: last, target: io.target }).loss_rows!;
  }
  return makeGraph([...io.params, ...io.states, ...io.xs, ...(loss === 'none' ? [] : [io.target])], outs);
}
