/**
 * The WebGPU trainer's forward-only calls, `predict` (the logits) and `evaluate` (the loss, no
 * backward pass), with the TS host's semantics and checks (codegen/host/forward.ts writes both:
 * the option checks, the padding of fewer sequences than the batch, the start and final state).
 * Neither touches the training state: the state buffer S is copied aside on the GPU, set to the
 * start state, run, read back when the caller asks for the final state, and copied back.
 *
 * Why a copy rather than a separate state region: every schedule function's shaders bind S
 * where the memory plan put it, so a second region would mean a second set of inference and
 * evaluation shaders (and pipelines) for the same kernels; a buffer copy of the state, a few KiB,
 * costs one command on the queue.
 */
import type { CodeBlockWriter } from 'ts-morph';
import type { ModelInterface } from '../../ir/program.ts';
import type { Schedule, View } from '../schedule/types.ts';
import { writeRun } from '../host/runs.ts';
import {
  evaluateRefusal, evaluates, writeBindInputs, writeBindTargets, writeCheckForwardOptions, writeEvaluateChecks, writePadArrays, writePadInto,
  writePredictChecks, writeStartAndFinalState,
} from '../host/forward.ts';

const F = 'Float32Array';

export interface GpuForwardContext {
  readonly c: ModelInterface;
  readonly schedule: Schedule;
  readonly T: number;
  readonly Y: number;
  readonly nS: number;
  /** Loss positions of the whole sequence (program.totalPositions). */
  readonly totalPositions: number;
  /** A view's byte offset in its physical buffer, `start` substituted (an expression). */
  readonly byteOffset: (v: View, start: string) => string;
  /** The expression of a physical buffer by name. */
  readonly ref: (name: string) => string;
}

/** Chunks of the evaluation sequence: loss_rows [B] of chunk i land at i·B in the `lossRows` buffer. */
export const evaluationChunks = (schedule: Schedule) => schedule.evaluationSequence.reduce((n, r) => n + r.count, 0);

/**
 * predict and evaluate, inside createTrainer, after `exclusive`, `upload`, `copies`, `submit` and
 * `read`; they use the buffers `held` (S's size), `logits` ([T, B, Y]) and `lossRows`.
 */
export function writeGpuForward(w: CodeBlockWriter, x: GpuForwardContext): void {
  const { c, schedule, T, Y, nS } = x;
  const B = c.batch;
  const liveOut = (fn: string) => schedule.functions.find((f) => f.name === fn)!.liveOut[0]!;
  const hasEvaluate = evaluates(c, schedule);

  w.writeLine('// predict and evaluate: the training state is copied aside on the GPU and put back; fewer sequences than the batch are padded');
  w.writeLine(`const startRows = new ${F}(${nS});`);
  writePadArrays(w, c, F, hasEvaluate);
  w.blankLine();
  writePadInto(w, B);
  w.write('function forwardInputs(inputs: Inputs, n: number): Inputs').block(() => {
    w.writeLine('const bound = { ...inputs };');
    writeBindInputs(w, c, F, T, 'inputs', (name) => `bound.${name}`);
    w.writeLine('return bound;');
  });
  w.blankLine();
  writeCheckForwardOptions(w, c, schedule.states, F, T);
  writeStartAndFinalState(w, schedule.states, B, 'startRows', { name: 'all', type: F });
  w.writeLine('/** Runs `body` (which submits its work and reads back its result) from the start state, hands back the final state when asked, and puts the training state back. */');
  w.write('async function fromStart<R>(options: ForwardOptions | undefined, n: number, body: () => Promise<R>): Promise<R>').block(() => {
    // submitted before the start state is written: queue.writeBuffer runs in queue order, ahead of
    // commands still in the encoder
    w.writeLine('copies().copyBufferToBuffer(S, 0, held, 0, S.size);');
    w.writeLine('submit();');
    w.writeLine('startState(options);');
    w.writeLine('device.queue.writeBuffer(S, 0, startRows);');
    w.write('try').block(() => {
      w.writeLine('const result = await body();');
      w.writeLine(`if (options?.final !== undefined) finalState(options, n, await read(S, 0, ${nS}));`);
      w.writeLine('return result;');
    }).write(' finally ').block(() => {
      w.writeLine('copies().copyBufferToBuffer(held, 0, S, 0, S.size);');
      w.writeLine('submit();');
    });
  });
  w.blankLine();

  const nY = `n * ${Y}`;
  w.write(`const predict = (inputs: Inputs, out?: ${F}, options?: ForwardOptions) => exclusive('predict', async () =>`).block(() => {
    writePredictChecks(w, c, F, T, Y);
    w.writeLine('upload(forwardInputs(inputs, n));');
    w.write('const all = await fromStart(options, n, () =>').block(() => {
      for (const r of schedule.inferenceSequence) {
        writeRun(w, r, (start) => {
          w.writeLine(`${r.fn}(${start});`);
          w.writeLine(`copies().copyBufferToBuffer(arena, ${x.byteOffset(liveOut(r.fn), start)}, logits, (${start}) * ${B * Y * 4}, ${r.len * B * Y * 4});`);
          w.writeLine('submit();');
        }, true);
      }
      w.writeLine(`return read(logits, 0, ${T * B * Y});`);
    }).write(');').newLine();
    w.writeLine(`for (let t = 0; t < ${T}; t++) for (let j = 0; j < ${nY}; j++) result[t * ${nY} + j] = all[t * ${B * Y} + j]!;`);
    w.writeLine('return result;');
  }).write(');').newLine();
  w.blankLine();

  if (!hasEvaluate) {
    w.write("const evaluate = (_batch: Batch, _options?: ForwardOptions) => exclusive('evaluate', async (): Promise<number> =>").block(() => w.writeLine(evaluateRefusal(c))).write(');').newLine();
    return;
  }
  const perSeq = c.lossElements / B;
  const hasLoss = new Map(schedule.functions.map((f) => [f.name, f.liveOut.length > 0]));
  const chunks = evaluationChunks(schedule);
  w.write('const evaluate = (batch: Batch, options?: ForwardOptions) => exclusive(\'evaluate\', async () =>').block(() => {
    writeEvaluateChecks(w, c);
    w.writeLine('upload(forwardInputs(batch.inputs, n));');
    w.writeLine("let targets: Batch['targets'];");
    writeBindTargets(w, c, F, T, 'targets');
    w.writeLine(`device.queue.writeBuffer(${x.ref('in_target')}, 0, targets);`);
    w.write('const rows = await fromStart(options, n, () =>').block(() => {
      for (const r of schedule.evaluationSequence) {
        writeRun(w, r, (start, index) => {
          w.writeLine(`${r.fn}(${start});`);
          if (hasLoss.get(r.fn)) w.writeLine(`copies().copyBufferToBuffer(arena, ${x.byteOffset(liveOut(r.fn), start)}, lossRows, (${index}) * ${B * 4}, ${B * 4});`);
          w.writeLine('submit();');
        }, true);
      }
      w.writeLine(`return read(lossRows, 0, ${chunks * B});`);
    }).write(');').newLine();
    // summed as the TS host sums: chunk by chunk, row by row
    w.writeLine('let total = 0;');
    for (const r of schedule.evaluationSequence) {
      if (hasLoss.get(r.fn)) w.writeLine(`for (let k = ${r.index}; k < ${r.index + r.count}; k++) for (let r = 0; r < n; r++) total += rows[k * ${B} + r]!;`);
    }
    w.writeLine(`return total / (${x.totalPositions * perSeq} * n);`);
  }).write(');').newLine();
}
