/**
 * Helpers for the tests of generated trainers: compile + import a module in-process, seeded
 * reference environments for the interpreter, typed batches in the trainer's layout, comparisons.
 */
import { randomInputs } from '../ir/gradcheck.ts';
import { evaluate } from '../ir/interpret.ts';
import { differentiate } from '../ir/passes/differentiate.ts';
import type { Tensor } from '../ir/tensor.ts';
import { compileTrainer, type CompileOptions } from '../src/compile.ts';
import type { TracedCell } from '../src/dsl/trace.ts';
import { predictGraph, sequenceGraph, type Truncation } from '../src/layout.ts';
import { importGenerated } from '../src/run-module.ts';

export type FloatArray = Float32Array | Float64Array;

export interface GenBatch {
  inputs: Record<string, FloatArray | Int32Array>;
  targets: FloatArray | Int32Array;
  /** Variable lengths only. */
  lengths?: Int32Array;
}

/** What a trainer's diagnose returns (codegen/host/diagnose.ts diagnosisType). */
export interface Diagnosis {
  loss: number;
  gradNorm: number;
  states: Record<string, { gradNorm: Float64Array; gradNormPerSequence: Float64Array; norm: Float64Array; normPerSequence: Float64Array }>;
  weights: { param: string; rows: [number, number]; spectralRadius: number; largestSingularValue: number }[];
}
export interface DiagnoseOptions { iterations?: number; seed?: number }

export interface GenTrainer {
  readonly params: Record<string, FloatArray>;
  readonly grads: Record<string, FloatArray>;
  readonly state: Record<string, FloatArray>;
  hyper: { lr: number; momentum: number; beta1: number; beta2: number; eps: number; weightDecay: number; alpha: number; clip: number | null };
  readonly lastStep: { readonly loss: number; readonly gradNorm: number; readonly clipped: boolean };
  lossAndGrad(batch: GenBatch): number;
  step(batch: GenBatch): number;
  predict(inputs: Record<string, FloatArray | Int32Array>, out?: FloatArray, options?: ForwardOptions): FloatArray;
  evaluate(batch: GenBatch, options?: ForwardOptions): number;
  saveCheckpoint(): string;
  loadCheckpoint(json: string): void;
  resetState(): void;
  saveParams(): string;
  loadParams(json: string): void;
  exportParams(): FloatArray;
  importParams(flat: FloatArray): void;
}

export interface ForwardOptions {
  state?: Record<string, FloatArray>;
  final?: Record<string, FloatArray>;
  /** A trainer compiled with --lengths: each sequence's length [n] (predict). */
  lengths?: Int32Array;
}

export interface TrainerOptions {
  seed?: number;
  lr?: number;
  momentum?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  alpha?: number;
  clip?: number | null;
}

export interface GenSpec {
  cell: string;
  sizes: Record<string, number>;
  batch: number;
  seq: number;
  truncate: Truncation | null;
  float: 'f32' | 'f64';
  loss: 'ce' | 'mse';
  lossOn: 'every' | 'last';
  /** Dense arrays: `dtype` is the module's float type, `accepts` every float type its checks take. */
  inputs: Record<string, { dtype: 'f32' | 'f64' | 'i32'; shape: number[]; vocab?: number; accepts?: ('f32' | 'f64')[] }>;
  target: { dtype: 'f32' | 'f64' | 'i32'; shape: number[]; classes?: number; accepts?: ('f32' | 'f64')[] };
  params: Record<string, number[]>;
  state: Record<string, number[]>;
  optimizer: { kind: string; lr: number; momentum: number; beta1: number; beta2: number; eps: number; weightDecay: number; alpha: number };
  init: Record<string, unknown>;
  clip: number | null;
  seed: number;
}

export interface GenModule {
  spec: GenSpec;
  createTrainer(options?: TrainerOptions): GenTrainer;
}

export interface Compiled {
  readonly source: string;
  readonly mod: GenModule;
}

/**
 * The target of the float32 modules compileAndLoad makes when the options name none: 'ts', or
 * RNNC_TEST_TARGET (vitest.config.ts runs the trainer tests again with it set to 'wasm').
 */
export const TEST_TARGET: 'ts' | 'wasm' = process.env.RNNC_TEST_TARGET === 'wasm' ? 'wasm' : 'ts';

/** Compile a traced cell to a trainer module and import it. */
export async function compileAndLoad(c: TracedCell, opts: CompileOptions): Promise<Compiled> {
  const source = compileTrainer(c, { ...opts, target: opts.target ?? (opts.float === 'f64' ? 'ts' : TEST_TARGET) });
  const mod = await importGenerated<GenModule>(source);
  return { source, mod };
}

/** Random integers in range: token ids below their vocabulary, class targets below the class count. */
export function intBounds(c: TracedCell): (name: string) => number {
  return (name) => (name === 'target' ? (c.target.classes ?? 2) : (c.inputs.find((i) => i.name === name)?.vocab ?? 2));
}

/**
 * Seeded values for every input of the sequence graph (params, initial states, inputs, target),
 * floats in [-1, 1]. With `f32`, every float is rounded to float32 first, so that the float64
 * reference sees exactly the numbers the float32 trainer stores.
 */
export function randomEnv(c: TracedCell, seq: number, seed: number, opts: { f32?: boolean } = {}): Record<string, Tensor> {
  const env = randomInputs(sequenceGraph(c, seq, { k1: seq, k2: seq }), seed, intBounds(c));
  if (opts.f32) for (const t of Object.values(env)) if (t.dtype === 'f32') for (let i = 0; i < t.data.length; i++) t.data[i] = Math.fround(t.data[i]!);
  return env;
}

/** Loss, every parameter gradient (grad_<name>) and the final states, by the reference interpreter. */
export function reference(c: TracedCell, seq: number, trunc: Truncation, env: Record<string, Tensor>): Record<string, Tensor> {
  const g = differentiate(sequenceGraph(c, seq, trunc), { loss: 'loss', wrt: c.params.map((p) => p.name) });
  return evaluate(g, env);
}

/** Logits [T, B, Y] and the final states of the inference graph. */
export function referencePredict(c: TracedCell, seq: number, env: Record<string, Tensor>): Record<string, Tensor> {
  const inputs: Record<string, Tensor> = { ...env };
  delete inputs.target;
  return evaluate(predictGraph(c, seq), inputs);
}

/** Copy the environment's parameters and initial states into a trainer (checking lengths). */
export function loadEnv(t: GenTrainer, c: TracedCell, env: Record<string, Tensor>): void {
  for (const p of c.params) {
    const view = t.params[p.name]!;
    if (view.length !== env[p.name]!.data.length) throw new Error(`param ${p.name}: ${view.length} vs ${env[p.name]!.data.length}`);
    view.set(env[p.name]!.data);
  }
  for (const s of c.states) {
    const view = t.state[s.name]!;
    if (view.length !== env[s.name]!.data.length) throw new Error(`state ${s.name}: ${view.length} vs ${env[s.name]!.data.length}`);
    view.set(env[s.name]!.data);
  }
}

/** The batch in the trainer's layout: dense floats as `float`, token ids and class ids as Int32Array. */
export function batchOf(c: TracedCell, env: Record<string, Tensor>, float: 'f32' | 'f64'): GenBatch {
  const F = float === 'f32' ? Float32Array : Float64Array;
  const arr = (t: Tensor) => (t.dtype === 'i32' ? Int32Array.from(t.data) : F.from(t.data));
  return { inputs: Object.fromEntries(c.inputs.map((i) => [i.name, arr(env[i.name]!)])), targets: arr(env.target!) };
}

/** max |a - b| and max |b| over two arrays of one length; a NaN difference makes the first Infinity. */
function diffAndScale(a: ArrayLike<number>, b: ArrayLike<number>): [number, number] {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (Number.isNaN(d)) return [Infinity, 1];
    diff = Math.max(diff, d);
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return [diff, scale];
}

/**
 * max |a - b| / (floor + max |b|): the error relative to the tensor's scale (b is the reference),
 * with a small absolute floor so an all-but-zero tensor is not judged on rounding noise. NaN -> Infinity.
 */
export function scaledErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-3): number {
  const [diff, scale] = diffAndScale(a, b);
  return diff / (floor + scale);
}

/** max |a - b| / max |b|: the error relative to the reference's scale (the difference itself when b is all zeros). NaN -> Infinity. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const [diff, scale] = diffAndScale(a, b);
  return scale === 0 ? diff : diff / scale;
}

/** A snapshot of everything a failed call must leave alone. */
export function snapshot(t: GenTrainer): { P: number[]; G: Record<string, number[]>; S: Record<string, number[]> } {
  const rec = (r: Record<string, FloatArray>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Array.from(v)]));
  return { P: Array.from(t.exportParams()), G: rec(t.grads), S: rec(t.state) };
}
