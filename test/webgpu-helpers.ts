/**
 * A real WebGPU device in Node for the tests: Dawn (the `webgpu` package) on SwiftShader, the CPU
 * Vulkan driver Debian's chromium ships, loaded through Debian's Vulkan loader (libvulkan1); `npm
 * test` installs both (scripts/ensure-system-packages.mjs). No adapter fails the tests loudly,
 * with what to install: they never skip.
 */
import fs from 'node:fs';
import { compileTrainer, type CompileOptions } from '../src/compile.ts';
import type { TracedCell } from '../src/dsl/trace.ts';
import { importGenerated } from '../src/run-module.ts';

export const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** The trainer API of the WebGPU target, as the tests use it. */
export interface GpuTrainer {
  hyper: { lr: number; momentum: number; beta1: number; beta2: number; eps: number; clip: number | null };
  lossAndGrad(batch: unknown): Promise<number>;
  step(batch: unknown): Promise<number>;
  predict(inputs: unknown): Promise<Float32Array>;
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
  spec: { backend: string; limits: Record<string, number> };
  createTrainer(device: GPUDevice, options?: Record<string, unknown>): Promise<GpuTrainer>;
}

let gpu: GPU | undefined;

/** The SwiftShader adapter (the `create()` object kept reachable for the process: Dawn crashes if it is collected). */
export async function swiftShaderAdapter(): Promise<GPUAdapter> {
  if (!fs.existsSync(SWIFTSHADER)) throw new Error(`no WebGPU for the tests: ${SWIFTSHADER} is missing; install Debian's chromium and libvulkan1 (npm test does, as root)`);
  process.env.VK_ICD_FILENAMES ??= SWIFTSHADER;
  if (!gpu) {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    gpu = create([]);
    (globalThis as { __rnncGpu?: unknown }).__rnncGpu = gpu;
  }
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter: Dawn found no Vulkan device (is libvulkan1 installed, and VK_ICD_FILENAMES pointing at SwiftShader?)');
  return adapter;
}

export async function gpuDevice(limits?: Record<string, number>): Promise<GPUDevice> {
  const adapter = await swiftShaderAdapter();
  const device = await adapter.requestDevice(limits ? { requiredLimits: limits } : undefined);
  device.addEventListener('uncapturederror', (e) => {
    throw new Error(`WebGPU error: ${(e as GPUUncapturedErrorEvent).error.message}`);
  });
  return device;
}

export async function compileGpu(c: TracedCell, opts: CompileOptions): Promise<GpuModule> {
  return importGenerated<GpuModule>(compileTrainer(c, { ...opts, target: 'webgpu' }));
}
