/**
 * The three pictures of a cell, drawn from IR graphs handed in ready (src/dot-views.ts builds
 * them: tracing, layout and the pipeline are the compiler's business, not the drawer's):
 * - the step view: one step with its readout and loss (what `rnnc ir` prints);
 * - the sequence view: the sequence graph (Scans, TBPTT windows, stop_gradient) step by step,
 *   with its gradient when it has one (forward and backward steps side by side).
 */
import { graphNodes, type Graph } from '../../ir/graph.ts';
import type { Node } from '../../ir/node.ts';
import { drawDot, type Detail } from './draw.ts';
import { expandGraph } from './expand.ts';

/** What a drawing names of the cell it comes from: plain data, so the drawer needs no traced cell. */
export interface CellFacts {
  readonly name: string;
  readonly sizes: Readonly<Record<string, number>>;
  readonly batch: number;
  /** The state names: outputs of those names are the state going on. */
  readonly states: readonly string[];
  /** The step's output value (o_t), named `o[t]` wherever a step computes it. */
  readonly stepOutput: Node | undefined;
  /** Layered models: the layer and direction of each state (`layer 0, reverse`), which label their Scans. */
  readonly layerOfState?: Readonly<Record<string, string>>;
}

/** A Scan's layer and direction: that of the states its carries start from (graph inputs by name). */
function scanLabel(cell: CellFacts): ((scan: Node) => string | undefined) | undefined {
  const of = cell.layerOfState;
  if (!of) return undefined;
  return (scan) => {
    for (const s of scan.srcs) if (s.op === 'arg' && s.attr<string>('role') === 'state' && Object.hasOwn(of, s.attr<string>('name'))) return of[s.attr<string>('name')];
    return undefined;
  };
}

const dims = (c: CellFacts): string => {
  const sizes = Object.entries(c.sizes).map(([k, v]) => `${k}=${v}`).join(', ');
  return `${sizes}${sizes ? ', ' : ''}B=${c.batch}`;
};

/** One step (`step`, the cell's step graph) inside `g`, its readout and loss: two boxes and the recurrence. */
export function drawStepView(g: Graph, step: Graph, cell: CellFacts, rankdir: 'LR' | 'TB'): string {
  const stepNodes = new Set<Node>(graphNodes(step));
  const x = expandGraph(g, {
    stepOutput: cell.stepOutput,
    groupOf: (n) => (n.op === 'arg' ? null : stepNodes.has(n) ? 'step' : 'head'),
    outputName: (k) => (cell.states.includes(k) ? `${k} (next step)` : k),
    loopStates: true,
  });
  return drawDot(x, {
    title: `${cell.name}: one step (${dims(cell)})`, detail: 'op', rankdir, cellName: cell.name, legend: false,
    groups: { step: `step: ${cell.name}`, head: 'readout and mean loss' },
  });
}

export interface SequenceViewOptions {
  readonly seq: number;
  /** TBPTT(k1, k2) as laid out, for the title. */
  readonly truncation: { readonly k1: number; readonly k2: number };
  /** Whether `g` carries the gradient (the backward view). */
  readonly backward: boolean;
  /** The pipeline pass `g` comes after, if any, for the title. */
  readonly after?: string;
  readonly detail: Detail;
  readonly rankdir: 'LR' | 'TB';
}

/** A sequence graph over `seq` steps, each Scan walked step by step. */
export function drawSequenceView(g: Graph, cell: CellFacts, opts: SequenceViewOptions): string {
  const { k1, k2 } = opts.truncation;
  const trunc = k1 >= opts.seq ? 'full BPTT' : k1 === k2 ? `truncated BPTT, windows of ${k1}` : `truncated BPTT ${k1}:${k2}`;
  const label = scanLabel(cell);
  const x = expandGraph(g, { stepOutput: cell.stepOutput, outputName: (k) => (cell.states.includes(k) ? `${k} (final)` : k), ...(label ? { scanLabel: label } : {}) });
  const what = `${opts.backward ? 'forward and backward' : 'forward'}${opts.after ? ` after ${opts.after}` : ''}`;
  return drawDot(x, {
    title: `${cell.name}: ${what} over ${opts.seq} step${opts.seq === 1 ? '' : 's'}, ${trunc} (${dims(cell)})`,
    detail: opts.detail, rankdir: opts.rankdir, cellName: cell.name, legend: true,
  });
}
