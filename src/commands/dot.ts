import { RnncError } from '../../ir/error.ts';
import { formatOf, renderDot } from '../../codegen/dot/render.ts';
import { checkOutputPath, writeAtomic } from '../write.ts';
import { cellDot, isView, VIEWS } from '../dot-views.ts';
import { cellOptions, cellOptionsHelp, loadJob, type Command } from './common.ts';

/**
 * Steps past which a sequence view is refused: the DOT text grows linearly with T (the Elman
 * backward view: 1.7 KB and 0.3 ms a step at --detail step, 8 KB and 1 ms at --detail op),
 * but 10^9 steps would run for days; these limits take seconds and about a GB.
 */
const MAX_STEPS = { op: 5000, step: 20000 } as const;
/**
 * Truncation windows past which a sequence view is refused: the drawer walks the chain of window
 * Scans recursively, and past about 1,700 windows (the Elman backward view) that runs out of call
 * stack; 1,000 draw (the LSTM's backward view at --truncate 1, 10 s).
 */
const MAX_WINDOWS = 1000;
/** Past this many edges an op-level drawing is refused rather than laid out for many minutes. */
const MAX_OP_EDGES = 1000;
/**
 * Past this many edges an .svg gets a note that the layout may take minutes (measured on this
 * machine, one core: the Elman backward view at --detail op, 317 edges 1.8 s, 613 edges 27 s; at
 * --detail step, 624 edges 3 s, 2,424 edges 18 s).
 */
const BIG_EDGES = { op: 550, step: 2000 } as const;

export const dotCommand: Command = {
  summary: 'draw the cell, the unrolled forward graph or forward and backward, as .dot or .svg',
  help: `usage: rnnc dot <cell.ts> [-o FILE.dot|FILE.svg] [options]

Draws the IR the compiler reads (the step graph, the sequence graph with its Scans laid out step
by step, and its gradient) with Graphviz. The output format follows the extension of -o: .dot
(or .gv) is DOT text, .svg is rendered in process (Graphviz compiled to WebAssembly; no native
Graphviz needed). PNG is not supported (it needs a native build): write .svg and convert it,
e.g. rsvg-convert -o out.png out.svg. Without -o, the DOT text goes to standard output.

  -o, --output FILE     where to write (.dot, .gv or .svg); nothing is written if anything fails
      --view VIEW       cell (one step with readout and loss; default), unrolled (the forward
                        graph over --seq steps, one cluster per step, parameters drawn once),
                        backward (forward and backward per step: gradients red and dashed,
                        values saved for the backward pass purple, parameter gradients summed
                        over the steps; with --truncate, windows and the stop-gradient between them)
      --detail LEVEL    op (every op; default) or step (one node per step, for long sequences)
      --rankdir DIR     TB (time runs down; default) or LR (time runs right)
      --after PASS      draw the graph after this pass of the compile pipeline (unrolled and
                        backward views; 'rnnc ir --help' lists them) instead of the sequence graph
                        as laid out (and differentiated), before optimization
${cellOptionsHelp.replace('%BATCH%', '1').replace('%SEQ%', '4')}`,
  options: {
    ...cellOptions,
    output: { type: 'string', short: 'o' },
    view: { type: 'string' },
    detail: { type: 'string' },
    rankdir: { type: 'string' },
    after: { type: 'string' },
  },
  async run(values, positionals) {
    // check the options and the output path before any work: a bad one fails fast and writes nothing
    const view = (values.view as string | undefined) ?? 'cell';
    if (!isView(view)) throw new RnncError(`--view: unknown view '${view}': use ${VIEWS.join(', ')}`);
    const detail = (values.detail as string | undefined) ?? 'op';
    if (detail !== 'op' && detail !== 'step') throw new RnncError(`--detail: '${detail}' must be 'op' or 'step'`);
    const rankdir = ((values.rankdir as string | undefined) ?? 'TB').toUpperCase();
    if (rankdir !== 'TB' && rankdir !== 'LR') throw new RnncError(`--rankdir: '${String(values.rankdir)}' must be TB or LR`);
    // the cell view is one step: these would silently draw the same thing
    if (view === 'cell') {
      const unused = (['seq', 'truncate', 'detail'] as const).find((f) => values[f] !== undefined);
      if (unused) throw new RnncError(`--${unused}: the cell view draws one step, not the sequence: use --view unrolled or backward`);
    }
    const out = values.output as string | undefined; // (an empty one is refused with every empty flag)
    const format = out === undefined ? 'dot' : formatOf(out);
    if (out !== undefined) checkOutputPath(out);

    const job = await loadJob(values, positionals, { batch: 1, seq: 4 });
    if (view !== 'cell' && job.seq > MAX_STEPS[detail]) {
      throw new RnncError(`--seq ${job.seq}: more steps than rnnc dot draws at --detail ${detail} (${MAX_STEPS[detail]}); draw a shorter --seq${detail === 'op' ? ' or --detail step' : ''} (every step is drawn alike)`);
    }
    const windows = Math.ceil(job.seq / job.truncation.k1);
    if (view !== 'cell' && windows > MAX_WINDOWS) {
      throw new RnncError(`--truncate ${String(values.truncate)}: ${windows} windows over --seq ${job.seq}, more than rnnc dot draws (${MAX_WINDOWS}); use a longer --truncate or a shorter --seq`);
    }
    const after = values.after as string | undefined;
    const dot = cellDot(job.cell, { view, seq: job.seq, truncation: job.truncation, detail, rankdir, after });
    // Graphviz's layout time grows steeply with the long edges of an op-level sequence (measured,
    // the Elman cell's backward view: 317 edges 1.8 s, 613 edges 27 s, 1,205 edges over 100 s)
    const edges = dot.split(' -> ').length - 1;
    if (format === 'svg' && detail === 'op' && edges > MAX_OP_EDGES) {
      throw new RnncError(`--detail op: this drawing has ${edges} edges, more than Graphviz lays out in minutes (${MAX_OP_EDGES}); use --detail step (one node per step), a shorter --seq, or write .dot`);
    }
    // said before the layout, the part that takes minutes (the DOT text is made in seconds: 10,000 steps at --detail step)
    if (format === 'svg' && edges > BIG_EDGES[detail]) {
      const advice = detail === 'op' ? '--detail step draws one node per step' : 'a shorter --seq, or write .dot';
      console.error(`rnnc dot: note: a big drawing (${edges} edges at --detail ${detail}); Graphviz may take minutes (${advice})`);
    }
    const text = await renderDot(dot, format);
    if (out === undefined) process.stdout.write(text);
    else writeAtomic(out, text);
    return 0;
  },
};
