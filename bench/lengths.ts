/**
 * `npx tsx bench/lengths.ts`: what compiling with --lengths costs when every sequence is full
 * length. The stock LSTM (B=32, T=64, X=64, H=128, Y=64, dense inputs, cross-entropy at every step,
 * full BPTT, SGD) compiled with and without --lengths, timed in the same process in alternating
 * rounds; prints steps·batch per second and the ratio per round. BENCH_ROUNDS (default 5) and
 * BENCH_SECONDS (per measurement, default 2) set the length.
 */
import lstm from '../examples/cells/lstm.ts';
import { compileTrainer } from '../src/compile.ts';
import { traceCell } from '../src/dsl/trace.ts';
import { importGenerated } from '../src/run-module.ts';

interface Trainer {
  step(batch: { inputs: { x: Float32Array }; targets: Int32Array; lengths?: Int32Array }): number;
}

const B = 32, T = 64, X = 64, H = 128, Y = 64;
const rounds = Number(process.env.BENCH_ROUNDS ?? 5), seconds = Number(process.env.BENCH_SECONDS ?? 2);

let seed = 42;
const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
const x = Float32Array.from({ length: T * B * X }, () => 2 * rand() - 1);
const targets = Int32Array.from({ length: T * B }, () => Math.floor(rand() * Y));

async function trainer(lengths: boolean): Promise<Trainer> {
  const c = traceCell(lstm, { sizes: { X, H, Y }, batch: B, lengths });
  const mod = await importGenerated<{ createTrainer(o?: { lr?: number }): Trainer }>(compileTrainer(c, { seq: T }));
  return mod.createTrainer({ lr: 0.1 });
}

function samplesPerSecond(t: Trainer, batch: Parameters<Trainer['step']>[0]): number {
  t.step(batch);
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) (t.step(batch), n++);
  return (n * B) / ((performance.now() - start) / 1000);
}

const plain = await trainer(false), masked = await trainer(true);
const full = Int32Array.from({ length: B }, () => T);
// the same loss from both on full-length sequences: the mask and the weights change nothing then
const a = (await trainer(false)).step({ inputs: { x }, targets }), b = (await trainer(true)).step({ inputs: { x }, targets, lengths: full });
console.log(`first-step loss: plain ${a}, --lengths ${b}`);
console.log('round  plain  --lengths  --lengths / plain');
for (let r = 0; r < rounds; r++) {
  const p = samplesPerSecond(plain, { inputs: { x }, targets });
  const m = samplesPerSecond(masked, { inputs: { x }, targets, lengths: full });
  console.log(`${String(r + 1).padStart(5)}  ${p.toFixed(1).padStart(5)}  ${m.toFixed(1).padStart(9)}  ${(m / p).toFixed(3)}`);
}
