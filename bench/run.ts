/**
 * `npm run bench`: the generated trainers — TS target and wasm target — against the tuned
 * TensorFlow.js wasm baseline (bench/tfjs-baseline.ts) and PyTorch on one thread
 * (bench/torch_baseline.py, where Debian's python3-torch is installed; the row is skipped with a
 * note where it is not), on four workloads: Elman and LSTM at B=32 T=64 X=64 H=128 Y=64, LSTM at
 * H=512, and Elman at B=1 T=256 H=64 (latency). Dense inputs, cross-entropy at every step, full
 * BPTT, SGD. Prints samples/s (steps × B / s), GFLOP/s (the products' floating-point work per
 * step, below, over the time of a step) and each system's ratio to the wasm target.
 *
 * Paired: BENCH_ROUNDS (default 3) rounds, each timing every system for BENCH_SECONDS (default 2)
 * s (at least one step), in an order that rotates per round, so drift in machine load falls on all
 * alike; a system's figure is its median round. `range` is the lowest and highest per-round ratio.
 * `MiB` is the memory a trainer holds once built and stepped: the growth of V8's `external` memory
 * (which counts typed arrays and WebAssembly memories alike) from a collected heap.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import elman from '../examples/cells/elman.ts';
import lstm from '../examples/cells/lstm.ts';
import { compileTrainer } from '../src/compile.ts';
import { traceCell } from '../src/dsl/trace.ts';
import { importGenerated } from '../src/run-module.ts';
import { tfjsStepsPerSecond, type BenchCell, type BenchSizes } from './tfjs-baseline.ts';

interface Trainer {
  step(batch: { inputs: { x: Float32Array }; targets: Int32Array }): number;
}
interface Measured { stepsPerSec: number; lossFirst: number; lossLast: number }
type System = 'rnnc ts' | 'rnnc wasm' | 'tfjs wasm' | 'pytorch 1 thread';

const seconds = Number(process.env.BENCH_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PYTHON = '/usr/bin/python3';
const TORCH_SCRIPT = fileURLToPath(new URL('./torch_baseline.py', import.meta.url));

const CONFIGS: { cell: BenchCell; sizes: BenchSizes }[] = [
  { cell: 'elman', sizes: { B: 32, T: 64, X: 64, H: 128, Y: 64 } },
  { cell: 'lstm', sizes: { B: 32, T: 64, X: 64, H: 128, Y: 64 } },
  { cell: 'lstm', sizes: { B: 32, T: 64, X: 64, H: 512, Y: 64 } },
  { cell: 'elman', sizes: { B: 1, T: 256, X: 64, H: 64, Y: 64 } },
];

/**
 * The products' floating-point operations in one training step (2 per multiply-add), G = gates·H:
 * forward x·W_ihᵀ, h·W_hhᵀ, h·W_outᵀ; backward dW_out, dH·W_out, dW_hh, δ·W_hh, dW_ih (no dx).
 */
function flopsPerStep(cell: BenchCell, { B, T, X, H, Y }: BenchSizes): number {
  const G = (cell === 'lstm' ? 4 : 1) * H;
  return 2 * T * B * (2 * X * G + 3 * H * G + 3 * H * Y);
}

const describe = (cell: BenchCell, s: BenchSizes) => `${cell} B${s.B} T${s.T} X${s.X} H${s.H} Y${s.Y}`;

/** The data of the tfjs and torch baselines' kind: normal inputs, uniform class targets, seeded. */
function batchOf({ B, T, X, Y }: BenchSizes) {
  let seed = 42;
  const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const x = Float32Array.from({ length: T * B * X }, () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()));
  const targets = Int32Array.from({ length: T * B }, () => Math.floor(rand() * Y));
  return { inputs: { x }, targets };
}

async function rnncTrainer(cell: BenchCell, sizes: BenchSizes, target: 'ts' | 'wasm') {
  const { B, T, X, H, Y } = sizes;
  const traced = traceCell(cell === 'elman' ? elman : lstm, { sizes: { X, H, Y }, batch: B });
  const mod = await importGenerated<{ createTrainer(o?: { lr?: number }): Trainer }>(compileTrainer(traced, { seq: T, target }));
  const batch = batchOf(sizes);
  // V8 frees array buffers' memory off the main thread: collect, give it time, collect again
  gc?.();
  await new Promise((resolve) => setTimeout(resolve, 200));
  gc?.();
  const before = process.memoryUsage().external;
  const trainer = mod.createTrainer({ lr: 0.1 });
  const lossFirst = trainer.step(batch); // warm-up: JIT compiles the kernels
  trainer.step(batch);
  const mib = (process.memoryUsage().external - before) / 2 ** 20;
  let lossLast = lossFirst;
  const measure = (): Measured => {
    let n = 0;
    const start = performance.now();
    do {
      lossLast = trainer.step(batch);
      n++;
    } while (performance.now() - start < seconds * 1000);
    return { stepsPerSec: n / ((performance.now() - start) / 1000), lossFirst, lossLast };
  };
  return { measure, mib };
}

function torchAvailable(): string | null {
  if (!existsSync(PYTHON)) return `no ${PYTHON}`;
  try {
    execFileSync(PYTHON, ['-c', 'import torch'], { stdio: 'pipe' });
    return null;
  } catch {
    return "python3 has no torch (Debian: apt-get install python3-torch)";
  }
}

function torchMeasure(cell: BenchCell, s: BenchSizes): Measured & { torch: string } {
  const args = [TORCH_SCRIPT, '--cell', cell, ...Object.entries(s).flatMap(([k, v]) => [`--${k}`, String(v)]), '--seconds', String(seconds)];
  return JSON.parse(execFileSync(PYTHON, args, { encoding: 'utf8' })) as Measured & { torch: string };
}

/** V8's collector, where node runs with --expose-gc (npm run bench does): memory is measured after it. */
const gc = (globalThis as { gc?: () => void }).gc;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const noTorch = torchAvailable();
console.log(`rnnc (ts and wasm targets) vs TensorFlow.js 4.22 (wasm backend, XNNPACK, SIMD, 1 thread) vs PyTorch (1 thread); full BPTT, SGD`);
console.log(`${ROUNDS} paired rounds of ~${seconds} s per system; median round; ratios against rnnc wasm${noTorch ? `\n(PyTorch row skipped: ${noTorch})` : ''}\n`);
const summary: string[] = [];
for (const { cell, sizes } of CONFIGS) {
  const flops = flopsPerStep(cell, sizes);
  const ts = await rnncTrainer(cell, sizes, 'ts');
  const wasm = await rnncTrainer(cell, sizes, 'wasm');
  const systems: [System, () => Promise<Measured>][] = [
    ['rnnc ts', async () => ts.measure()],
    ['rnnc wasm', async () => wasm.measure()],
    ['tfjs wasm', () => tfjsStepsPerSecond(cell, 'wasm', sizes, { seconds, warmup: 2 })],
  ];
  if (!noTorch) systems.push(['pytorch 1 thread', async () => torchMeasure(cell, sizes)]);
  const rounds = new Map<System, Measured[]>(systems.map(([name]) => [name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < systems.length; i++) {
      const [name, run] = systems[(i + r) % systems.length]!;
      rounds.get(name)!.push(await run());
    }
  }
  console.log(`${describe(cell, sizes)}: ${(flops / 1e9).toFixed(3)} GFLOP of products per step`);
  console.log(`  ${'system'.padEnd(18)} ${'samples/s'.padStart(10)} ${'GFLOP/s'.padStart(8)} ${'wasm / it'.padStart(10)}  ${'range'.padEnd(13)} ${'MiB'.padStart(6)}  loss first -> last`);
  const wasmRounds = rounds.get('rnnc wasm')!;
  for (const [name] of systems) {
    const ms = rounds.get(name)!;
    const sps = median(ms.map((m) => m.stepsPerSec));
    const ratios = ms.map((m, i) => wasmRounds[i]!.stepsPerSec / m.stepsPerSec);
    const ratio = median(wasmRounds.map((m) => m.stepsPerSec)) / sps;
    const mib = name === 'rnnc ts' ? ts.mib.toFixed(1) : name === 'rnnc wasm' ? wasm.mib.toFixed(1) : '';
    const last = ms[ms.length - 1]!;
    console.log(`  ${name.padEnd(18)} ${(sps * sizes.B).toFixed(1).padStart(10)} ${((sps * flops) / 1e9).toFixed(2).padStart(8)} ${ratio.toFixed(2).padStart(9)}×  ${`${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`.padEnd(13)} ${mib.padStart(6)}  ${last.lossFirst.toFixed(4)} -> ${last.lossLast.toFixed(4)}`);
    if (name !== 'rnnc wasm') summary.push(`${describe(cell, sizes)}: wasm / ${name} = ${ratio.toFixed(2)}×`);
  }
  console.log('');
}
console.log(summary.join('\n'));
