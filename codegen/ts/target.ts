/**
 * The TypeScript target: plain loops over typed arrays. Scratch buffers are views of one arena
 * allocated once in createTrainer; each schedule function becomes a function of createTrainer whose
 * kernels come from the table in kernels.ts; loops over time steps are `for` loops with literal bounds.
 */
import type { CodeBlockWriter } from 'ts-morph';
import { formatAffine } from '../schedule/affine.ts';
import type { Target } from '../host/target.ts';
import type { Item, Kernel, ScheduleFunction, View } from '../schedule/types.ts';
import { kernels, plus } from './kernels.ts';
import { writeUpdate } from './update.ts';

/**
 * A kernel another target renders itself (the wasm target's calls into WebAssembly), or false: then it is
 * rendered here, as plain loops.
 */
export type KernelOverride = (w: CodeBlockWriter, kernel: Kernel) => boolean;

function renderItem(w: CodeBlockWriter, item: Item, override?: KernelOverride): void {
  if (item.kind === 'loop') {
    const step = item.variable.replace(/^t/, 'step');
    w.write(`for (let ${step} = 0; ${step} < ${item.length}; ${step}++)`).block(() => {
      w.writeLine(`const ${item.variable} = ${item.reverse ? `${item.length - 1} - ${step}` : step};`);
      for (const it of item.body) renderItem(w, it, override);
    });
    return;
  }
  if (override?.(w, item)) return;
  (kernels[item.kind] as (w: CodeBlockWriter, k: typeof item) => void)(w, item);
}

/** A schedule function as plain loops (the TS target's renderFunction), some kernels left to `override`. */
export function renderTsFunction(w: CodeBlockWriter, fn: ScheduleFunction, override?: KernelOverride): void {
  const args = fn.args.map((a) => `${a.name}: number`).join(', ');
  w.write(`function ${fn.name}(${args}): ${fn.result ? 'number' : 'void'}`).block(() => {
    for (const item of fn.items) renderItem(w, item, override);
    if (fn.result) w.writeLine(`return ${at0(fn.result)};`);
  });
}

const at0 = (v: View) => `${v.buf}[${formatAffine(v.off)}]`;

export function tsTarget(float: 'f32' | 'f64'): Target {
  const F = float === 'f32' ? 'Float32Array' : 'Float64Array';
  return {
    name: 'ts',
    floatArray: F,
    alignElements: 1,
    declareBuffers(w, schedule, plan) {
      for (const b of schedule.buffers) {
        if (b.kind === 'const') w.writeLine(`const ${b.name} = new ${b.dtype === 'i32' ? 'Int32Array' : F}(${b.size}).fill(${b.value});`);
        else if (b.kind === 'scratch' && b.dtype === 'i32') w.writeLine(`const ${b.name} = new Int32Array(${b.size});`);
      }
      w.writeLine(`const arena = new ${F}(${plan.arenaSize});`);
      for (const b of schedule.buffers) {
        if (b.kind !== 'scratch' || b.dtype === 'i32') continue;
        const off = plan.offsets.get(b.name)!;
        w.writeLine(`const ${b.name} = arena.subarray(${off}, ${off + b.size});`);
      }
    },
    renderFunction: (w, fn) => renderTsFunction(w, fn),
    copyOut(w, from, to, at, size) {
      const off = formatAffine(from.off);
      w.write(`for (let j = 0; j < ${size}; j++)`).block(() => w.writeLine(`${to}[${plus(at, 'j')}] = ${from.buf}[${plus(off, 'j')}];`));
    },
    sliceOut: (from, size) => `${from.buf}.slice(${formatAffine(from.off)}, ${plus(formatAffine(from.off), size)})`,
    writeUpdate,
    writeClip(w) {
      w.write('function clip(): number').block(() => {
        w.writeLine('let sq = 0;');
        w.writeLine('for (let i = 0; i < G.length; i++) sq += G[i] * G[i];');
        w.writeLine('const norm = Math.sqrt(sq);');
        w.writeLine('if (hyper.clip !== null && norm > hyper.clip) for (let i = 0; i < G.length; i++) G[i] *= hyper.clip / norm;');
        w.writeLine('return norm;');
      });
    },
  };
}
