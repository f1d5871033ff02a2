/**
 * TensorFlow.js baseline for the rnnc training benchmark.
 *
 * One training step = forward over T steps of a single-layer Elman or LSTM RNN
 * (PyTorch parameterization) on dense inputs [T, B, X], linear readout to Y
 * classes, softmax cross-entropy averaged over all T*B positions, full BPTT,
 * plain SGD (lr 0.1) on all parameters. Only the loss scalar is read back.
 *
 * Run `npx tsx bench/tfjs-baseline.ts` for a small table (cpu and wasm backends).
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { fileURLToPath } from 'node:url';

export type BenchCell = 'elman' | 'lstm';
export interface BenchSizes { B: number; T: number; X: number; H: number; Y: number }
/** warmup: untimed steps (default 3); the timed loop stops after `iters` steps or `seconds` (default 3), whichever first. */
export interface BenchOpts { warmup?: number; iters?: number; seconds?: number }
export interface BenchResult { stepsPerSec: number; samplesPerSec: number; lossFirst: number; lossLast: number }

const LR = 0.1;
const SEED = 1234;

// Silences the "install tfjs-node" banner and skips debug-only checks.
tf.enableProdMode();
// In Node the wasm binaries are read from the package's dist folder (a plain path
// works; emscripten reads it with fs). The threaded build cannot start in Node
// (it spawns workers from blob: URLs), so the backend runs single-threaded + SIMD.
setWasmPaths(fileURLToPath(new URL('./', import.meta.resolve('@tensorflow/tfjs-backend-wasm'))));

function uniform(shape: number[], bound: number, seed: number): tf.Variable {
  return tf.tidy(() => tf.variable(tf.randomUniform(shape, -bound, bound, 'float32', seed)));
}

/** Parameters in PyTorch layout with PyTorch's default init: all U(-1/sqrt(H), 1/sqrt(H)). */
function makeParams(cell: BenchCell, { X, H, Y }: BenchSizes) {
  const G = cell === 'lstm' ? 4 * H : H;
  const k = 1 / Math.sqrt(H);
  return {
    wIh: uniform([G, X], k, SEED + 1),
    wHh: uniform([G, H], k, SEED + 2),
    bIh: uniform([G], k, SEED + 3),
    bHh: uniform([G], k, SEED + 4),
    wOut: uniform([Y, H], k, SEED + 5),
    bOut: uniform([Y], k, SEED + 6),
  };
}
type Params = ReturnType<typeof makeParams>;

/**
 * y = a @ b whose backward pass uses explicit transposes and plain matMuls. In
 * tfjs-backend-wasm 4.22 only untransposed BatchMatMul takes the fast XNNPACK
 * path; the transposeA/B variants that tf.matMul's own gradient emits are ~6-8x
 * slower. On the cpu backend plain tf.matMul is faster, so this is wasm-only.
 */
const matMulPlainGrad = tf.customGrad(((a: tf.Tensor2D, b: tf.Tensor2D, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor2D, [a, b]: tf.Tensor2D[]) => [tf.matMul(dy, b.transpose()), tf.matMul(a.transpose(), dy)],
  };
}) as Parameters<typeof tf.customGrad>[0]) as (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

type MatMul = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

/**
 * Mean softmax cross-entropy over all T*B positions. xSteps: T inputs [B,X]
 * (split once, outside the timed step: wasm Slice copies its whole input, so
 * unstacking a [T,B,*] tensor every step costs O(T^2)); onehot: [T*B,Y].
 */
function lossFn(cell: BenchCell, p: Params, xSteps: tf.Tensor2D[], onehot: tf.Tensor2D, H: number, mm: MatMul): tf.Scalar {
  const B = xSteps[0].shape[0];
  const [wIhT, wHhT, wOutT] = [p.wIh, p.wHh, p.wOut].map((w) => w.transpose() as tf.Tensor2D);
  const bias = p.bIh.add(p.bHh);
  let h: tf.Tensor2D = tf.zeros([B, H]);
  let c: tf.Tensor2D = tf.zeros([B, H]);
  const hs: tf.Tensor2D[] = [];
  for (const x of xSteps) {
    const pre = mm(x, wIhT).add(mm(h, wHhT)).add(bias) as tf.Tensor2D;
    if (cell === 'elman') {
      h = tf.tanh(pre);
    } else {
      const [i, f, g, o] = tf.split(pre, 4, 1);
      c = tf.sigmoid(f).mul(c).add(tf.sigmoid(i).mul(tf.tanh(g)));
      h = tf.sigmoid(o).mul(tf.tanh(c));
    }
    hs.push(h);
  }
  const logits = mm(tf.concat(hs, 0), wOutT).add(p.bOut);
  return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
}

/** Training steps per second of the tfjs implementation on the given backend. */
export async function tfjsStepsPerSecond(
  cell: BenchCell,
  backend: 'cpu' | 'wasm',
  sizes: BenchSizes,
  opts: BenchOpts = {},
): Promise<BenchResult> {
  const { warmup = 3, iters = Infinity, seconds = 3 } = opts;
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} failed to initialize`);
  const { B, T, X, H, Y } = sizes;
  const mm: MatMul = backend === 'wasm' ? matMulPlainGrad : (a, b) => tf.matMul(a, b);

  const xSteps = tf.tidy(() => tf.unstack(tf.randomNormal([T, B, X], 0, 1, 'float32', SEED)) as tf.Tensor2D[]);
  const onehot = tf.tidy(() =>
    tf.oneHot(tf.randomUniform([T * B], 0, Y, 'int32', SEED + 100) as tf.Tensor1D, Y).toFloat() as tf.Tensor2D);
  const params = makeParams(cell, sizes);
  const vars = Object.values(params);
  const opt = tf.train.sgd(LR);

  const step = async (): Promise<number> => {
    const loss = opt.minimize(() => lossFn(cell, params, xSteps, onehot, H, mm), true, vars)!;
    const value = (await loss.data())[0];
    loss.dispose();
    return value;
  };

  try {
    // Warm-up (JIT, wasm heap growth): `warmup` steps, cut short after ~seconds/2.
    let lossFirst = NaN;
    const tw = performance.now();
    for (let i = 0; i < warmup && (i === 0 || performance.now() - tw < seconds * 500); i++) {
      const l = await step();
      if (i === 0) lossFirst = l;
    }
    let n = 0;
    let lossLast = NaN;
    const t0 = performance.now();
    let elapsed = 0;
    do {
      lossLast = await step();
      if (n === 0 && warmup === 0) lossFirst = lossLast;
      n++;
      elapsed = (performance.now() - t0) / 1000;
    } while (n < iters && elapsed < seconds);
    const stepsPerSec = n / elapsed;
    return { stepsPerSec, samplesPerSec: stepsPerSec * B, lossFirst, lossLast };
  } finally {
    opt.dispose();
    tf.dispose([...xSteps, onehot, ...vars]);
  }
}

async function main(): Promise<void> {
  let ok = true;
  const check = (cond: boolean, what: string) => {
    if (!cond) console.log(`CHECK FAILED: ${what}`);
    ok &&= cond;
  };

  // Sanity at tiny sizes: the wasm path (custom matMul gradient) must track the
  // cpu path (tf.matMul autodiff) step for step, and the loss must go down.
  const tiny: BenchSizes = { B: 4, T: 8, X: 8, H: 16, Y: 8 };
  for (const cell of ['elman', 'lstm'] as const) {
    const fixed = { warmup: 0, iters: 30, seconds: Infinity };
    const [c, w] = [await tfjsStepsPerSecond(cell, 'cpu', tiny, fixed), await tfjsStepsPerSecond(cell, 'wasm', tiny, fixed)];
    console.log(`tiny ${cell}: loss after 30 steps cpu ${c.lossFirst.toFixed(4)} -> ${c.lossLast.toFixed(4)}, wasm ${w.lossFirst.toFixed(4)} -> ${w.lossLast.toFixed(4)}`);
    check(Math.abs(c.lossLast - w.lossLast) < 1e-4 && c.lossLast < c.lossFirst - 0.1, `tiny ${cell} cpu/wasm agreement and descent`);
  }

  const sizes: BenchSizes = { B: 32, T: 64, X: 64, H: 128, Y: 64 };
  const seconds = Number(process.env.BENCH_SECONDS ?? 3);
  console.log(`\ntfjs ${tf.version.tfjs}, sizes ${JSON.stringify(sizes)}, ~${seconds}s per cell`);
  console.log('cell   backend  steps/s  samples/s  loss first -> last');
  for (const cell of ['elman', 'lstm'] as const) {
    for (const backend of ['cpu', 'wasm'] as const) {
      await tf.setBackend(backend); // tf.memory() needs an initialized backend
      const before = tf.memory().numTensors;
      const r = await tfjsStepsPerSecond(cell, backend, sizes, { seconds });
      console.log(
        `${cell.padEnd(6)} ${backend.padEnd(8)} ${r.stepsPerSec.toFixed(2).padStart(7)}  ${r.samplesPerSec.toFixed(1).padStart(9)}` +
          `  ${r.lossFirst.toFixed(4)} -> ${r.lossLast.toFixed(4)}`,
      );
      check(r.lossLast < r.lossFirst, `${cell}/${backend} loss did not decrease`);
      check(tf.memory().numTensors === before, `${cell}/${backend} leaked tensors`);
    }
  }
  if (!ok) process.exitCode = 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
