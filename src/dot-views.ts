/**
 * The graphs `rnnc dot` draws, built here from the traced cell the way the compiler builds them,
 * then handed to codegen/dot, which only draws:
 * - cell: one step with its readout and loss (`stepLossGraph`, what `rnnc ir` prints);
 * - unrolled: the sequence graph (`sequenceGraph`: Scans, TBPTT windows, stop_gradient);
 * - backward: the same after `differentiate`, forward and backward steps side by side.
 * With `after`, the unrolled and backward views show the pipeline's graph after that pass instead.
 */
import type { Detail } from '../codegen/dot/draw.ts';
import { drawSequenceView, drawStepView, type CellFacts } from '../codegen/dot/views.ts';
import { RnncError } from '../ir/error.ts';
import type { Graph } from '../ir/graph.ts';
import { differentiate } from '../ir/passes/differentiate.ts';
import { verifiedPass, verifyGraph } from '../ir/verify.ts';
import { stepLossGraph, type TracedCell } from './dsl/trace.ts';
import { sequenceGraph, type Truncation } from './layout.ts';
import { checkPassName, passNames, runPipeline } from './pipeline.ts';

export const VIEWS = ['cell', 'unrolled', 'backward'] as const;
export type View = (typeof VIEWS)[number];

export interface ViewOptions {
  readonly view: View;
  readonly seq: number;
  readonly truncation: Truncation;
  readonly detail: Detail;
  readonly rankdir?: 'LR' | 'TB';
  /**
   * Draw the graph the compile pipeline gives after this pass (what the code generator reads
   * once it has run them all) instead of the plain sequence graph and its gradient.
   */
  readonly after?: string;
}

export function isView(s: string): s is View {
  return (VIEWS as readonly string[]).includes(s);
}

/** The DOT text of one view of a traced cell. Deterministic: the same cell and options give the same bytes. */
export function cellDot(c: TracedCell, opts: ViewOptions): string {
  if (opts.after !== undefined) checkAfter(opts.view, opts.after);
  const facts = cellFacts(c);
  const rankdir = opts.rankdir ?? 'TB';
  if (opts.view === 'cell') return drawStepView(stepViewGraph(c), c.step, facts, rankdir);
  const backward = opts.view === 'backward';
  const graph = sequenceViewGraph(c, opts.seq, opts.truncation, backward, opts.after);
  return drawSequenceView(graph, facts, { seq: opts.seq, truncation: opts.truncation, backward, after: opts.after, detail: opts.detail, rankdir });
}

/** `--after` names a pass, and one whose graph the view can show. */
function checkAfter(view: View, after: string): void {
  checkPassName(after);
  if (view === 'cell') throw new RnncError(`--after: the cell view draws one traced step; passes run on the sequence (use --view unrolled or backward)`);
  if (view === 'backward' && passNames.indexOf(after) < passNames.indexOf('differentiate')) {
    throw new RnncError(`--after ${after}: the backward view needs the gradient, which the pipeline adds at 'differentiate'`);
  }
}

function cellFacts(c: TracedCell): CellFacts {
  const facts: CellFacts = { name: c.def.name, sizes: c.sizes, batch: c.batch, states: c.states.map((s) => s.name), stepOutput: c.step.outputs.output };
  if (!c.layers) return facts;
  const layerOfState: Record<string, string> = {};
  c.layers.forEach((layer, l) => layer.directions.forEach((d) => d.states.forEach((s) => (layerOfState[s.name] = `layer ${l}, ${d.reverse ? 'reverse (from the last step)' : 'forward'}`))));
  return { ...facts, layerOfState };
}

/** The cell view's graph: one step with its readout and mean loss, verified. */
function stepViewGraph(c: TracedCell): Graph {
  const g = stepLossGraph(c);
  verifyGraph(g);
  return g;
}

/**
 * The unrolled (or, with `backward`, differentiated) sequence graph over `seq` steps, verified;
 * with `after`, the compile pipeline's graph after that pass.
 */
function sequenceViewGraph(c: TracedCell, seq: number, truncation: Truncation, backward: boolean, after?: string): Graph {
  if (!Number.isInteger(seq) || seq <= 0) throw new RnncError(`sequence length must be a positive integer, got ${seq}`);
  const fwd = sequenceGraph(c, seq, truncation);
  verifyGraph(fwd);
  const wrt = c.params.map((p) => p.name);
  if (after !== undefined) return runPipeline(fwd, { loss: backward ? 'loss' : null, wrt }, after);
  return backward ? verifiedPass('differentiate', differentiate, fwd, { loss: 'loss', wrt }) : fwd;
}
