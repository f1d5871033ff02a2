/**
 * A WebGPU device in Node, for `rnnc check --target webgpu`, the benchmarks and the tests: Dawn
 * (the npm package `webgpu`, loaded on use) on the machine's Vulkan driver. Without a GPU,
 * SwiftShader — the CPU Vulkan driver Debian's chromium ships — is used when VK_ICD_FILENAMES is
 * not set: it is for checking results, not for speed (docs/webgpu.md).
 */
import fs from 'node:fs';
import { RnncError } from '../ir/error.ts';

export const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';

let gpu: GPU | undefined;

export async function nodeAdapter(): Promise<GPUAdapter> {
  if (process.env.VK_ICD_FILENAMES === undefined && fs.existsSync(SWIFTSHADER)) process.env.VK_ICD_FILENAMES = SWIFTSHADER;
  if (!gpu) {
    let dawn: typeof import('webgpu');
    try {
      dawn = await import('webgpu');
    } catch {
      throw new RnncError("WebGPU in Node needs the npm package 'webgpu' (Dawn): npm install -D webgpu");
    }
    Object.assign(globalThis, dawn.globals);
    gpu = dawn.create([]);
    // Dawn's process dies if the object create() returns is collected while a device is in use
    (globalThis as { __rnncGpu?: GPU }).__rnncGpu = gpu;
  }
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    throw new RnncError(`no WebGPU adapter: Dawn found no Vulkan device (needs Debian's libvulkan1, and a GPU driver or SwiftShader: apt-get install -y chromium libvulkan1, or set VK_ICD_FILENAMES)`);
  }
  return adapter;
}

/** A device; uncaptured GPU errors are thrown rather than lost. */
export async function nodeDevice(requiredLimits?: Record<string, number>): Promise<GPUDevice> {
  const device = await (await nodeAdapter()).requestDevice(requiredLimits ? { requiredLimits } : undefined);
  device.addEventListener('uncapturederror', (e) => {
    throw new Error(`WebGPU error: ${(e as GPUUncapturedErrorEvent).error.message}`);
  });
  return device;
}
