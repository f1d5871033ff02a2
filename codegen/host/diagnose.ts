/**
 * `trainer.diagnose(batch)`, written once for every target: why a long-term dependency is or is not
 * learnt. One forward and backward pass over the batch, no update: the program's diagnostics
 * functions (the training windows with a zero probe on every state, so their backward Scan also
 * yields ∂L/∂h_t at every step) give ‖∂L/∂h_t‖ and ‖h_t‖ per step and per sequence; the host adds
 * the global gradient norm and, for every recurrent weight, the spectral radius and the largest
 * singular value of each square block (power iteration, seeded). Under `--truncate k` each step
 * belongs to one window and its gradient is the one lossAndGrad's backward pass carries there, the
 * state's gradient stopped at the window's start; under k1:k2 with k1 < k2 windows overlap, there is
 * no one gradient per step, and diagnose refuses.
 */
import type { CodeBlockWriter } from 'ts-morph';
import type { ModelInterface } from '../../ir/program.ts';
import type { Schedule } from '../schedule/types.ts';
import { writeRun } from './runs.ts';
import type { Target } from './target.ts';

/** Module level: the power iterations (float64, seeded: the same weights give the same figures). */
function writeSpectral(w: CodeBlockWriter): void {
  w.writeLine('/** ‖A v‖ for the n×n block of `a` at `off` (row stride `stride`); w = A v (or Aᵀ v). */');
  w.write('function blockTimes(a: ArrayLike<number>, off: number, stride: number, n: number, v: Float64Array, w: Float64Array, transpose: boolean): number').block(() => {
    w.writeLine('let sq = 0;');
    w.write('for (let i = 0; i < n; i++)').block(() => {
      w.writeLine('let s = 0;');
      w.writeLine('if (transpose) for (let j = 0; j < n; j++) s += a[off + j * stride + i]! * v[j]!;');
      w.writeLine('else for (let j = 0; j < n; j++) s += a[off + i * stride + j]! * v[j]!;');
      w.writeLine('w[i] = s;');
      w.writeLine('sq += s * s;');
    });
    w.writeLine('return Math.sqrt(sq);');
  });
  w.blankLine();
  w.writeLine('/**');
  w.writeLine(' * The spectral radius ρ (largest |eigenvalue|) and the largest singular value σ of an n×n block, by');
  w.writeLine(' * power iteration from a seeded random vector: ρ = lim ‖Aᵏv‖^(1/k), taken as the geometric mean of');
  w.writeLine(" * the growth over the second half of the iterations (a complex pair of largest modulus, where v's");
  w.writeLine(' * direction never settles, only bounds it: the error falls as 1/iterations); σ² is the largest');
  w.writeLine(' * eigenvalue of AᵀA, symmetric, where the iteration converges.');
  w.writeLine(' */');
  w.write('function blockSpectrum(a: ArrayLike<number>, off: number, stride: number, n: number, iterations: number, seed: number): { spectralRadius: number; largestSingularValue: number }').block(() => {
    w.writeLine('const rand = makeRandom(seed);');
    w.writeLine('let v = new Float64Array(n), u = new Float64Array(n);');
    w.writeLine('const start = () => { let s = 0; for (let i = 0; i < n; i++) { v[i] = rand.normal(); s += v[i]! * v[i]!; } s = Math.sqrt(s); for (let i = 0; i < n; i++) v[i] = v[i]! / s; };');
    w.writeLine('start();');
    w.writeLine('let logGrowth = 0, counted = 0, spectralRadius = 0;');
    w.write('for (let k = 0; k < iterations; k++)').block(() => {
      w.writeLine('const norm = blockTimes(a, off, stride, n, v, u, false);');
      w.writeLine('if (norm === 0) { logGrowth = -Infinity; break; } // A is nilpotent on v');
      w.writeLine('if (2 * k >= iterations) { logGrowth += Math.log(norm); counted++; }');
      w.writeLine('for (let i = 0; i < n; i++) u[i] = u[i]! / norm;');
      w.writeLine('[v, u] = [u, v];');
    });
    w.writeLine('spectralRadius = logGrowth === -Infinity ? 0 : Math.exp(logGrowth / counted);');
    w.writeLine('start();');
    w.writeLine('const t = new Float64Array(n);');
    w.writeLine('let lambda = 0;');
    w.write('for (let k = 0; k < iterations; k++)').block(() => {
      w.writeLine('blockTimes(a, off, stride, n, v, t, false);');
      w.writeLine('lambda = blockTimes(a, off, stride, n, t, u, true);');
      w.writeLine('if (lambda === 0) break;');
      w.writeLine('for (let i = 0; i < n; i++) v[i] = u[i]! / lambda;');
    });
    w.writeLine('return { spectralRadius, largestSingularValue: Math.sqrt(lambda) };');
  });
  w.blankLine();
}

/** A recurrent weight [k·n, n] as k square blocks n×n (the LSTM's four gates), at `offset` in P. */
interface RecurrentWeight {
  readonly name: string;
  readonly offset: number;
  readonly blocks: number;
  readonly n: number;
}

/** The recurrent weights of a model whose parameters sit at `slots` (the schedule's params, in order). */
function recurrentWeights(c: ModelInterface, slots: readonly { readonly offset: number }[]): RecurrentWeight[] {
  return c.params.flatMap((p, i) => {
    const [rows, cols] = p.shape as [number, number];
    return p.recurrent && p.shape.length === 2 && rows % cols === 0 ? [{ name: p.name, offset: slots[i]!.offset, blocks: rows / cols, n: cols }] : [];
  });
}

/**
 * Module level, for every host: the post-processing of the diagnostics functions' per-step arrays
 * (row norms, means over the batch) and the result, from the gradients G and the parameters P
 * wherever the host holds them (the TS host's arrays, a WebGPU host's read-back).
 */
export function writeDiagnoseSupport(w: CodeBlockWriter, c: ModelInterface, T: number, schedule: Schedule): void {
  const B = c.batch;
  const recurrent = recurrentWeights(c, schedule.params);
  writeSpectral(w);
  w.writeLine('/** The L2 norm of each of the len·B rows of `per` values in src, times scale, into dst from step start. */');
  w.write('function rowNorms(src: ArrayLike<number>, dst: Float64Array, start: number, len: number, per: number, scale: number): void').block(() => {
    w.write(`for (let r = 0; r < len * ${B}; r++)`).block(() => {
      w.writeLine('let sq = 0;');
      w.writeLine('for (let j = 0; j < per; j++) sq += src[r * per + j]! * src[r * per + j]!;');
      w.writeLine(`dst[start * ${B} + r] = scale * Math.sqrt(sq);`);
    });
  });
  w.write('function meanOverBatch(per: Float64Array): Float64Array').block(() => {
    w.writeLine(`const out = new Float64Array(${T});`);
    w.writeLine(`for (let t = 0; t < ${T}; t++) { let s = 0; for (let b = 0; b < ${B}; b++) s += per[t * ${B} + b]!; out[t] = s / ${B}; }`);
    w.writeLine('return out;');
  });
  const states = schedule.states.map((s) => s.name);
  w.writeLine('/** What diagnose returns, from the mean loss, G, P and per state (in spec order) ‖∂L/∂h_t‖ and ‖h_t‖ [T, B]. */');
  w.write('function diagnosisOf(loss: number, G: ArrayLike<number>, P: ArrayLike<number>, per: readonly { grad: Float64Array; norm: Float64Array }[], iterations: number, seed: number): Diagnosis').block(() => {
    w.writeLine('let sq = 0;');
    w.writeLine('for (let i = 0; i < G.length; i++) sq += G[i]! * G[i]!;');
    w.writeLine('const weights: Diagnosis[\'weights\'] = [];');
    for (const p of recurrent) {
      for (let k = 0; k < p.blocks; k++) {
        w.writeLine(`weights.push({ param: ${JSON.stringify(p.name)}, rows: [${k * p.n}, ${(k + 1) * p.n}], ...blockSpectrum(P, ${p.offset + k * p.n * p.n}, ${p.n}, ${p.n}, iterations, seed) });`);
      }
    }
    w.writeLine('return {');
    w.writeLine('  loss,');
    w.writeLine('  gradNorm: Math.sqrt(sq),');
    w.writeLine(`  states: { ${states.map((s, k) => `${JSON.stringify(s)}: { gradNorm: meanOverBatch(per[${k}]!.grad), gradNormPerSequence: per[${k}]!.grad, norm: meanOverBatch(per[${k}]!.norm), normPerSequence: per[${k}]!.norm }`).join(', ')} },`);
    w.writeLine('  weights,');
    w.writeLine('};');
  });
  w.blankLine();
}

/** What decides how diagnose is written, for every host. */
export interface DiagnoseShape {
  readonly c: ModelInterface;
  readonly schedule: Schedule;
  readonly truncate: string;
  /** Whether the program was compiled with diagnostics (compile option diagnose, --diagnose). */
  readonly compiled: boolean;
}

/**
 * The first statements of diagnose (`options` in scope): its refusal when there are no diagnostics
 * functions (returns false: nothing more to write), else the checks of the options, which bind
 * `iterations` and `seed`.
 */
export function writeDiagnoseChecks(w: CodeBlockWriter, x: DiagnoseShape): boolean {
  if (x.schedule.diagnosticsSequence === null) {
    if (x.c.lengths) return void w.writeLine("throw new RangeError('diagnose: not built with variable lengths (--lengths) yet; compile without --lengths to diagnose');"), false;
    w.writeLine(x.compiled
      ? `throw new RangeError('diagnose: this trainer back-propagates ${x.truncate}, so its windows overlap and a step has no one gradient; compile with --truncate k (or without) to diagnose');`
      : "throw new RangeError('diagnose: this trainer was compiled without diagnostics (they keep every step\\'s states and gradients in its memory): compile with --diagnose (compile option diagnose: true)');");
    return false;
  }
  w.writeLine("if (typeof options !== 'object' || options === null) throw new TypeError(`diagnose: options must be { iterations?, seed? }, got ${describe(options)}`);");
  w.writeLine('const iterations = options.iterations ?? 2000, seed = options.seed ?? 1;');
  w.writeLine("if (!(Number.isSafeInteger(iterations) && iterations >= 2)) throw new RangeError(`diagnose: iterations must be an integer of at least 2, got ${String(iterations)}`);");
  w.writeLine("if (!(Number.isSafeInteger(seed) && seed >= 0)) throw new RangeError(`diagnose: seed must be a non-negative integer, got ${String(seed)}`);");
  return true;
}

/** A diagnostics function's call in a run: its loss only where it has one (positions, a result). */
export const diagnosticHasLoss = (schedule: Schedule, r: { fn: string; positions: number }): boolean =>
  r.positions > 0 && schedule.functions.find((f) => f.name === r.fn)!.result !== undefined;

export interface DiagnoseContext extends DiagnoseShape {
  readonly target: Target;
  readonly F: string;
  readonly T: number;
  /** The scale of lossAndGrad's gradient: 1 / (loss positions · elements per position). */
  readonly scale: number;
}

/** diagnose, inside createTrainer: the diagnostics functions window by window, each window's rows normed as it ends. */
export function writeDiagnose(w: CodeBlockWriter, x: DiagnoseContext): void {
  const { c, schedule, target, F, T } = x;
  const B = c.batch;
  const states = schedule.states;
  w.writeLine('/** One forward and backward pass, no update: the gradient through time, the states, the recurrent weights. */');
  w.write(`function diagnose(batch: Batch, options: { iterations?: number; seed?: number } = {}): Diagnosis`).block(() => {
    if (!writeDiagnoseChecks(w, x)) return;
    const seq = schedule.diagnosticsSequence!;
    w.writeLine('bind(batch);');
    w.writeLine(`checkFinite(batch.inputs${c.target.kind === 'dense' ? ', batch.targets' : ''});`);
    w.writeLine('held.set(S);');
    w.writeLine('G.fill(0);');
    const longest = Math.max(...seq.map((q) => q.len));
    for (const s of states) {
      w.writeLine(`const trace_${s.name} = new ${F}(${longest * s.size}), dh_${s.name} = new ${F}(${longest * s.size});`);
      w.writeLine(`const gradPer_${s.name} = new Float64Array(${T * B}), normPer_${s.name} = new Float64Array(${T * B});`);
    }
    w.writeLine('let total = 0;');
    w.write('try').block(() => {
      const fns = new Map(schedule.functions.map((f) => [f.name, f]));
      for (const r of seq) {
        writeRun(w, r, (start) => {
          const fn = fns.get(r.fn)!;
          const hasLoss = diagnosticHasLoss(schedule, r);
          w.writeLine(hasLoss ? `total += ${r.fn}(${start}, ${x.scale});` : `${r.fn}(${start}, 0);`);
          states.forEach((s, k) => {
            const per = s.size / B;
            target.copyOut(w, fn.liveOut[k]!, `trace_${s.name}`, '0', r.len * s.size);
            w.writeLine(`rowNorms(trace_${s.name}, normPer_${s.name}, ${start}, ${r.len}, ${per}, 1);`);
            if (hasLoss) {
              target.copyOut(w, fn.liveOut[states.length + k]!, `dh_${s.name}`, '0', r.len * s.size);
              w.writeLine(`rowNorms(dh_${s.name}, gradPer_${s.name}, ${start}, ${r.len}, ${per}, ${x.scale});`);
            }
          });
        }, true);
      }
    }).write(' finally ').block(() => w.writeLine('S.set(held);'));
    w.writeLine(`return diagnosisOf(total * ${x.scale}, G, P, [${states.map((s) => `{ grad: gradPer_${s.name}, norm: normPer_${s.name} }`).join(', ')}], iterations, seed);`);
  });
}

/** The result's type, at module level. */
export function diagnosisType(c: ModelInterface, T: number): string {
  const B = c.batch;
  const state = `{ gradNorm: Float64Array; gradNormPerSequence: Float64Array; norm: Float64Array; normPerSequence: Float64Array }`;
  return `{
  /** The mean loss of the batch (lossAndGrad's). */
  loss: number;
  /** The L2 norm of all parameter gradients together (before any clipping); grads holds them. */
  gradNorm: number;
  /** Per state: ‖∂L/∂h_t‖ (L the mean loss, h_t the state after step t) at each of the ${T} steps, averaged over the ${B} sequences, and per sequence [${T}, ${B}]; ‖h_t‖ likewise. */
  states: Record<${c.states.map((s) => JSON.stringify(s.name)).join(' | ')}, ${state}>;
  /** Each square block of each recurrent weight (rows [from, to)): its spectral radius and largest singular value. */
  weights: { param: string; rows: [number, number]; spectralRadius: number; largestSingularValue: number }[];
}`;
}
