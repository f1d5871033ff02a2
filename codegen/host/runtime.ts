/**
 * The parts of a generated trainer's host that do not depend on the graph or the target: the
 * optimizer defaults, the seeded generator and the init schemes, written with the code writer
 * like everything else and specialised where the compile options allow.
 */
import type { CodeBlockWriter } from 'ts-morph';
import type { Init, OptimizerKind, OptimizerSpec } from '../../ir/program.ts';

export type { OptimizerKind, OptimizerSpec };

/**
 * Optimizer defaults: PyTorch's (lr 0.1 for SGD and momentum is ours; Adam's and AdamW's 1e-3,
 * betas and eps, AdamW's weight decay 0.01, RMSprop's lr 0.01 and alpha 0.99 are PyTorch's).
 */
export const defaultOptimizer = (kind: OptimizerKind = 'sgd', lr?: number): OptimizerSpec => ({
  kind,
  lr: lr ?? (kind === 'adam' || kind === 'adamw' ? 1e-3 : kind === 'rmsprop' ? 1e-2 : 0.1),
  momentum: 0.9,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.01,
  alpha: 0.99,
});

/** mulberry32, and a Gaussian by Box-Muller: small, seeded, reproducible. */
export function writeRandom(w: CodeBlockWriter): void {
  w.writeLine('/** A seeded generator (mulberry32): the same seed gives the same weights. */');
  w.write('function makeRandom(seed: number): { uniform: () => number; normal: () => number }').block(() => {
    w.writeLine('let a = seed >>> 0;');
    w.write('const uniform = (): number =>').block(() => {
      w.writeLine('a = (a + 0x6d2b79f5) >>> 0;');
      w.writeLine('let t = a;');
      w.writeLine('t = Math.imul(t ^ (t >>> 15), t | 1);');
      w.writeLine('t ^= t + Math.imul(t ^ (t >>> 7), t | 61);');
      w.writeLine('return ((t ^ (t >>> 14)) >>> 0) / 4294967296;');
    }).write(';').newLine();
    w.writeLine('const normal = (): number => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());');
    w.writeLine('return { uniform, normal };');
  });
}

/** The init code for one parameter, a view `v` of `shape`. */
export function writeInit(w: CodeBlockWriter, v: string, shape: readonly number[], init: Init): void {
  const rows = shape.length === 2 ? shape[0]! : 1, cols = shape[shape.length - 1]!;
  switch (init.kind) {
    case 'zeros':
      w.writeLine(`${v}.fill(0);`);
      return;
    case 'uniform':
      w.writeLine(`for (let i = 0; i < ${v}.length; i++) ${v}[i] = (2 * rand.uniform() - 1) * ${init.bound};`);
      return;
    case 'normal':
      w.writeLine(`for (let i = 0; i < ${v}.length; i++) ${v}[i] = rand.normal() * ${init.std};`);
      return;
    case 'xavier': {
      // Glorot & Bengio 2010: U(±sqrt(6 / (fan_in + fan_out)))
      const bound = Math.sqrt(6 / (cols + (shape.length === 2 ? rows : cols)));
      w.writeLine(`for (let i = 0; i < ${v}.length; i++) ${v}[i] = (2 * rand.uniform() - 1) * ${bound};`);
      return;
    }
    case 'orthogonal':
      w.writeLine(`orthogonalBlocks(${v}, ${rows}, ${cols}, ${init.gain}, rand);`);
      return;
    case 'constant':
      w.writeLine(`${v}.fill(${init.value});`);
      return;
    case 'split': {
      // each part a view of its rows, drawn in order
      const part = shape[0]! / init.parts.length, size = shape.reduce((a, b) => a * b, 1) / init.parts.length;
      init.parts.forEach((p, k) => writeInit(w, `${v}.subarray(${k * size}, ${(k + 1) * size})`, [part, ...shape.slice(1)], p));
      return;
    }
    case 'identity':
      // per square block, so a [4H, H] gate matrix gets I in each gate
      w.writeLine(`${v}.fill(0);`);
      w.writeLine(`for (let i = 0; i < ${rows}; i++) ${v}[i * ${cols} + (i % ${cols})] = ${init.scale};`);
      return;
  }
}

export function writeOrthogonal(w: CodeBlockWriter): void {
  w.writeLine('/** Orthogonal rows per square block: Gram-Schmidt on Gaussian rows (Saxe et al. 2014). */');
  w.write(`function orthogonalBlocks(v: Float32Array | Float64Array, rows: number, cols: number, gain: number, rand: { normal: () => number }): void`).block(() => {
    w.write('for (let r = 0; r < rows; r++)').block(() => {
      w.writeLine('const row = r * cols, blockStart = r - (r % cols);');
      w.write('for (let attempt = 0; ; attempt++)').block(() => {
        w.writeLine('for (let j = 0; j < cols; j++) v[row + j] = rand.normal();');
        w.write('for (let q = blockStart; q < r; q++)').block(() => {
          w.writeLine('let d = 0;');
          w.writeLine('for (let j = 0; j < cols; j++) d += v[row + j] * v[q * cols + j] / (gain * gain);');
          w.writeLine('for (let j = 0; j < cols; j++) v[row + j] -= d * v[q * cols + j];');
        });
        w.writeLine('let n = 0;');
        w.writeLine('for (let j = 0; j < cols; j++) n += v[row + j] * v[row + j];');
        w.writeLine('n = Math.sqrt(n);');
        w.write('if (n > 1e-6 || attempt > 8)').block(() => {
          w.writeLine('for (let j = 0; j < cols; j++) v[row + j] *= gain / n;');
          w.writeLine('break;');
        });
      });
    });
  });
}
