/**
 * The training program of a traced cell (ir/program.ts): one graph per distinct truncation window
 * (forward and backward through the pass pipeline), the order in which the windows cover a
 * sequence, and the inference graph.
 */
import { makeGraph, type Graph } from '../ir/graph.ts';
import type { Node } from '../ir/node.ts';
import type { ModelInterface, Run, TrainingProgram, Truncation, WindowProgram, WindowRun } from '../ir/program.ts';
import type { TracedCell } from './dsl/trace.ts';
import { buildWindow, predictGraph, sequenceInputs, windowInputs, windowRunsOf } from './layout.ts';
import { passesAt, runPipeline } from './pipeline.ts';
import { checkLayeredTruncation } from './layout-layers.ts';

/** The narrow description of a traced cell that the back end needs (no graphs, no DSL types). */
export function modelInterface(c: TracedCell): ModelInterface {
  return {
    name: c.def.name,
    sizes: c.sizes,
    batch: c.batch,
    params: c.params.map((p) => ({ name: p.name, shape: p.shape, init: p.init })),
    states: c.states.map((s) => ({ name: s.name, shape: s.shape })),
    inputs: c.inputs.map((i) => ({ name: i.name, kind: i.kind, shape: i.shape, ...(i.vocab === undefined ? {} : { vocab: i.vocab }) })),
    target: c.target,
    loss: c.loss,
    lossOn: c.lossOn,
    lossElements: c.lossElements,
    lengths: c.lengths !== undefined,
  };
}

export function planTraining(c: TracedCell, seq: number, truncation: Truncation, level: 0 | 1 = 1): TrainingProgram {
  const list = passesAt(level);
  const every = c.lossOn === 'every';
  checkLayeredTruncation(c, seq, truncation);
  const ws = windowRunsOf(seq, truncation);
  const byShape = new Map<string, WindowProgram>();
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
  };
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
