import { RnncError } from '../../ir/error.ts';
import { defaultOptimizer, type OptimizerSpec } from '../../codegen/host/runtime.ts';
import { checkExtension, checkOutputPath, writeAtomic } from '../write.ts';
import { cellOptions, cellOptionsHelp, loadJob, positiveInt, type Command, type Values } from './common.ts';

export const optimizerOptions = {
  optimizer: { type: 'string' },
  lr: { type: 'string' },
  momentum: { type: 'string' },
  clip: { type: 'string' },
  float: { type: 'string' },
  seed: { type: 'string' },
  opt: { type: 'string', short: 'O' },
} as const;

function positiveNumber(flag: string, raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new RnncError(`--${flag}: '${String(raw)}' must be a positive number`);
  return n;
}

export function optimizerFrom(values: Values): { optimizer: OptimizerSpec; clip: number | null; float: 'f32' | 'f64'; seed: number; opt: 0 | 1 } {
  const kind = (values.optimizer as string | undefined) ?? 'sgd';
  if (kind !== 'sgd' && kind !== 'momentum' && kind !== 'adam') throw new RnncError(`--optimizer: '${kind}' must be sgd, momentum or adam`);
  const opt = defaultOptimizer(kind, positiveNumber('lr', values.lr));
  const momentum = values.momentum === undefined ? opt.momentum : Number(values.momentum);
  if (!(momentum >= 0 && momentum < 1)) throw new RnncError(`--momentum: '${String(values.momentum)}' must be in [0, 1)`);
  const float = (values.float as string | undefined) ?? 'f32';
  if (float !== 'f32' && float !== 'f64') throw new RnncError(`--float: '${float}' must be f32 or f64`);
  const level = (values.opt as string | undefined) ?? '1';
  if (level !== '0' && level !== '1') throw new RnncError(`--opt: '${level}' must be 0 or 1`);
  return { optimizer: { ...opt, momentum }, clip: positiveNumber('clip', values.clip) ?? null, float, seed: positiveInt('seed', values.seed, 1), opt: level === '0' ? 0 : 1 };
}

export const optimizerHelp = `      --optimizer NAME  sgd (default), momentum or adam
      --lr RATE         learning rate (default 0.1 for sgd and momentum, 0.001 for adam)
      --momentum MU     momentum for 'momentum' (default 0.9)
      --clip NORM       clip gradients to this global L2 norm before each update
      --float TYPE      f32 (default) or f64 arrays in the generated code
      --seed N          default seed of the parameter init (default 1)
  -O, --opt LEVEL       1 (default): every pass of the pipeline ('rnnc ir --help' lists them);
                        0: differentiate only, the code follows the traced graph (a baseline)`;

export const compileCommand: Command = {
  summary: 'compile a cell into a standalone TypeScript trainer module',
  help: `usage: rnnc compile <cell.ts> -o <trainer.ts> [options]

Generates one self-contained ES module (no imports) exporting createTrainer() and spec,
specialised to the bound sizes, batch and sequence length.

  -o, --out FILE        the module to write (.ts)
${cellOptionsHelp.replace('%BATCH%', '32').replace('%SEQ%', '32')}
${optimizerHelp}`,
  options: { ...cellOptions, ...optimizerOptions, out: { type: 'string', short: 'o' } },
  async run(values, positionals) {
    if (typeof values.out !== 'string') throw new RnncError('missing -o <trainer.ts>');
    // the output path first: a bad one fails before any work, and nothing is written
    checkExtension(values.out, ['.ts', '.mts']);
    checkOutputPath(values.out);
    const job = await loadJob(values, positionals, { batch: 32, seq: 32 });
    // loaded on use: code generation pulls in ts-morph and TypeScript, which other commands do not need
    const { compileTrainer } = await import('../compile.ts');
    const source = compileTrainer(job.cell, { seq: job.seq, truncation: job.truncation, ...optimizerFrom(values) });
    writeAtomic(values.out, source);
    console.error(`rnnc: wrote ${values.out} (${job.cell.def.name}: batch ${job.cell.batch}, seq ${job.seq}, ${source.length} bytes)`);
    return 0;
  },
};
