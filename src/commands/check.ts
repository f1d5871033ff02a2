import { RnncError } from '../../ir/error.ts';
import { DEFAULT_TOLERANCE } from '../../ir/gradcheck.ts';
import { cellOptions, cellOptionsHelp, loadJob, positiveInt, positiveNumber, type Command } from './common.ts';

export const checkCommand: Command = {
  summary: 'gradient-check the compiled cell over a short sequence (float64)',
  help: `usage: rnnc check <cell.ts> [options]

Compiles the cell over a short sequence, with random weights and inputs, and checks its gradient
in float64 three ways: the autodiff graph (Scan included, no truncation) against finite
differences, the generated trainer (with the requested truncation) against the reference
interpreter, and the Scans against their full unrolling.

A value fails when its absolute error is above --atol and its relative error above --rtol, both
(as PyTorch's gradcheck): near zero the relative error means nothing, far from it the absolute
one. Each comparison prints both of its largest errors and its worst value (the one closest to
failing, or furthest past it); the verdict names the value and the tolerance that decided it.
Exits 1 if any value fails.

The finite differences, on 8 coordinates of each parameter, are Richardson extrapolations of
central differences at steps h, 2h and 4h, with h = 2^-12·max(|x|, 1) rounded down to a power of
two for each coordinate x, and an error estimate per coordinate (truncation, from the 4-point
stencils at h and 2h, plus rounding). Where a stencil point changes the sign of a relu input, the
loss has a kink inside the stencil and the difference is no derivative: steps 8 and 64 times
smaller are tried, and a coordinate whose stencil still crosses one is reported as at a kink,
counted and named, and left out of the comparison.

${cellOptionsHelp.replace('%BATCH%', '2').replace('%SEQ%', '4')}
      --atol E          absolute tolerance (default ${DEFAULT_TOLERANCE.atol.toExponential()})
      --rtol E          relative tolerance (default ${DEFAULT_TOLERANCE.rtol.toExponential()})
      --seed N          seed of the random weights, inputs and coordinates checked (default 1)
      --target webgpu   instead: run the compiled WGSL trainer (Dawn, the npm package 'webgpu';
                        SwiftShader when there is no GPU) against the TS target in float32 and
                        print the largest differences (loss, gradients, state, parameters after
                        three steps, logits); exits 1 past 1e-4 of the scale`,
  // --tol (one relative tolerance, floored at 1e-4) is gone; it is still parsed, to say so
  options: { ...cellOptions, atol: { type: 'string' }, rtol: { type: 'string' }, seed: { type: 'string' }, tol: { type: 'string' }, target: { type: 'string' } },
  async run(values, positionals) {
    if (values.tol !== undefined) throw new RnncError(`--tol: replaced by --atol and --rtol (a value fails when above both); see 'rnnc check --help'`);
    const target = (values.target as string | undefined) ?? 'ts';
    if (target !== 'ts' && target !== 'webgpu') throw new RnncError(`--target: '${target}' must be ts or webgpu`);
    if (target === 'webgpu' && (values.atol !== undefined || values.rtol !== undefined)) throw new RnncError('--atol and --rtol judge the float64 gradient check; --target webgpu compares float32 targets at a fixed 1e-4 of the scale');
    const job = await loadJob(values, positionals, { batch: 2, seq: 4 });
    const tolerance = { atol: positiveNumber('atol', values.atol, DEFAULT_TOLERANCE.atol), rtol: positiveNumber('rtol', values.rtol, DEFAULT_TOLERANCE.rtol) };
    // as compile's --seed: a typo must not silently become another seed (Number('abc') is NaN)
    const seed = positiveInt('seed', values.seed, 1);
    if (target === 'webgpu') {
      const { checkWebGpu, formatWebGpuCheck } = await import('../check-webgpu.ts');
      const r = await checkWebGpu(job.cell, job.seq, job.truncation, seed);
      console.log(`${job.cell.def.name}: batch ${job.cell.batch}, seq ${job.seq}, truncate ${job.truncation.k1}:${job.truncation.k2}, seed ${seed}`);
      for (const line of formatWebGpuCheck(r)) console.log(line);
      return r.ok ? 0 : 1;
    }
    const { checkCell, formatReport } = await import('../check.ts'); // loaded on use (ts-morph)
    const r = await checkCell(job.cell, job.seq, job.truncation, { seed, tolerance });
    console.log(`${job.cell.def.name}: batch ${job.cell.batch}, seq ${job.seq}, truncate ${job.truncation.k1}:${job.truncation.k2}, seed ${seed}`);
    for (const line of formatReport(r)) console.log(line);
    return r.ok ? 0 : 1;
  },
};
