/**
 * The training program of a traced cell (ir/program.ts): one graph per distinct truncation window
 * (forward and backward through the pass pipeline), the order in which the windows cover a
 * sequence, and the inference graph.
 */
import { graphNodes, makeGraph, type Graph } from '../ir/graph.ts';
import type { Node } from '../ir/node.ts';
import type { ModelInterface, TrainingProgram, Truncation, WindowProgram } from '../ir/program.ts';
import type { TracedCell } from './dsl/trace.ts';
import * as b from '../ir/build.ts';
import { buildWindow, evaluateGraph, predictGraph, sequenceInputs, windowsOf, type WindowShape } from './layout.ts';
import { passesAt, runPipeline } from './pipeline.ts';

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
  const ws = windowsOf(seq, truncation);
  const byShape = new Map<string, WindowProgram>();
  // diagnostics (when asked for: they keep every step's states and their gradients for the caller,
  // which the arena must hold): each window again with a zero probe on its states, differentiated
  // with respect to the probes too (∂L/∂h_t for every step), when every step belongs to one window
  const diagnose = withDiagnostics && truncation.k1 === truncation.k2;
  const diagnostics = new Map<string, WindowProgram>();
  const sequence = ws.map((w, i) => {
    const isLast = i === ws.length - 1;
    const key = `${w.len}:${w.lossFrom}:${w.carryAt}:${!every && isLast}`;
    let win = byShape.get(key);
    if (!win) {
      const io = sequenceInputs(c, w.len);
      const v = buildWindow(c, w, { ...io, isLast });
      const outs: Record<string, Node> = {};
      c.states.forEach((s, k) => (outs[`carry_${s.name}`] = v.carry[k]!));
      if (v.lossSum) outs.loss_sum = v.lossSum;
      const graph = runPipeline(makeGraph([...io.params, ...io.states, ...io.xs, io.target], outs), { loss: v.lossSum ? 'loss_sum' : null, wrt: c.params.map((p) => p.name) }, undefined, list);
      win = { fn: `window${byShape.size}`, len: w.len, graph, hasLoss: v.lossSum !== null };
      byShape.set(key, win);
      if (diagnose) diagnostics.set(win.fn, diagnosticWindow(c, w, isLast, list, `diagnose${diagnostics.size}`));
    }
    const positions = every ? w.len - w.lossFrom : win.hasLoss ? 1 : 0;
    return { fn: win.fn, start: w.start, len: w.len, positions };
  });
  // inference in chunks of k1 steps (the whole sequence without truncation)
  const inference: { fn: string; len: number; graph: Graph }[] = [];
  const inferenceSequence = [];
  for (let start = 0; start < seq; start += truncation.k1) {
    const len = Math.min(truncation.k1, seq - start);
    let chunk = inference.find((x) => x.len === len);
    if (!chunk) {
      chunk = { fn: inference.length === 0 ? 'forward' : `forward${inference.length}`, len, graph: runPipeline(predictGraph(c, len), { loss: null, wrt: [] }, undefined, list) };
      inference.push(chunk);
    }
    inferenceSequence.push({ fn: chunk.fn, start, len });
  }
  // evaluation in the same chunks, the loss where the chunk holds one and no backward pass
  const evaluation: { fn: string; len: number; hasLoss: boolean; graph: Graph }[] = [];
  const evaluationSequence = inferenceSequence.map(({ start, len }) => {
    const loss = every ? 'every' : start + len === seq ? 'last' : 'none';
    let chunk = evaluation.find((x) => x.len === len && x.hasLoss === (loss !== 'none'));
    if (!chunk) {
      chunk = { fn: `evaluate${evaluation.length}`, len, hasLoss: loss !== 'none', graph: runPipeline(evaluateGraph(c, len, loss), { loss: null, wrt: [] }, undefined, list) };
      evaluation.push(chunk);
    }
    return { fn: chunk.fn, start, len };
  });
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
