/**
 * `compile`, the library entry for build scripts and the body of `rnnc compile`: a cell (its file,
 * its `cell(...)` definition, or a traced cell) and the CLI's options, as values, give the trainer
 * module's text, TypeScript or JavaScript with its declarations. It writes nothing.
 */
import { RnncError } from '../ir/error.ts';
import type { OptimizerKind, Truncation } from '../ir/program.ts';
import { defaultOptimizer } from '../codegen/host/runtime.ts';
import { isCellDef, type CellDef } from './dsl/cell.ts';
import { traceCell, type TracedCell } from './dsl/trace.ts';
import { parseTruncation } from './layout.ts';
import { loadCell } from './load.ts';

/** The flags of `rnnc compile` as values (`rnnc compile --help` says what each does). */
export interface ModuleOptions {
  /** --size: sizes the cell leaves open (null) or overrides. */
  readonly sizes?: Readonly<Record<string, number>>;
  /** --batch (default 32). */
  readonly batch?: number;
  /** --seq (default 32). */
  readonly seq?: number;
  /** --truncate: k, or 'k1:k2' (default: full BPTT). */
  readonly truncate?: number | string;
  /** --embed: dense inputs fed from token ids through an embedding table, name -> vocabulary size. */
  readonly embed?: Readonly<Record<string, number>>;
  readonly loss?: 'ce' | 'mse';
  readonly lossOn?: 'every' | 'last';
  /** --lengths: batches may carry lengths [B] and targets of -100 (docs/lengths.md). */
  readonly lengths?: boolean;
  readonly optimizer?: OptimizerKind;
  /** Default 0.1 for sgd and momentum, 0.001 for adam. */
  readonly lr?: number;
  /** For 'momentum' (default 0.9). */
  readonly momentum?: number;
  /** For 'adamw' (default 0.01). */
  readonly weightDecay?: number;
  /** Clip gradients to this global L2 norm (default null: no clipping). */
  readonly clip?: number | null;
  readonly float?: 'f32' | 'f64';
  /** Default seed of the parameter init (default 1). */
  readonly seed?: number;
  /** -O: 1 (default) every pass, 0 differentiate only. */
  readonly opt?: 0 | 1;
  /** Compile trainer.diagnose() (default false; --diagnose). */
  readonly diagnose?: boolean;
  /** 'ts' (default): a TypeScript module; 'js': a JavaScript module and its declarations. */
  readonly format?: 'ts' | 'js';
  /** 'ts' (default): TypeScript loops; 'wasm': the kernels as WebAssembly SIMD (float32 only, docs/wasm.md); 'webgpu': WGSL shaders driven on a GPUDevice (float32 only, docs/webgpu.md). */
  readonly target?: 'ts' | 'wasm' | 'webgpu';
  /** WebGPU: 'persistent' (default) or 'per-step' loops over time steps (docs/webgpu.md). */
  readonly gpuLoops?: 'persistent' | 'per-step';
}

export interface CompiledModule {
  /** The module's text: TypeScript, or JavaScript for format 'js'. */
  readonly code: string;
  /** For format 'js', the declarations to write beside it (`trainer.d.ts` for `trainer.js`, `trainer.d.mts` for `.mjs`). */
  readonly dts?: string;
  readonly cell: string;
  readonly batch: number;
  readonly seq: number;
}

/** Options that bind the cell, so a traced cell (already bound) cannot take them. */
const TRACE_KEYS = ['sizes', 'batch', 'embed', 'loss', 'lossOn', 'lengths'] as const;
const KEYS: readonly (keyof ModuleOptions)[] = [...TRACE_KEYS, 'seq', 'truncate', 'optimizer', 'lr', 'momentum', 'weightDecay', 'clip', 'float', 'seed', 'opt', 'diagnose', 'format', 'target', 'gpuLoops'];

const isTraced = (x: unknown): x is TracedCell => typeof x === 'object' && x !== null && isCellDef((x as { def?: unknown }).def) && 'step' in x && 'head' in x;

const show = (v: unknown) => (typeof v === 'string' ? `'${v}'` : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));
const bad = (key: string, v: unknown, what: string) => new RnncError(`compile: option '${key}' must be ${what}, got ${show(v)}`);

function oneOf<T extends string | number>(key: string, v: unknown, allowed: readonly T[]): T | undefined {
  if (v !== undefined && !allowed.includes(v as T)) throw bad(key, v, allowed.map(show).join(' or '));
  return v as T | undefined;
}

function flag(key: string, v: unknown): boolean {
  if (v !== undefined && typeof v !== 'boolean') throw bad(key, v, 'true or false');
  return v === true;
}

function positive(key: string, v: unknown, integer: boolean): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) throw bad(key, v, integer ? 'a positive integer' : 'a positive number');
  return v;
}

function bindings(key: string, v: unknown): Readonly<Record<string, number>> | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(key, v, 'an object of name: number');
  for (const [k, n] of Object.entries(v)) if (typeof n !== 'number') throw bad(`${key}.${k}`, n, 'a number');
  return v as Record<string, number>;
}

/**
 * The truncation asked for, refused (as the CLI does) when it is longer than the sequence: a typo
 * in `seq` or `truncate` must not quietly become full BPTT. (parseTruncation, a step lower, clamps.)
 */
function truncationWithin(truncate: number | string | undefined, seq: number): Truncation {
  const asked = parseTruncation(truncate, Infinity); // checks the text; Infinity: nothing clamped
  const longest = !Number.isFinite(asked.k1) ? null : asked.k1 > seq ? 'k1' : asked.k2 > seq ? 'k2' : null;
  if (longest !== null) {
    const what = String(truncate).includes(':') ? `${longest} (${asked[longest]}) is` : `windows of ${asked.k1} steps are`;
    throw new RnncError(`compile: option 'truncate' (${show(truncate)}): ${what} longer than the sequence (seq ${seq}): use at most ${seq}, or a longer seq`);
  }
  return parseTruncation(truncate, seq);
}

/** Compile a cell into a trainer module. Errors are RnncErrors naming the option, the cell file or the cell's line. */
export async function compile(cell: string | CellDef | TracedCell, options: ModuleOptions = {}): Promise<CompiledModule> {
  for (const k of Object.keys(options)) if (!KEYS.includes(k as keyof ModuleOptions)) throw new RnncError(`compile: unknown option '${k}'; the options are ${KEYS.join(', ')}`);
  const o = options as Record<string, unknown>;
  const format = oneOf('format', o.format, ['ts', 'js'] as const) ?? 'ts';
  const seq = positive('seq', o.seq, true) ?? 32;
  const truncate = o.truncate;
  if (truncate !== undefined && typeof truncate !== 'number' && typeof truncate !== 'string') throw bad('truncate', truncate, "k or 'k1:k2'");
  const truncation = truncationWithin(truncate, seq);
  const kind = oneOf('optimizer', o.optimizer, ['sgd', 'momentum', 'adam', 'adamw', 'rmsprop'] as const) ?? 'sgd';
  const optimizer = defaultOptimizer(kind, positive('lr', o.lr, false));
  const momentum = o.momentum ?? optimizer.momentum;
  if (typeof momentum !== 'number' || !(momentum >= 0 && momentum < 1)) throw bad('momentum', momentum, 'a number in [0, 1)');
  const weightDecay = o.weightDecay ?? optimizer.weightDecay;
  if (typeof weightDecay !== 'number' || !(Number.isFinite(weightDecay) && weightDecay >= 0)) throw bad('weightDecay', weightDecay, 'a non-negative number');
  const clip = o.clip === null ? null : positive('clip', o.clip, false) ?? null;
  const float = oneOf('float', o.float, ['f32', 'f64'] as const) ?? 'f32';
  const target = oneOf('target', o.target, ['ts', 'wasm', 'webgpu'] as const) ?? 'ts';
  const gpuLoops = oneOf('gpuLoops', o.gpuLoops, ['persistent', 'per-step'] as const);
  if (gpuLoops !== undefined && target !== 'webgpu') throw new RnncError("gpuLoops: only target 'webgpu' uses it");
  if (target === 'webgpu' && float === 'f64') throw new RnncError("target 'webgpu': WebGPU computes in float32; float 'f64' is for the TS target");
  const seed = positive('seed', o.seed, true) ?? 1;
  const opt = oneOf('opt', o.opt, [0, 1] as const) ?? 1;
  if (target === 'wasm' && float === 'f64') throw new RnncError("compile: option 'target' 'wasm' computes in float32 only: use float 'f32', or target 'ts' for float64");
  if (o.diagnose !== undefined && typeof o.diagnose !== 'boolean') throw bad('diagnose', o.diagnose, 'true or false');
  const diagnose = o.diagnose === true;

  let traced: TracedCell;
  if (isTraced(cell)) {
    const given = TRACE_KEYS.find((k) => o[k] !== undefined);
    if (given) throw new RnncError(`compile: option '${given}' binds the cell, which is already traced: pass its cell(...) definition or its file instead`);
    traced = cell;
  } else {
    const def = typeof cell === 'string' ? await loadCell(cell) : cell;
    if (!isCellDef(def)) throw new RnncError(`compile: the cell must be a file name, a cell(...) definition or a traced cell, got ${show(def)}`);
    traced = traceCell(def, {
      sizes: bindings('sizes', o.sizes),
      batch: positive('batch', o.batch, true) ?? 32,
      embed: bindings('embed', o.embed),
      loss: oneOf('loss', o.loss, ['ce', 'mse'] as const),
      lossOn: oneOf('lossOn', o.lossOn, ['every', 'last'] as const),
      lengths: flag('lengths', o.lengths),
    });
  }
  // loaded on use: code generation pulls in ts-morph, and JavaScript output the TypeScript compiler
  const { compileTrainer } = await import('./compile.ts');
  const source = compileTrainer(traced, { seq, truncation, optimizer: { ...optimizer, momentum, weightDecay }, clip, float, seed, opt, diagnose, target, gpuLoops });
  const info = { cell: traced.def.name, batch: traced.batch, seq };
  if (format === 'ts') return { code: source, ...info };
  const { emitJavaScript } = await import('./emit-js.ts');
  const { js, dts } = emitJavaScript(source);
  return { code: js, dts, ...info };
}
