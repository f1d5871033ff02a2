/**
 * `rnnc check --target webgpu`: the compiled WGSL trainer against the TS target compiled from the
 * same cell, both in float32 and with the same seeded parameters, on one random batch: the loss,
 * every gradient, the state, and after three Adam steps (clipped) the parameters and the logits
 * of predict. Differences are relative to each array's scale (max |a − b| / (10⁻³ + max |b|)):
 * the two targets sum in different orders, so a few float32 ulps per operation are expected,
 * and a wrong kernel is off at the scale itself.
 */
import { randomInputs } from '../ir/gradcheck.ts';
import type { Tensor } from '../ir/tensor.ts';
import { intBounds } from './check.ts';
import { compileTrainer, defaultOptimizer } from './compile.ts';
import type { TracedCell } from './dsl/trace.ts';
import { sequenceGraph, type Truncation } from './layout.ts';
import { importGenerated } from './run-module.ts';
import { nodeDevice } from './webgpu-node.ts';

type Arrays = Record<string, Float32Array>;
interface TsTrainer { params: Arrays; grads: Arrays; state: Arrays; lossAndGrad(b: unknown): number; step(b: unknown): number; predict(i: unknown): Float32Array; resetState(): void }
interface GpuTrainer { lossAndGrad(b: unknown): Promise<number>; step(b: unknown): Promise<number>; predict(i: unknown): Promise<Float32Array>; resetState(): void; readParams(): Promise<Arrays>; readGrads(): Promise<Arrays>; readState(): Promise<Arrays>; destroy(): void }

export const WEBGPU_TOLERANCE = 1e-4;

export interface WebGpuCheck {
  readonly adapter: string;
  /** Each compared quantity: its largest scaled difference and where. */
  readonly rows: readonly { readonly what: string; readonly diff: number; readonly where: string }[];
  readonly ok: boolean;
}

/** The largest scaled difference over the named arrays, and where it is. */
function worst(a: Arrays, b: Arrays): { diff: number; where: string } {
  let best = { diff: -1, where: '' };
  for (const name of Object.keys(b)) {
    const x = a[name]!, y = b[name]!;
    let scale = 0, d = -1, at = 0;
    for (let i = 0; i < y.length; i++) {
      scale = Math.max(scale, Math.abs(y[i]!));
      const e = Math.abs(x[i]! - y[i]!);
      if (!(e <= d)) (d = e), (at = i);
    }
    const diff = d / (1e-3 + scale);
    if (!(diff <= best.diff)) best = { diff, where: `${name}[${at}]` };
  }
  return best;
}

export async function checkWebGpu(c: TracedCell, seq: number, truncation: Truncation, seed = 1): Promise<WebGpuCheck> {
  const opts = { seq, truncation, optimizer: defaultOptimizer('adam', 0.01), clip: 1, seed };
  const ts = (await importGenerated<{ createTrainer(): TsTrainer }>(compileTrainer(c, opts))).createTrainer();
  const device = await nodeDevice();
  const gpu = await (await importGenerated<{ createTrainer(d: GPUDevice): Promise<GpuTrainer> }>(compileTrainer(c, { ...opts, target: 'webgpu' }))).createTrainer(device);
  try {
    const env = randomInputs(sequenceGraph(c, seq, { k1: seq, k2: seq }), seed, intBounds(c));
    const asArray = (x: Tensor) => (x.dtype === 'i32' ? Int32Array.from(x.data) : Float32Array.from(x.data));
    const batch = { inputs: Object.fromEntries(c.inputs.map((i) => [i.name, asArray(env[i.name]!)])), targets: asArray(env.target!) };
    const rows: { what: string; diff: number; where: string }[] = [];
    const lossTs = ts.lossAndGrad(batch), lossGpu = await gpu.lossAndGrad(batch);
    rows.push({ what: 'loss', ...worst({ loss: Float32Array.of(lossGpu) }, { loss: Float32Array.of(lossTs) }) });
    rows.push({ what: 'gradients', ...worst(await gpu.readGrads(), ts.grads) });
    rows.push({ what: 'state after lossAndGrad', ...worst(await gpu.readState(), ts.state) });
    ts.resetState();
    gpu.resetState();
    for (let i = 0; i < 3; i++) ts.step(batch), await gpu.step(batch);
    rows.push({ what: 'parameters after 3 steps', ...worst(await gpu.readParams(), ts.params) });
    rows.push({ what: 'state after 3 steps', ...worst(await gpu.readState(), ts.state) });
    ts.resetState();
    gpu.resetState();
    rows.push({ what: 'logits of predict', ...worst({ logits: await gpu.predict(batch.inputs) }, { logits: ts.predict(batch.inputs) }) });
    const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    return { adapter: info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unnamed adapter' : 'unnamed adapter', rows, ok: rows.every((r) => r.diff <= WEBGPU_TOLERANCE) };
  } finally {
    gpu.destroy();
    device.destroy();
  }
}

export function formatWebGpuCheck(r: WebGpuCheck): string[] {
  const pad = Math.max(...r.rows.map((x) => x.what.length)) + 2;
  const lines = r.rows.map((x) => `  ${x.what.padEnd(pad)}${x.diff.toExponential(2)}  (at ${x.where})`);
  const largest = r.rows.reduce((a, b) => (b.diff > a.diff ? b : a));
  const verdict = `${r.ok ? 'ok' : 'FAILED'}: the largest difference is ${largest.diff.toExponential(2)} of the scale (${largest.what}, ${largest.where}); tolerance ${WEBGPU_TOLERANCE.toExponential(0)}`;
  return [`WebGPU (${r.adapter}) against the TS target, float32, scaled differences:`, ...lines, verdict];
}
