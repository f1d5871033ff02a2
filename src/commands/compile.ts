import path from 'node:path';
import { RnncError } from '../../ir/error.ts';
import { defaultOptimizer, type OptimizerSpec } from '../../codegen/host/runtime.ts';
import type { OptimizerKind } from '../../ir/program.ts';

const OPTIMIZERS: readonly OptimizerKind[] = ['sgd', 'momentum', 'adam', 'adamw', 'rmsprop'];
import { moduleTypeAdvice } from '../package-type.ts';
import { checkExtension, checkNotInput, checkOutputPath, writeAtomicAll } from '../write.ts';
import { cellOptions, cellOptionsHelp, parseBindings, positiveInt, truncationOf, type Command, type Values } from './common.ts';

export const optimizerOptions = {
  optimizer: { type: 'string' },
  lr: { type: 'string' },
  momentum: { type: 'string' },
  'weight-decay': { type: 'string' },
  clip: { type: 'string' },
  float: { type: 'string' },
  seed: { type: 'string' },
  opt: { type: 'string', short: 'O' },
  'gpu-loops': { type: 'string' },
} as const;

function positiveNumber(flag: string, raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new RnncError(`--${flag}: '${String(raw)}' must be a positive number`);
  return n;
}

export function optimizerFrom(values: Values): { optimizer: OptimizerSpec; clip: number | null; float: 'f32' | 'f64'; seed: number; opt: 0 | 1 } {
  const kind = (values.optimizer as string | undefined) ?? 'sgd';
  if (!OPTIMIZERS.includes(kind as OptimizerKind)) throw new RnncError(`--optimizer: '${kind}' must be ${OPTIMIZERS.slice(0, -1).join(', ')} or ${OPTIMIZERS.at(-1)}`);
  const opt = defaultOptimizer(kind as OptimizerKind, positiveNumber('lr', values.lr));
  if (values['weight-decay'] !== undefined && kind !== 'adamw') {
    throw new RnncError(`--weight-decay: only --optimizer adamw uses it, and the optimizer is ${kind}${values.optimizer === undefined ? ' (the default)' : ''}`);
  }
  const weightDecay = values['weight-decay'] === undefined ? opt.weightDecay : Number(values['weight-decay']);
  if (!(Number.isFinite(weightDecay) && weightDecay >= 0)) throw new RnncError(`--weight-decay: '${String(values['weight-decay'])}' must be a non-negative number`);
  // only the momentum optimizer reads it: with another, the flag would silently do nothing
  if (values.momentum !== undefined && kind !== 'momentum') {
    throw new RnncError(`--momentum: only --optimizer momentum uses it, and the optimizer is ${kind}${values.optimizer === undefined ? ' (the default)' : ''}`);
  }
  const momentum = values.momentum === undefined ? opt.momentum : Number(values.momentum);
  if (!(momentum >= 0 && momentum < 1)) throw new RnncError(`--momentum: '${String(values.momentum)}' must be in [0, 1)`);
  const float = (values.float as string | undefined) ?? 'f32';
  if (float !== 'f32' && float !== 'f64') throw new RnncError(`--float: '${float}' must be f32 or f64`);
  const level = (values.opt as string | undefined) ?? '1';
  if (level !== '0' && level !== '1') throw new RnncError(`--opt: '${level}' must be 0 or 1`);
  return { optimizer: { ...opt, momentum, weightDecay }, clip: positiveNumber('clip', values.clip) ?? null, float, seed: positiveInt('seed', values.seed, 1), opt: level === '0' ? 0 : 1 };
}

export const optimizerHelp = `      --optimizer NAME  sgd (default), momentum, adam, adamw or rmsprop
      --lr RATE         learning rate (default 0.1 for sgd and momentum, 0.001 for adam and adamw,
                        0.01 for rmsprop)
      --momentum MU     momentum for 'momentum' (default 0.9)
      --weight-decay L  decoupled weight decay for 'adamw' (default 0.01)
      --clip NORM       clip gradients to this global L2 norm before each update
      --float TYPE      f32 (default) or f64 arrays in the generated code
      --seed N          default seed of the parameter init (default 1)
  -O, --opt LEVEL       1 (default): every pass of the pipeline ('rnnc ir --help' lists them);
                        0: differentiate only, the code follows the traced graph (a baseline)`;

/** --target, checked against --float (wasm and WebGPU compute in float32). */
export function targetFrom(values: Values, float: 'f32' | 'f64'): 'ts' | 'wasm' | 'webgpu' {
  const target = (values.target as string | undefined) ?? 'ts';
  if (target !== 'ts' && target !== 'wasm' && target !== 'webgpu') throw new RnncError(`--target: '${target}' must be ts, wasm or webgpu`);
  if (target === 'wasm' && float === 'f64') throw new RnncError('--target wasm computes in float32 only: drop --float f64, or use --target ts for float64');
  if (target === 'webgpu' && float === 'f64') throw new RnncError('--target webgpu: WebGPU computes in float32; leave out --float f64');
  return target;
}

/** --gpu-loops, which only the WebGPU target reads. */
export function gpuLoopsFrom(values: Values): 'persistent' | 'per-step' | undefined {
  const loops = values['gpu-loops'] as string | undefined;
  if (loops === undefined) return undefined;
  if (values.target !== 'webgpu') throw new RnncError(`--gpu-loops: only --target webgpu uses it`);
  if (loops !== 'persistent' && loops !== 'per-step') throw new RnncError(`--gpu-loops: '${loops}' must be persistent or per-step`);
  return loops;
}

/** What each output extension writes: the module's format and, for JavaScript, where its declarations go. */
const OUTPUTS: Record<string, { format: 'ts' | 'js'; dts?: string }> = {
  '.ts': { format: 'ts' },
  '.mts': { format: 'ts' },
  '.js': { format: 'js', dts: '.d.ts' },
  '.mjs': { format: 'js', dts: '.d.mts' },
};

export const compileCommand: Command = {
  summary: 'compile a cell into a standalone trainer module (TypeScript, or JavaScript with its .d.ts)',
  help: `usage: rnnc compile <cell.ts> -o <trainer.ts|.mts|.js|.mjs> [options]

Generates one self-contained ES module (no imports) exporting createTrainer() and spec,
specialised to the bound sizes, batch and sequence length. A .js or .mjs output is the same
module as plain JavaScript, with its types beside it (trainer.d.ts, or trainer.d.mts for .mjs).
A .ts or .js module is an ES module only in a package whose package.json says "type": "module";
elsewhere rnnc says so and suggests .mts or .mjs, which are ES modules anywhere.

  -o, --out FILE        the module to write (.ts, .mts, .js or .mjs)
      --target NAME     ts (default): every kernel as plain loops over typed arrays (f32 or f64);
                        wasm: the kernels as WebAssembly SIMD embedded in the module (float32
                        only; docs/wasm.md); webgpu: WGSL shaders and an async host on a
                        GPUDevice you pass in (float32 only; docs/webgpu.md)
      --gpu-loops HOW   webgpu: persistent (default: each loop over steps that allows it
                        is one dispatch) or per-step (a dispatch per kernel per step)
${cellOptionsHelp.replace('%BATCH%', '32').replace('%SEQ%', '32')}
${optimizerHelp}
      --diagnose        compile trainer.diagnose() (the gradient through time, per step; it keeps
                        every step's states and their gradients, so the trainer's memory grows)`,
  options: { ...cellOptions, ...optimizerOptions, target: { type: 'string' }, out: { type: 'string', short: 'o' }, diagnose: { type: 'boolean' } },
  async run(values, positionals) {
    if (typeof values.out !== 'string') throw new RnncError('missing -o <trainer.ts>');
    const out = values.out;
    // the output path first: a bad one fails before any work, and nothing is written
    checkExtension(out, Object.keys(OUTPUTS));
    const { format, dts } = OUTPUTS[path.extname(out).toLowerCase()]!;
    const dtsFile = dts === undefined ? undefined : out.slice(0, -path.extname(out).length) + dts;
    checkOutputPath(out);
    if (dtsFile !== undefined) checkOutputPath(dtsFile);
    if (positionals.length !== 1) throw new RnncError(`expects one cell file, got ${positionals.length ? positionals.join(' ') : 'none'}`);
    for (const f of dtsFile === undefined ? [out] : [out, dtsFile]) checkNotInput(f, positionals);
    const { optimizer, ...rest } = optimizerFrom(values);
    const target = targetFrom(values, rest.float);
    const gpuLoops = gpuLoopsFrom(values);
    const lossOn = values['loss-on'] as string | undefined;
    if (lossOn !== undefined && lossOn !== 'every' && lossOn !== 'last') throw new RnncError(`--loss-on: '${lossOn}' must be 'every' or 'last'`);
    const loss = values.loss as string | undefined;
    if (loss !== undefined && loss !== 'ce' && loss !== 'mse') throw new RnncError(`--loss: '${loss}' must be 'ce' or 'mse'`);
    const seq = positiveInt('seq', values.seq, 32);
    truncationOf(values, seq); // refuses a window longer than the sequence in the flags' words (compile() refuses it too)
    // the flags' text checked above, naming each flag; the library checks the values again for its own callers
    const { compile } = await import('../compile-module.ts');
    const m = await compile(positionals[0]!, {
      sizes: parseBindings('size', values.size, false),
      batch: positiveInt('batch', values.batch, 32),
      seq,
      truncate: values.truncate as string | undefined,
      embed: parseBindings('embed', values.embed),
      loss,
      lossOn,
      ...(values.lengths ? { lengths: true } : {}),
      optimizer: optimizer.kind,
      lr: optimizer.lr,
      momentum: optimizer.momentum,
      weightDecay: optimizer.weightDecay,
      ...rest,
      diagnose: values.diagnose === true,
      format,
      target,
      gpuLoops,
    });
    writeAtomicAll(dtsFile === undefined || m.dts === undefined ? [{ file: out, data: m.code }] : [{ file: out, data: m.code }, { file: dtsFile, data: m.dts }]);
    const advice = moduleTypeAdvice(out);
    if (advice !== null) console.error(`rnnc compile: warning: ${advice}`);
    console.error(`rnnc: wrote ${out}${dtsFile === undefined ? '' : ` and ${dtsFile}`} (${m.cell}: batch ${m.batch}, seq ${m.seq}, ${Buffer.byteLength(m.code)} bytes)`);
    return 0;
  },
};
