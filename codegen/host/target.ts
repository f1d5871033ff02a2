/**
 * What a target supplies to the shared host (codegen/host/trainer.ts). The host writes the trainer
 * API once — spec, types, createTrainer, batch checks, the windows of a sequence, rollback,
 * clipping, save/load — and reaches buffers and kernels only through this interface: a target
 * declares the schedule's buffers, renders each schedule function, and supplies the few whole-array
 * kernels of the host (the optimizer update, the gradient norm, the finiteness check).
 * docs/schedule.md says how to add one.
 */
import type { CodeBlockWriter } from 'ts-morph';
import type { OptimizerKind } from '../../ir/program.ts';
import type { MemoryPlan, Schedule, ScheduleFunction, View } from '../schedule/types.ts';

export interface Target {
  readonly name: string;
  /** The array type of the module's floats (the schedule's 'f32' buffers). */
  readonly floatArray: string;
  /** Arena offsets are multiples of this many elements (WebGPU binds at 256-byte offsets). */
  readonly alignElements: number;
  /**
   * Statements inside createTrainer, after P, G, S, M, V and the input bindings (`in_<name>`,
   * `in_target`) exist: the schedule's scratch arena and constants.
   */
  declareBuffers(w: CodeBlockWriter, schedule: Schedule, plan: MemoryPlan): void;
  /** A schedule function as a function inside createTrainer: `name(args): number` (its result, or 0). */
  renderFunction(w: CodeBlockWriter, fn: ScheduleFunction): void;
  /** Statements copying `size` elements of `from` into the array named `to`, from element `at` (an expression). */
  copyOut(w: CodeBlockWriter, from: View, to: string, at: string, size: number): void;
  /** An expression: a fresh array of `size` elements of `from`. */
  sliceOut(from: View, size: number): string;
  /** `function update(): void`: one optimizer step over P from G (moments M, V; `hyper`, `stepCount`). */
  writeUpdate(w: CodeBlockWriter, kind: OptimizerKind): void;
  /** `function clip(): number`: the global L2 norm of G, before G is scaled to norm `hyper.clip` when it is longer (and `hyper.clip` is not null). */
  writeClip(w: CodeBlockWriter): void;
  // Optional: a target whose kernels see only their own memory (wasm) places the host's arrays there.
  /** Module-level statements after the host's helpers (the wasm target's bytes, its async creator). */
  moduleStatements?(schedule: Schedule, plan: MemoryPlan, arrays: ArraySizes): string[];
  /** Declares `const P, G, S, M, V` (floatArray) first thing in createTrainer; by default fresh arrays. */
  declareArrays?(w: CodeBlockWriter, arrays: ArraySizes): void;
  /** Statements run once the inputs are bound (`in_<name>` set), in bind() and in predict(). */
  afterBind?(w: CodeBlockWriter): void;
}

/** Elements of the parameters P (and gradients G), the state S and the optimizer's moments M and V. */
export interface ArraySizes {
  readonly P: number;
  readonly S: number;
  readonly M: number;
  readonly V: number;
}
