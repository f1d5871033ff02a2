/**
 * The training program of a traced cell (ir/program.ts): one graph per distinct truncation window
 * (forward and backward through the pass pipeline), the order in which the windows cover a
 * sequence, and the inference graph.
 */
import { graphNodes, makeGraph, type Graph } from '../ir/graph.ts';
import type { Node } from '../ir/node.ts';
import type { ModelInterface, Run, TrainingProgram, Truncation, WindowProgram, WindowRun } from '../ir/program.ts';
import type { TracedCell } from './dsl/trace.ts';
import * as b from '../ir/build.ts';
import { buildWindow, evaluateGraph, predictGraph, sequenceInputs, windowInputs, windowRunsOf, type WindowShape } from './layout.ts';
import { passesAt, runPipeline } from './pipeline.ts';
import { checkLayeredTruncation } from './layout-layers.ts';

/** The narrow description of a traced cell that the back end needs (no graphs, no DSL types). */
export function modelInterface(c: TracedCell): ModelInterface {
  return {
    name: c.def.name,
    sizes: c.sizes,
    batch: c.batch,
    params: c.params.map((p) => ({ name: p.name, shape: p.shape, init: p.init, ...(recurrentParams(c).has(p.name) ? { recurrent: true } : {}) })),
    states: c.states.map((s) => ({ name: s.name, shape: s.shape })),
    inputs: c.inputs.map((i) => ({ name: i.name, kind: i.kind, shape: i.shape, ...(i.vocab === undefined ? {} : { vocab: i.vocab }) })),
    target: c.target,
    loss: c.loss,
    lossOn: c.lossOn,
    lossElements: c.lossElements,
    lengths: c.lengths !== undefined,
  };
}

/** The parameters the step multiplies with a value that depends on the state: the recurrent weights. */
export function recurrentParams(c: TracedCell): Set<string> {
  const states = new Set(c.states.map((s) => s.node.id));
  const onState = new Set<number>();
  const found = new Set<string>();
  // a parameter seen through movement ops (W_hhᵀ, a gate's rows) is still that parameter
  const paramOf = (n: Node): string | null => {
    while (n.op === 'transpose' || n.op === 'reshape' || n.op === 'slice') n = n.srcs[0]!;
    return n.op === 'arg' && n.attr<string>('role') === 'param' ? n.attr<string>('name') : null;
  };
  for (const n of graphNodes(c.step)) {
    if (states.has(n.id) || n.srcs.some((x) => onState.has(x.id))) onState.add(n.id);
    if (n.op !== 'matmul') continue;
    const [a, bb] = n.srcs as [Node, Node];
    const pa = paramOf(a), pb = paramOf(bb);
    if (pa !== null && onState.has(bb.id)) found.add(pa);
    if (pb !== null && onState.has(a.id)) found.add(pb);
  }
  return found;
}

export function planTraining(c: TracedCell, seq: number, truncation: Truncation, level: 0 | 1 = 1, withDiagnostics = false): TrainingProgram {
  const list = passesAt(level);
  const every = c.lossOn === 'every';
  checkLayeredTruncation(c, seq, truncation);
  const ws = windowRunsOf(seq, truncation);
  const byShape = new Map<string, WindowProgram>();
  // diagnostics (when asked for: they keep every step's states and their gradients for the caller,
  // which the arena must hold): each window again with a zero probe on its states, differentiated
  // with respect to the probes too (∂L/∂h_t for every step), when every step belongs to one window
  // (compile() refuses them with variable lengths or a layered model)
  const diagnose = withDiagnostics && truncation.k1 === truncation.k2 && !c.lengths && !c.layers;
  const diagnostics = new Map<string, WindowProgram>();
  const sequence: WindowRun[] = [];
  let index = 0;
  ws.forEach((w, i) => {
    const isLast = i === ws.length - 1; // (the last window is a run of its own)
    const key = `${w.len}:${w.lossFrom}:${w.carryAt}:${!every && isLast}`;
    let win = byShape.get(key);
    if (!win) {
      const io = sequenceInputs(c, w.len);
      const v = buildWindow(c, w, { ...io, isLast });
      const outs: Record<string, Node> = {};
      c.states.forEach((s, k) => (outs[`carry_${s.name}`] = v.carry[k]!));
      if (v.lossSum) outs.loss_sum = v.lossSum;
      const graph = runPipeline(makeGraph(windowInputs(io), outs), { loss: v.lossSum ? 'loss_sum' : null, wrt: c.params.map((p) => p.name) }, undefined, list);
      win = { fn: `window${byShape.size}`, len: w.len, graph, hasLoss: v.lossSum !== null };
      byShape.set(key, win);
      if (diagnose) diagnostics.set(win.fn, diagnosticWindow(c, w, isLast, list, `diagnose${diagnostics.size}`));
    }
    const positions = every ? w.len - w.lossFrom : win.hasLoss ? 1 : 0;
    appendRun(sequence, { fn: win.fn, start: w.start, stride: w.stride, count: w.count, index, len: w.len, positions });
    index += w.count;
  });
  // inference in chunks of k1 steps (the whole sequence without truncation), a shorter one last
  const k1 = Math.min(truncation.k1, seq);
  const full = Math.floor(seq / k1), rest = seq - full * k1;
  const inference: { fn: string; len: number; graph: Graph }[] = [];
  const inferenceSequence: Run[] = [];
  const chunk = (fn: string, len: number, start: number, count: number) => {
    inference.push({ fn, len, graph: runPipeline(predictGraph(c, len), { loss: null, wrt: [] }, undefined, list) });
    inferenceSequence.push({ fn, start, stride: count > 1 ? k1 : 0, count, index: start / k1, len });
  };
  chunk('forward', k1, 0, full);
  if (rest > 0) chunk('forward1', rest, full * k1, 1);
  // evaluation in the same chunks, as runs, the loss where the chunk holds one and no backward
  // pass (not built for variable lengths or a layered model: evaluate() says so)
  const evaluation: { fn: string; len: number; hasLoss: boolean; graph: Graph }[] = [];
  const evaluationSequence: Run[] = [];
  if (!c.lengths && !c.layers) {
    const evalChunk = (len: number, start: number, count: number) => {
      const loss = every ? 'every' : start + count * len === seq ? 'last' : 'none';
      let e = evaluation.find((x) => x.len === len && x.hasLoss === (loss !== 'none'));
      if (!e) {
        e = { fn: `evaluate${evaluation.length}`, len, hasLoss: loss !== 'none', graph: runPipeline(evaluateGraph(c, len, loss), { loss: null, wrt: [] }, undefined, list) };
        evaluation.push(e);
      }
      evaluationSequence.push({ fn: e.fn, start, stride: count > 1 ? k1 : 0, count, index: start / k1, len });
    };
    // a last-step loss sits in the last chunk only: the full chunks before it are a run of their own
    const lossInLastFull = !every && rest === 0;
    const plain = lossInLastFull ? full - 1 : full;
    if (plain > 0) evalChunk(k1, 0, plain);
    if (lossInLastFull) evalChunk(k1, plain * k1, 1);
    if (rest > 0) evalChunk(rest, full * k1, 1);
  }
  return {
    model: modelInterface(c),
    seq,
    truncation,
    level,
    windows: [...byShape.values()],
    sequence,
    totalPositions: every ? seq : 1,
    inference,
    inferenceSequence,
    evaluation,
    evaluationSequence,
    diagnostics: diagnose ? { windows: [...diagnostics.values()], sequence: sequence.map((x) => ({ ...x, fn: diagnostics.get(x.fn)!.fn })) } : null,
  };
}

/**
 * A window with a zero probe [len, B, ...] added to each state after every step (layout.ts
 * probedStep): outputs those of the window, each state per step (`trace_<state>`) and, with a
 * loss, `grad_probe_<state>`: ∂(loss sum)/∂h_t at every step of the window.
 */
function diagnosticWindow(c: TracedCell, w: WindowShape, isLast: boolean, list: ReturnType<typeof passesAt>, fn: string): WindowProgram {
  const io = sequenceInputs(c, w.len);
  const probes = c.states.map((s) => b.arg(`probe_${s.name}`, s.node.dtype, [w.len, ...s.node.shape], 'input'));
  const v = buildWindow(c, w, { ...io, isLast, probes });
  const outs: Record<string, Node> = {};
  c.states.forEach((s, k) => (outs[`carry_${s.name}`] = v.carry[k]!));
  if (v.lossSum) outs.loss_sum = v.lossSum;
  c.states.forEach((s, k) => (outs[`trace_${s.name}`] = v.traces[k]!));
  const wrt = [...c.params.map((p) => p.name), ...(v.lossSum ? probes.map((p) => p.attr<string>('name')) : [])];
  const graph = runPipeline(makeGraph([...io.params, ...io.states, ...io.xs, ...probes, io.target], outs), { loss: v.lossSum ? 'loss_sum' : null, wrt }, undefined, list);
  return { fn, len: w.len, graph, hasLoss: v.lossSum !== null };
}

/** Appends `r` to `runs`, joining it to the last run when they call the same function at evenly spaced starts. */
function appendRun(runs: WindowRun[], r: WindowRun): void {
  const last = runs[runs.length - 1];
  if (last && last.fn === r.fn && last.len === r.len && last.positions === r.positions) {
    const stride = last.count > 1 ? last.stride : r.count > 1 ? r.stride : r.start - last.start;
    const even = (last.count === 1 || last.stride === stride) && (r.count === 1 || r.stride === stride) && r.start === last.start + last.count * stride;
    if (even && stride > 0) return void (runs[runs.length - 1] = { ...last, stride, count: last.count + r.count });
  }
  runs.push(r);
}
