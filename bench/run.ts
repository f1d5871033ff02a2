/**
 * `npm run bench`: the generated Elman and LSTM trainers against TensorFlow.js doing the same
 * work in the same process (B=32, T=64, X=64, H=128, Y=64, dense inputs, cross-entropy at every
 * step, full BPTT, SGD). Prints steps·batch per second and the ratios; the same trainer compiled
 * at -O0 (no pass but autodiff) is the baseline for what the optimizing passes buy.
 * BENCH_SECONDS sets the time per measurement (default 3).
 */
import elman from '../examples/cells/elman.ts';
import lstm from '../examples/cells/lstm.ts';
import { compileTrainer } from '../src/compile.ts';
import { traceCell } from '../src/dsl/trace.ts';
import { importGenerated } from '../src/run-module.ts';
import { tfjsStepsPerSecond, type BenchCell, type BenchSizes } from './tfjs-baseline.ts';

interface Trainer {
  step(batch: { inputs: { x: Float32Array }; targets: Int32Array }): number;
}

const sizes: BenchSizes = { B: 32, T: 64, X: 64, H: 128, Y: 64 };
const seconds = Number(process.env.BENCH_SECONDS ?? 3);

async function rnncStepsPerSecond(cell: BenchCell, opt: 0 | 1): Promise<{ stepsPerSec: number; lossFirst: number; lossLast: number }> {
  const { B, T, X, H, Y } = sizes;
  const traced = traceCell(cell === 'elman' ? elman : lstm, { sizes: { X, H, Y }, batch: B });
  const mod = await importGenerated<{ createTrainer(o?: { lr?: number }): Trainer }>(compileTrainer(traced, { seq: T, opt }));
  const trainer = mod.createTrainer({ lr: 0.1 });
  // the same kind of data as the tfjs baseline: normal inputs, uniform class targets, seeded
  let seed = 42;
  const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const x = Float32Array.from({ length: T * B * X }, () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()));
  const targets = Int32Array.from({ length: T * B }, () => Math.floor(rand() * Y));
  const batch = { inputs: { x }, targets };
  const lossFirst = trainer.step(batch); // warm-up: JIT compiles the kernels
  trainer.step(batch);
  let n = 0, lossLast = lossFirst;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    lossLast = trainer.step(batch);
    n++;
  }
  return { stepsPerSec: n / ((performance.now() - start) / 1000), lossFirst, lossLast };
}

console.log(`rnnc vs TensorFlow.js 4.22, ${JSON.stringify(sizes)}, full BPTT, SGD, ~${seconds} s per row`);
console.log('cell   system       samples/s   loss first -> last');
const rows: string[] = [];
for (const cell of ['elman', 'lstm'] as const) {
  const ours = await rnncStepsPerSecond(cell, 1);
  const o0 = await rnncStepsPerSecond(cell, 0);
  const cpu = await tfjsStepsPerSecond(cell, 'cpu', sizes, { seconds });
  const wasm = await tfjsStepsPerSecond(cell, 'wasm', sizes, { seconds });
  const line = (name: string, sps: number, a: number, b: number) => console.log(`${cell.padEnd(6)} ${name.padEnd(12)} ${(sps * sizes.B).toFixed(1).padStart(9)}   ${a.toFixed(4)} -> ${b.toFixed(4)}`);
  line('rnnc (ts)', ours.stepsPerSec, ours.lossFirst, ours.lossLast);
  line('rnnc -O0', o0.stepsPerSec, o0.lossFirst, o0.lossLast);
  line('tfjs cpu', cpu.stepsPerSec, cpu.lossFirst, cpu.lossLast);
  line('tfjs wasm', wasm.stepsPerSec, wasm.lossFirst, wasm.lossLast);
  rows.push(`${cell}: rnnc / tfjs-cpu = ${(ours.stepsPerSec / cpu.stepsPerSec).toFixed(2)}×, rnnc / tfjs-wasm = ${(ours.stepsPerSec / wasm.stepsPerSec).toFixed(2)}×, rnnc / rnnc -O0 = ${(ours.stepsPerSec / o0.stepsPerSec).toFixed(2)}×`);
}
console.log(`\n${rows.join('\n')}`);
