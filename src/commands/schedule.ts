import { RnncError } from '../../ir/error.ts';
import { cellOptions, cellOptionsHelp, loadJob, type Command } from './common.ts';

export const scheduleCommand: Command = {
  summary: 'print the schedule the code generator renders: kernels, step loops, buffers and memory',
  help: `usage: rnnc schedule <cell.ts> [options]

Prints the schedule of the trainer 'rnnc compile' would write with the same options: for each
truncation window and for inference, the items in the order they run — products, fused
elementwise kernels with their values and the stores they make, reductions, loops over time
steps — then each scratch buffer with its size, the items it is live across and its offset in
the one arena. docs/schedule.md explains how to read it.

${cellOptionsHelp.replace('%BATCH%', '1').replace('%SEQ%', '4')}
  -O, --opt LEVEL       1 (default): every pass; 0: differentiate only
      --diagnose        with the functions of trainer.diagnose() (as 'rnnc compile --diagnose')`,
  options: { ...cellOptions, opt: { type: 'string', short: 'O' }, diagnose: { type: 'boolean' } },
  async run(values, positionals) {
    const level = (values.opt as string | undefined) ?? '1';
    if (level !== '0' && level !== '1') throw new RnncError(`--opt: '${level}' must be 0 or 1`);
    const job = await loadJob(values, positionals, { batch: 1, seq: 4 });
    const { planTraining } = await import('../program.ts');
    const { buildSchedule } = await import('../../codegen/schedule/build.ts');
    const { planMemory } = await import('../../codegen/schedule/memory.ts');
    const { printSchedule } = await import('../../codegen/schedule/print.ts');
    const schedule = buildSchedule(planTraining(job.cell, job.seq, job.truncation, level === '0' ? 0 : 1, values.diagnose === true));
    console.log(`// ${job.cell.def.name}: batch ${job.cell.batch}, seq ${job.seq}, sizes ${Object.entries(job.cell.sizes).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    console.log(printSchedule(schedule, planMemory(schedule)));
    return 0;
  },
};
