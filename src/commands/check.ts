import { RnncError } from '../../ir/error.ts';
import { cellOptions, cellOptionsHelp, loadJob, positiveInt, type Command } from './common.ts';

export const checkCommand: Command = {
  summary: 'gradient-check the compiled cell over a short sequence (float64)',
  help: `usage: rnnc check <cell.ts> [options]

Compiles the cell over a short sequence and checks its gradient in float64: the autodiff graph
(Scan included) against central finite differences, and the generated trainer (with the
requested truncation) against the reference interpreter, and the Scans against their full
unrolling. Prints the largest relative errors; exits 1 if any is above the tolerance.

${cellOptionsHelp.replace('%BATCH%', '2').replace('%SEQ%', '4')}
      --tol E           tolerance on the relative error (default 1e-6)
      --seed N          seed of the random weights and inputs (default 1)`,
  options: { ...cellOptions, tol: { type: 'string' }, seed: { type: 'string' } },
  async run(values, positionals) {
    const job = await loadJob(values, positionals, { batch: 2, seq: 4 });
    const tol = values.tol === undefined ? 1e-6 : Number(values.tol);
    if (!(tol > 0)) throw new RnncError(`--tol: '${String(values.tol)}' must be a positive number`);
    // as compile's --seed: a typo must not silently become another seed (Number('abc') is NaN)
    const seed = positiveInt('seed', values.seed, 1);
    const { checkCell } = await import('../check.ts'); // loaded on use (ts-morph)
    const r = await checkCell(job.cell, job.seq, job.truncation, { seed });
    const ok = r.finiteDifferences.maxRelError <= tol && r.generatedCode.maxRelError <= tol && r.unrolled.maxRelError <= tol;
    console.log(`${job.cell.def.name}: batch ${job.cell.batch}, seq ${job.seq}, truncate ${job.truncation.k1}:${job.truncation.k2}`);
    console.log(`  autodiff vs finite differences: max rel error ${r.finiteDifferences.maxRelError.toExponential(2)} over ${r.finiteDifferences.checked} coordinates${r.finiteDifferences.worst ? ` (worst ${r.finiteDifferences.worst})` : ''}`);
    console.log(`  generated trainer vs reference: max rel error ${r.generatedCode.maxRelError.toExponential(2)}${r.generatedCode.worst ? ` (worst ${r.generatedCode.worst})` : ''}`);
    console.log(`  scans vs their full unrolling:  max rel error ${r.unrolled.maxRelError.toExponential(2)}${r.unrolled.worst ? ` (worst ${r.unrolled.worst})` : ''}`);
    console.log(ok ? `ok (tolerance ${tol})` : `FAILED: above tolerance ${tol}`);
    return ok ? 0 : 1;
  },
};
