/**
 * The three pictures of a cell, each drawn from the IR the rest of the compiler reads:
 * - cell: one step with its readout and loss (`stepLossGraph`, what `rnnc ir` prints);
 * - unrolled: the sequence graph (`sequenceGraph`: Scans, TBPTT windows, stop_gradient) step by step;
 * - backward: the same after `differentiate`, forward and backward steps side by side.
 */
import { RnncError } from '../../ir/error.ts';
import { graphNodes, type Graph } from '../../ir/graph.ts';
import type { Node } from '../../ir/node.ts';
import { differentiate } from '../../ir/passes/differentiate.ts';
import { verifiedPass, verifyGraph } from '../../ir/verify.ts';
import { stepLossGraph, type TracedCell } from '../../src/dsl/trace.ts';
import { sequenceGraph, type Truncation } from '../../src/layout.ts';
import { checkPassName, passNames, runPipeline } from '../../src/pipeline.ts';
import { drawDot, type Detail } from './draw.ts';
import { expandGraph } from './expand.ts';

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
  const sizes = Object.entries(c.sizes).map(([k, v]) => `${k}=${v}`).join(', ');
  const dims = `${sizes}${sizes ? ', ' : ''}B=${c.batch}`;
  if (opts.after !== undefined) {
    checkPassName(opts.after);
    if (opts.view === 'cell') throw new RnncError(`--after: the cell view draws one traced step; passes run on the sequence (use --view unrolled or backward)`);
    if (opts.view === 'backward' && passNames.indexOf(opts.after) < passNames.indexOf('differentiate')) {
      throw new RnncError(`--after ${opts.after}: the backward view needs the gradient, which the pipeline adds at 'differentiate'`);
    }
  }
  if (opts.view === 'cell') {
    const g = stepLossGraph(c);
    verifyGraph(g);
    const stepNodes = new Set<Node>(graphNodes(c.step));
    const x = expandGraph(g, {
      stepOutput: c.step.outputs.output,
      groupOf: (n) => (n.op === 'arg' ? null : stepNodes.has(n) ? 'step' : 'head'),
      outputName: (k) => (c.states.some((s) => s.name === k) ? `${k} (next step)` : k),
      loopStates: true,
    });
    return drawDot(x, {
      title: `${c.def.name}: one step (${dims})`, detail: 'op', rankdir: opts.rankdir ?? 'TB', cellName: c.def.name, legend: false,
      groups: { step: `step: ${c.def.name}`, head: 'readout and mean loss' },
    });
  }
  if (!Number.isInteger(opts.seq) || opts.seq <= 0) throw new RnncError(`sequence length must be a positive integer, got ${opts.seq}`);
  const fwd = sequenceGraph(c, opts.seq, opts.truncation);
  verifyGraph(fwd);
  const { k1, k2 } = opts.truncation;
  const trunc = k1 >= opts.seq ? 'full BPTT' : k1 === k2 ? `truncated BPTT, windows of ${k1}` : `truncated BPTT ${k1}:${k2}`;
  const wrt = c.params.map((p) => p.name);
  const backward = opts.view === 'backward';
  let graph: Graph;
  if (opts.after !== undefined) graph = runPipeline(fwd, { loss: backward ? 'loss' : null, wrt }, opts.after);
  else graph = backward ? verifiedPass('differentiate', differentiate, fwd, { loss: 'loss', wrt }) : fwd;
  const x = expandGraph(graph, { stepOutput: c.step.outputs.output, outputName: (k) => (c.states.some((s) => s.name === k) ? `${k} (final)` : k) });
  const what = `${backward ? 'forward and backward' : 'forward'}${opts.after ? ` after ${opts.after}` : ''}`;
  return drawDot(x, {
    title: `${c.def.name}: ${what} over ${opts.seq} step${opts.seq === 1 ? '' : 's'}, ${trunc} (${dims})`,
    detail: opts.detail, rankdir: opts.rankdir ?? 'TB', cellName: c.def.name, legend: true,
  });
}
