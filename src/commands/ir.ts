import { RnncError } from '../../ir/error.ts';
import { printGraph } from '../../ir/print.ts';
import { verifyGraph } from '../../ir/verify.ts';
import { passes, passNames, runPipeline } from '../pipeline.ts';
import { stepLossGraph } from '../dsl/trace.ts';
import { sequenceGraph } from '../layout.ts';
import { cellOptions, cellOptionsHelp, loadJob, type Command } from './common.ts';

export const irCommand: Command = {
  summary: 'print the IR: one step forward and backward, or the whole sequence with --seq',
  help: `usage: rnnc ir <cell.ts> [options]

Prints the cell's step graph (with readout and mean loss) and its backward graph, as the
compiler sees them. With --seq T, prints the sequence graph instead (Scan nodes, truncation
windows) and its gradient.

${cellOptionsHelp.replace('%BATCH%', '1').replace('%SEQ%', 'none: one step')}
      --forward         print only the forward graph
      --after PASS      print the graph after this pass of the pipeline (default: all of them):
${passes.map((p) => `                          ${p.name.padEnd(20)} ${p.what}`).join('\n')}`,
  options: { ...cellOptions, forward: { type: 'boolean' }, after: { type: 'string' } },
  async run(values, positionals) {
    const job = await loadJob(values, positionals, { batch: 1, seq: 1 });
    const c = job.cell;
    const fwd = values.seq === undefined ? stepLossGraph(c) : sequenceGraph(c, job.seq, job.truncation);
    verifyGraph(fwd);
    const title = values.seq === undefined ? `${c.def.name}.step` : `${c.def.name}.sequence`;
    console.log(`// forward: ${title}\n${printGraph(fwd, title)}`);
    const after = values.after as string | undefined;
    if (after !== undefined && !passNames.includes(after)) throw new RnncError(`--after: unknown pass '${after}'; the passes are ${passNames.join(', ')}`);
    if (!values.forward) {
      const bwd = runPipeline(fwd, { loss: 'loss', wrt: c.params.map((p) => p.name) }, after);
      const stage = after ?? passNames[passNames.length - 1];
      console.log(`\n// forward and backward after ${stage}: ${title}.grad\n${printGraph(bwd, `${title}.grad`)}`);
    }
    return 0;
  },
};
