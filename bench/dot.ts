/**
 * `npm run bench:dot`: how `rnnc dot --detail step` scales with T. Draws the Elman cell's backward
 * view (the biggest drawing: forward and backward steps, every anchor checked for cycles) at T,
 * 2T and 4T in one process and prints the seconds and the ratio to the previous T: about 2 when
 * the work is linear in T, 4 when quadratic. BENCH_DOT_T sets the smallest T (default 2,500).
 */
import elman from '../examples/cells/elman.ts';
import { cellDot } from '../src/dot-views.ts';
import { traceCell } from '../src/dsl/trace.ts';

const t0 = Number(process.env.BENCH_DOT_T ?? 2500);
const traced = traceCell(elman, { sizes: { X: 8, H: 16, Y: 8 }, batch: 1 });
const draw = (seq: number) => cellDot(traced, { view: 'backward', seq, truncation: { k1: seq, k2: seq }, detail: 'step' });

draw(100); // warm-up: JIT
let previous: number | undefined;
console.log('rnnc dot --view backward --detail step, Elman cell');
for (const seq of [t0, 2 * t0, 4 * t0]) {
  const start = performance.now();
  const bytes = draw(seq).length;
  const s = (performance.now() - start) / 1000;
  const ratio = previous === undefined ? '' : `  ×${(s / previous).toFixed(2)} for 2× the steps`;
  console.log(`T = ${String(seq).padStart(6)}: ${s.toFixed(2)} s, ${(bytes / 2 ** 20).toFixed(1)} MiB of DOT${ratio}`);
  previous = s;
}
