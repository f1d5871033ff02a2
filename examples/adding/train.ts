/**
 * The adding problem with three recurrent cells, and why the tanh RNN cannot learn it.
 *
 *   npm run adding                     # T = 50, 4000 updates of each model; charts to docs/
 *   npx tsx examples/adding/train.ts --T 100 --updates 8000    # charts to out/adding/
 *
 * Defaults: H = 32, batch 32, Adam at lr 1e-3 (--lr-final makes it decay exponentially), clipping
 * at norm 1, the same for the three models; the held-out set is 8 batches drawn from --seed.
 * Trains tanh Elman, IRNN (ReLU, W_hh = I) and LSTM, compiled by rnnc from the stock cells with a
 * last-step MSE, on fresh batches, each from a zero state; prints the held-out MSE every
 * --eval-every updates; runs trainer.diagnose() on a held-out batch at initialization and after
 * training; writes adding-mse.svg (held-out MSE against updates) and adding-gradients.svg
 * (‖∂L/∂h_t‖ against t on a log axis, each model at initialization and trained, with ρ(W_hh) in
 * the legend) to --out (default out/adding; `npm run adding` passes --out docs, the README's charts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import elman from '../cells/elman.ts';
import irnn from '../cells/irnn.ts';
import lstm from '../cells/lstm.ts';
import { compileTrainer, defaultOptimizer } from '../../src/compile.ts';
import type { CellDef } from '../../src/dsl/cell.ts';
import type { OptimizerKind } from '../../ir/program.ts';
import { traceCell } from '../../src/dsl/trace.ts';
import { importGenerated } from '../../src/run-module.ts';
import { lineChartSvg, type Point } from './charts.ts';
import { addingBatch, BASELINE_MSE, random } from './data.ts';

type Batch = ReturnType<typeof addingBatch>;
interface Diagnosis {
  states: Record<string, { gradNorm: Float64Array }>;
  weights: { param: string; rows: [number, number]; spectralRadius: number }[];
}
interface Trainer {
  step(batch: Batch): number;
  resetState(): void;
  evaluate(batch: Batch): number;
  diagnose(batch: Batch): Diagnosis;
  readonly lastStep: { gradNorm: number; clipped: boolean };
  readonly hyper: { lr: number };
}

const { values } = parseArgs({
  options: {
    T: { type: 'string', default: '50' },
    updates: { type: 'string', default: '4000' },
    'eval-every': { type: 'string', default: '100' },
    hidden: { type: 'string', default: '32' },
    batch: { type: 'string', default: '32' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: 'out/adding' },
    models: { type: 'string', default: 'tanh,irnn,lstm' },
    lr: { type: 'string', default: '1e-3' },
    'lr-final': { type: 'string' },
    clip: { type: 'string', default: '1' },
    optimizer: { type: 'string', default: 'adam' },
  },
});
const int = (flag: string, min: number): number => {
  const v = Number(values[flag as keyof typeof values]);
  if (!Number.isInteger(v) || v < min) {
    console.error(`adding: --${flag} must be an integer of at least ${min}, got '${String(values[flag as keyof typeof values])}'`);
    process.exit(2);
  }
  return v;
};
const num = (flag: 'lr' | 'clip' | 'lr-final'): number => {
  const v = Number(values[flag]);
  if (!(Number.isFinite(v) && v > 0)) (console.error(`adding: --${flag} must be a positive number, got '${values[flag]}'`), process.exit(2));
  return v;
};
const lr = num('lr'), clip = num('clip');
const lrFinal = values['lr-final'] === undefined ? lr : num('lr-final');
const optimizer = values.optimizer as OptimizerKind;
if (!['sgd', 'momentum', 'adam', 'adamw', 'rmsprop'].includes(optimizer)) (console.error(`adding: --optimizer must be sgd, momentum, adam, adamw or rmsprop, got '${optimizer}'`), process.exit(2));
const T = int('T', 2), updates = int('updates', 1), evalEvery = int('eval-every', 1), H = int('hidden', 1), B = int('batch', 1), seed = int('seed', 0);

/** The three models: the stock cells, the same optimizer (--optimizer, --lr, --lr-final) and clipping (--clip) for all. */
const ALL: readonly { key: string; name: string; def: CellDef }[] = [
  { key: 'tanh', name: 'tanh RNN', def: elman },
  { key: 'irnn', name: 'IRNN', def: irnn },
  { key: 'lstm', name: 'LSTM', def: lstm },
];
const keys = values.models!.split(',');
for (const k of keys) if (!ALL.some((m) => m.key === k)) (console.error(`adding: --models: '${k}' is not one of ${ALL.map((m) => m.key).join(', ')}`), process.exit(2));
const MODELS = ALL.filter((m) => keys.includes(m.key));

// the same held-out sequences for every model and every evaluation
const heldOut: Batch[] = Array.from({ length: 8 }, (_, k) => addingBatch(random(10_000 + seed * 100 + k), T, B));
const probe = heldOut[0]!;
const heldOutMse = (t: Trainer) => heldOut.reduce((a, b) => a + t.evaluate(b), 0) / heldOut.length;

function bar(done: number, total: number, text: string): void {
  if (!process.stderr.isTTY) return;
  const width = 30, filled = Math.round((width * done) / total);
  process.stderr.write(`\r  [${'='.repeat(filled)}${' '.repeat(width - filled)}] ${String(done).padStart(5)}/${total} ${text}`);
}

/** ρ(W_hh) for the legend: one figure, or the largest over the LSTM's four gate blocks. */
function radius(d: Diagnosis): string {
  const rs = d.weights.filter((w) => w.param === 'weight_hh').map((w) => w.spectralRadius);
  return rs.length === 1 ? `ρ(W_hh) = ${rs[0]!.toFixed(2)}` : `ρ(W_hh gate blocks) ≤ ${Math.max(...rs).toFixed(2)}`;
}

const started = Date.now();
const schedule = lrFinal === lr ? `lr ${lr}` : `lr ${lr} decaying to ${lrFinal}`;
console.log(`adding problem: T = ${T}, H = ${H}, batch ${B}, ${updates} updates (${optimizer}, ${schedule}, clip ${clip}), seed ${seed}; always answering 1 scores ${BASELINE_MSE.toFixed(3)}`);
const curves: Point[] = [], gradients: Point[] = [];
const results: { key: string; name: string; mse: number }[] = [];
for (const m of MODELS) {
  const t0 = Date.now();
  const traced = traceCell(m.def, { sizes: { X: 2, H, Y: 1 }, batch: B, loss: 'mse', lossOn: 'last' });
  const mod = await importGenerated<{ createTrainer(o?: { seed?: number }): Trainer }>(compileTrainer(traced, { seq: T, optimizer: defaultOptimizer(optimizer, lr), clip, seed, diagnose: true }));
  const trainer = mod.createTrainer({ seed });
  const before = trainer.diagnose(probe);
  const rand = random(seed * 7919 + 1);
  let mse = heldOutMse(trainer), clipped = 0;
  curves.push({ series: m.name, x: 0, y: mse });
  for (let u = 1; u <= updates; u++) {
    // the learning rate decays exponentially from --lr to --lr-final over the run (hyper is read by every update)
    trainer.hyper.lr = lr * Math.pow(lrFinal / lr, (u - 1) / updates);
    // every batch holds new sequences: they start from a zero state, as evaluate's do (step carries
    // the state across calls for sequences cut into windows; here that would feed one batch's final
    // state into the next batch's unrelated sequences)
    trainer.resetState();
    trainer.step(addingBatch(rand, T, B));
    if (trainer.lastStep.clipped) clipped++;
    if (u % evalEvery === 0 || u === updates) {
      mse = heldOutMse(trainer);
      curves.push({ series: m.name, x: u, y: mse });
      if (!process.stderr.isTTY) console.log(`  ${m.name.padEnd(8)} update ${String(u).padStart(5)}: held-out MSE ${mse.toFixed(4)}`);
    }
    bar(u, updates, `${m.name.padEnd(8)} held-out MSE ${mse.toFixed(4)}`);
  }
  const after = trainer.diagnose(probe);
  for (const [when, d] of [['init', before], ['trained', after]] as const) {
    const g = d.states.h!.gradNorm;
    g.forEach((v, t) => gradients.push({ series: `${m.name}, ${when} (${radius(d)})`, x: t + 1, y: v }));
  }
  const seconds = (Date.now() - t0) / 1000;
  if (process.stderr.isTTY) process.stderr.write('\n');
  console.log(`${m.name.padEnd(8)} held-out MSE ${mse.toFixed(4)} after ${updates} updates (${clipped} clipped), ${seconds.toFixed(0)} s; ‖∂L/∂h_1‖ ${before.states.h!.gradNorm[0]!.toExponential(1)} at init, ${after.states.h!.gradNorm[0]!.toExponential(1)} trained; ${radius(after)}`);
  results.push({ key: m.key, name: m.name, mse });
}

fs.mkdirSync(values.out!, { recursive: true });
const mseFile = path.join(values.out!, 'adding-mse.svg'), gradFile = path.join(values.out!, 'adding-gradients.svg');
fs.writeFileSync(mseFile, await lineChartSvg({
  title: `The adding problem, T = ${T}: held-out MSE`,
  x: `updates (batches of ${B})`, y: 'held-out MSE (log)', logY: true, points: curves, colors: ['#2171b5', '#d94801', '#238b45'],
  rule: { y: BASELINE_MSE, label: 'always answering 1' },
}));
fs.writeFileSync(gradFile, await lineChartSvg({
  title: `The adding problem, T = ${T}: the gradient reaching each step`,
  x: 't (step)', y: '‖∂L/∂h_t‖, mean over a held-out batch (log)', logY: true, points: gradients, dashed: 'init',
  // each model one hue: light and dashed at initialization, dark when trained
  colors: ['#9ecae1', '#2171b5', '#fdae6b', '#d94801', '#a1d99b', '#238b45'],
}));
console.log(`wrote ${mseFile} and ${gradFile} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
// the textbook picture: the gated and the identity-initialised RNN solve it, the tanh RNN stays near the baseline
const verdicts = results.map((r): [string, boolean] => (r.key === 'tanh' ? [`${r.name} above 0.1`, r.mse > 0.1] : [`${r.name} below 0.01`, r.mse < 0.01]));
console.log(`expected ${verdicts.map(([what]) => what).join(', ')}: ${verdicts.every(([, ok]) => ok) ? 'reproduced' : `not reproduced (${verdicts.filter(([, ok]) => !ok).map(([what]) => what).join(', ')} fails)`}`);
