/**
 * `npm run bench:webgpu`: the WebGPU trainer on the device Node finds (Dawn; SwiftShader on a
 * machine without a GPU) beside the TS trainer of the same cell in the same process, at the sizes
 * of `npm run bench`. On SwiftShader the times say nothing about a GPU: what this measures there
 * is the work a step submits (dispatches and command buffers), which is what decides speed on a
 * real GPU at these sizes. BENCH_SECONDS sets the time per measurement (default 3).
 */
import elman from '../examples/cells/elman.ts';
import lstm from '../examples/cells/lstm.ts';
import { compileTrainer, defaultOptimizer } from '../src/compile.ts';
import { traceCell } from '../src/dsl/trace.ts';
import { importGenerated } from '../src/run-module.ts';
import { nodeDevice } from '../src/webgpu-node.ts';

type Batch = { inputs: { x: Float32Array }; targets: Int32Array };
const sizes = { B: 32, T: 64, X: 64, H: 128, Y: 64 };
const seconds = Number(process.env.BENCH_SECONDS ?? 3);

/** Steps per second of `step`, after two warm-up steps, for about `seconds`. */
async function rate(step: () => number | Promise<number>): Promise<{ perSec: number; loss: number }> {
  await step();
  let loss = await step(), n = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000 || n < 2) (loss = await step()), n++;
  return { perSec: n / ((performance.now() - start) / 1000), loss };
}

const device = await nodeDevice();
const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
console.log(`rnnc WebGPU target on ${info ? `${info.vendor} ${info.description}`.trim() : 'an unnamed adapter'}, ${JSON.stringify(sizes)}, full BPTT, SGD, ~${seconds} s per row`);
console.log('cell   target             samples/s   dispatches/step   command buffers/step   loss');
const { B, T, X, H, Y } = sizes;
let seed = 42;
const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
const batch: Batch = { inputs: { x: Float32Array.from({ length: T * B * X }, () => 2 * rand() - 1) }, targets: Int32Array.from({ length: T * B }, () => Math.floor(rand() * Y)) };
const ratios: string[] = [];
for (const [name, def] of [['elman', elman], ['lstm', lstm]] as const) {
  const c = traceCell(def, { sizes: { X, H, Y }, batch: B });
  const opts = { seq: T, optimizer: defaultOptimizer('sgd', 0.1) };
  const ts = (await importGenerated<{ createTrainer(): { step(b: Batch): number } }>(compileTrainer(c, opts))).createTrainer();
  type Gpu = { spec: { work: { dispatchesPerStep: number; commandBuffersPerStep: number } }; createTrainer(d: GPUDevice): Promise<{ step(b: Batch): Promise<number>; destroy(): void }> };
  const a = await rate(() => ts.step(batch));
  console.log(`${name.padEnd(6)} ${'ts'.padEnd(18)} ${(a.perSec * B).toFixed(1).padStart(9)}   ${'-'.padStart(15)}   ${'-'.padStart(20)}   ${a.loss.toFixed(4)}`);
  const rates: number[] = [];
  for (const loops of ['per-step', 'persistent'] as const) {
    const mod = await importGenerated<Gpu>(compileTrainer(c, { ...opts, target: 'webgpu', gpuLoops: loops }));
    const gpu = await mod.createTrainer(device);
    const b = await rate(() => gpu.step(batch));
    gpu.destroy();
    rates.push(b.perSec);
    const w = mod.spec.work;
    console.log(`${name.padEnd(6)} ${`webgpu ${loops}`.padEnd(18)} ${(b.perSec * B).toFixed(1).padStart(9)}   ${String(w.dispatchesPerStep).padStart(15)}   ${String(w.commandBuffersPerStep).padStart(20)}   ${b.loss.toFixed(4)}`);
  }
  ratios.push(`${name}: webgpu per-step / ts = ${(rates[0]! / a.perSec).toFixed(3)}×, persistent / per-step = ${(rates[1]! / rates[0]!).toFixed(2)}×`);
}
console.log(`\n${ratios.join('\n')}`);
device.destroy();
