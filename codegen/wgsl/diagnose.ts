/**
 * The WebGPU trainer's `diagnose(batch, options?)`, with the TS host's checks, refusals and
 * post-processing (codegen/host/diagnose.ts writes them for both hosts: row norms, the means over
 * the batch, the power iterations, the result). Here only the running differs: the program's
 * diagnostics functions run as shaders window by window, no update; each window's per-step states
 * and their gradients (the functions' live-out buffers) are copied on the GPU into one `traces`
 * buffer laid out [T, B, …] per state, so the whole sequence is read back once, with the loss
 * sums, the gradients and the parameters. The training state is copied aside and put back, as
 * predict's is (./forward.ts).
 */
import type { CodeBlockWriter } from 'ts-morph';
import type { Schedule, View } from '../schedule/types.ts';
import { writeRun } from '../host/runs.ts';
import { diagnosticHasLoss, writeDiagnoseChecks, type DiagnoseShape } from '../host/diagnose.ts';

export interface GpuDiagnoseContext extends DiagnoseShape {
  readonly T: number;
  readonly nP: number;
  readonly nS: number;
  /** The scale of lossAndGrad's gradient: 1 / (loss positions · elements per position). */
  readonly scale: number;
  /** Float32 slots per window in the `stats` buffer (the loss sum first). */
  readonly stats: number;
  readonly windows: number;
  /** A view's physical buffer and its byte offset there, `start` substituted (expressions). */
  readonly source: (v: View, start: string) => readonly [string, string];
}

/** Elements of the `traces` buffer: every step's state, then every step's state gradient, T·S each. */
export const traceElements = (schedule: Schedule, T: number): number => (schedule.diagnosticsSequence === null ? 0 : 2 * T * schedule.states.reduce((a, s) => a + s.size, 0));

/**
 * diagnose, inside createTrainer, after `exclusive`, `bind`, `copies`, `submit`, `read` and the
 * schedule functions; it uses the buffers `held` (S's size), `stats` and `traces` (traceElements).
 */
export function writeGpuDiagnose(w: CodeBlockWriter, x: GpuDiagnoseContext): void {
  const { c, schedule, T, nP, nS } = x;
  const B = c.batch;
  const states = schedule.states;
  w.writeLine('/** One forward and backward pass, no update: the gradient through time, the states, the recurrent weights. */');
  w.write("const diagnose = (batch: Batch, options: { iterations?: number; seed?: number } = {}) => exclusive('diagnose', async (): Promise<Diagnosis> =>").block(() => {
    if (!writeDiagnoseChecks(w, x)) return;
    w.writeLine('bind(batch);');
    w.writeLine(`checkFinite(batch.inputs${c.target.kind === 'dense' ? ', batch.targets' : ''});`);
    w.writeLine('const e = copies();');
    w.writeLine('e.copyBufferToBuffer(S, 0, held, 0, S.size); e.clearBuffer(G); e.clearBuffer(stats); e.clearBuffer(traces);');
    const fns = new Map(schedule.functions.map((f) => [f.name, f]));
    // state k's steps at T·offset, its gradients T·S further on: [T, B, per] each, step t at t·size
    const copy = (v: View, start: string, at: number, size: number, len: number) => {
      const [buf, offset] = x.source(v, start);
      w.writeLine(`copies().copyBufferToBuffer(${buf}, ${offset}, traces, (${at} + (${start}) * ${size}) * 4, ${len * size * 4});`);
    };
    for (const r of schedule.diagnosticsSequence!) {
      writeRun(w, r, (start, index) => {
        const fn = fns.get(r.fn)!;
        const hasLoss = diagnosticHasLoss(schedule, r);
        w.writeLine(`${r.fn}(${start}, ${hasLoss ? x.scale : 0}, ${index});`);
        states.forEach((s, k) => {
          copy(fn.liveOut[k]!, start, T * s.offset, s.size, r.len);
          if (hasLoss) copy(fn.liveOut[states.length + k]!, start, T * (nS + s.offset), s.size, r.len);
        });
        if (hasLoss) {
          const [buf, offset] = x.source(fn.result!, start);
          w.writeLine(`copies().copyBufferToBuffer(${buf}, ${offset}, stats, (${index}) * ${x.stats * 4}, 4);`);
        }
        w.writeLine('submit();');
      }, true);
    }
    w.writeLine('copies().copyBufferToBuffer(held, 0, S, 0, S.size);');
    w.writeLine('submit();');
    w.writeLine(`const [st, all, g, p] = [await read(stats, 0, ${x.windows * x.stats}), await read(traces, 0, ${2 * T * nS}), await read(G, 0, ${nP}), await read(P, 0, ${nP})];`);
    w.writeLine('let total = 0;');
    w.writeLine(`for (let n = 0; n < ${x.windows}; n++) total += st[n * ${x.stats}]!;`);
    w.writeLine('const per = [');
    w.indent(() => {
      for (const s of states) {
        const perRow = s.size / B;
        w.writeLine(`{ grad: new Float64Array(${T * B}), norm: new Float64Array(${T * B}), h: all.subarray(${T * s.offset}, ${T * (s.offset + s.size)}), dh: all.subarray(${T * (nS + s.offset)}, ${T * (nS + s.offset + s.size)}), per: ${perRow} },`);
      }
    });
    w.writeLine('];');
    w.writeLine(`for (const q of per) { rowNorms(q.h, q.norm, 0, ${T}, q.per, 1); rowNorms(q.dh, q.grad, 0, ${T}, q.per, ${x.scale}); }`);
    w.writeLine(`return diagnosisOf(total * ${x.scale}, g, p, per, iterations, seed);`);
  }).write(');').newLine();
}
