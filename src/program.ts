/**
 * What a trainer runs, as optimized IR: one graph per distinct truncation window (forward and
 * backward through the pass pipeline), the order in which the windows cover a sequence, and the
 * inference graph. Targets (codegen/ts) turn this into code; they build no graphs of their own.
 */
import { makeGraph, type Graph } from '../ir/graph.ts';
import type { Node } from '../ir/node.ts';
import type { TracedCell } from './dsl/trace.ts';
import { buildWindow, predictGraph, sequenceInputs, windowsOf, type Truncation } from './layout.ts';
import { passesAt, runPipeline } from './pipeline.ts';

export interface WindowProgram {
  readonly fn: string;
  readonly len: number;
  /** Outputs: carry_<state> (the state where the next window starts), and with a loss, loss_sum and grad_<param>. */
  readonly graph: Graph;
  /** The window's stacked inputs [len, B, ...], in the cell's input order, and its target. */
  readonly xs: readonly Node[];
  readonly target: Node;
  readonly hasLoss: boolean;
}

export interface TrainingProgram {
  readonly cell: TracedCell;
  readonly seq: number;
  readonly truncation: Truncation;
  /** The optimization level the graphs went through (see passesAt). */
  readonly level: 0 | 1;
  readonly windows: readonly WindowProgram[];
  /** The sequence, window by window: which function, from which step, over how many loss positions. */
  readonly schedule: readonly { fn: string; start: number; len: number; positions: number }[];
  /** Loss positions of the whole sequence (T, or 1 for a last-step loss). */
  readonly totalPositions: number;
  /** Inference: logits [T, B, Y] and the final states; `xs` are its stacked inputs. */
  readonly predict: { readonly graph: Graph; readonly xs: readonly Node[] };
}

export function planTraining(c: TracedCell, seq: number, truncation: Truncation, level: 0 | 1 = 1): TrainingProgram {
  const list = passesAt(level);
  const every = c.lossOn === 'every';
  const ws = windowsOf(seq, truncation);
  const byShape = new Map<string, WindowProgram>();
  const schedule = ws.map((w, i) => {
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
      win = { fn: `window${byShape.size}`, len: w.len, graph, xs: io.xs, target: io.target, hasLoss: v.lossSum !== null };
      byShape.set(key, win);
    }
    const positions = every ? w.len - w.lossFrom : win.hasLoss ? 1 : 0;
    return { fn: win.fn, start: w.start, len: w.len, positions };
  });
  const predict = runPipeline(predictGraph(c, seq), { loss: null, wrt: [] }, undefined, list);
  return {
    cell: c,
    seq,
    truncation,
    level,
    windows: [...byShape.values()],
    schedule,
    totalPositions: every ? seq : 1,
    predict: { graph: predict, xs: predict.inputs.slice(c.params.length + c.states.length) },
  };
}
