/**
 * A real WebGPU device in Node for the tests: Dawn (the `webgpu` package) on SwiftShader, the CPU
 * Vulkan driver Debian's chromium ships, loaded through Debian's Vulkan loader (libvulkan1); `npm
 * test` installs both (scripts/ensure-system-packages.mjs). No adapter fails the tests loudly,
 * with what to install: they never skip.
 */
import { compileTrainer, type CompileOptions } from '../src/compile.ts';
import type { TracedCell } from '../src/dsl/trace.ts';
import { importGenerated } from '../src/run-module.ts';
import type { DiagnoseOptions, Diagnosis, ForwardOptions, GenTrainer } from './trainer-helpers.ts';
import { nodeDevice } from '../src/webgpu-node.ts';

/** The trainer API of the WebGPU target, as the tests use it. */
export interface GpuTrainer {
  hyper: GenTrainer['hyper'];
  readonly lastStep: GenTrainer['lastStep'];
  lossAndGrad(batch: unknown): Promise<number>;
  step(batch: unknown): Promise<number>;
  predict(inputs: unknown, out?: Float32Array, options?: ForwardOptions): Promise<Float32Array>;
  evaluate(batch: unknown, options?: ForwardOptions): Promise<number>;
  diagnose(batch: unknown, options?: DiagnoseOptions): Promise<Diagnosis>;
  saveCheckpoint(): Promise<string>;
  loadCheckpoint(json: string): Promise<void>;
  resetState(): void;
  readParams(): Promise<Record<string, Float32Array>>;
  readGrads(): Promise<Record<string, Float32Array>>;
  readState(): Promise<Record<string, Float32Array>>;
  writeParams(values: Record<string, Float32Array>): Promise<void>;
  saveParams(): Promise<string>;
  loadParams(json: string): Promise<void>;
  destroy(): void;
}

export interface GpuModule {
  spec: { backend: string; limits: Record<string, number>; work: Record<string, number> };
  createTrainer(device: GPUDevice, options?: Record<string, unknown>): Promise<GpuTrainer>;
}

/** A device of the test's own (Dawn on SwiftShader; src/webgpu-node.ts). */
export const gpuDevice = nodeDevice;

export async function compileGpu(c: TracedCell, opts: CompileOptions): Promise<GpuModule> {
  return importGenerated<GpuModule>(compileTrainer(c, { ...opts, target: 'webgpu' }));
}
