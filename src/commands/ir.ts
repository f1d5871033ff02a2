import { RnncError } from '../../ir/error.ts';
import type { Graph } from '../../ir/graph.ts';
import { unroll } from '../../ir/passes/unroll.ts';
import { printGraph } from '../../ir/print.ts';
import { verifiedPass, verifyGraph } from '../../ir/verify.ts';
import { checkPassName, passes, passNames, runPipeline } from '../pipeline.ts';
import { stepLossGraph } from '../dsl/trace.ts';
import { sequenceGraph } from '../layout.ts';
import { cellOptions, cellOptionsHelp, loadJob, positiveInt, type Command } from './common.ts';

export const irCommand: Command = {
  summary: 'print the IR: one step forward and backward, or the whole sequence with --seq',
  help: `usage: rnnc ir <cell.ts> [options]

Prints the cell's step graph (with readout and mean loss) and its backward graph, as the
compiler sees them. With --seq T, prints the sequence graph instead (Scan nodes, truncation
windows) and its gradient.

${cellOptionsHelp.replace('%BATCH%', '1').replace('%SEQ%', 'none: one step')}
      --forward         print only the forward graph (with --after: the forward passes only)
      --unroll F        with --seq: unroll every Scan by the factor F (F >= T: no loop left), as
                        the unroll pass does for checks and drawings
      --after PASS      print the graph after this pass of the pipeline (default: all of them):
${passes.map((p) => `                          ${p.name.padEnd(20)} ${p.what}`).join('\n')}`,
  options: { ...cellOptions, forward: { type: 'boolean' }, after: { type: 'string' }, unroll: { type: 'string' } },
  async run(values, positionals) {
    // checked before any output: a bad option must not leave half the IR on stdout
    const after = values.after === undefined ? undefined : checkPassName(values.after as string);
    const sequence = values.seq !== undefined;
    for (const flag of ['truncate', 'unroll'] as const) {
      if (values[flag] !== undefined && !sequence) throw new RnncError(`--${flag}: needs --seq T (without it the IR is one step)`);
    }
    const factor = values.unroll === undefined ? undefined : positiveInt('unroll', values.unroll, 1);
    const job = await loadJob(values, positionals, { batch: 1, seq: 1 });
    const c = job.cell;
    const show = (g: Graph): Graph => (factor === undefined ? g : verifiedPass('unroll', unroll, g, factor));
    const unrolled = factor === undefined ? '' : `, unrolled by ${factor}`;

    const fwd = sequence ? sequenceGraph(c, job.seq, job.truncation) : stepLossGraph(c);
    verifyGraph(fwd);
    const title = sequence ? `${c.def.name}.sequence` : `${c.def.name}.step`;
    console.log(`// forward${unrolled}: ${title}\n${printGraph(show(fwd), title)}`);
    if (values.forward && after === undefined) return 0;

    const backward = !values.forward;
    const out = runPipeline(fwd, { loss: backward ? 'loss' : null, wrt: c.params.map((p) => p.name) }, after);
    const stage = after ?? passNames[passNames.length - 1]!;
    const differentiated = backward && passNames.indexOf(stage) >= passNames.indexOf('differentiate');
    const name = differentiated ? `${title}.grad` : title;
    console.log(`\n// ${differentiated ? 'forward and backward' : 'forward'} after ${stage}${unrolled}: ${name}\n${printGraph(show(out), name)}`);
    return 0;
  },
};
