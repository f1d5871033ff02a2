/**
 * Variable lengths in the generated trainer (docs/lengths.md), for a model compiled with them: a
 * batch may carry `lengths: Int32Array [B]` and class targets equal to -100 (PyTorch's
 * `ignore_index`). From them the host fills, per call, the step mask `len_mask` [T, B] (1 while
 * step t < lengths[b]: the scans hold a finished sequence's state), the loss weight `len_weight`
 * [T, B] (the mask, 0 where the target is -100), the target ids the kernels read (-100 made 0, a
 * valid class whose loss the weight then zeroes) and the count of weighted positions per step, so
 * that a mean is over the counted positions only. Nothing here is written for a model without
 * lengths: its trainer is the same as before.
 */
import type { CodeBlockWriter } from 'ts-morph';
import type { ModelInterface } from '../../ir/program.ts';

export const IGNORE_INDEX = -100;

/** Module-level: the check of `lengths` and of targets that may be ignored. */
export function writeLengthsSupport(w: CodeBlockWriter, c: ModelInterface, T: number): void {
  const B = c.batch;
  w.writeLine(`/** lengths [B]: integers in 1..${T}, one per sequence (undefined: every sequence has ${T} steps). */`);
  w.write('function checkLengths(lengths: unknown, what: string): void').block(() => {
    w.writeLine('if (lengths === undefined) return;');
    w.writeLine(`if (!(lengths instanceof Int32Array)) throw new TypeError(\`\${what} must be an Int32Array of ${B} values [${B}] (one length per sequence), got \${describe(lengths)}\`);`);
    w.writeLine(`if (lengths.length !== ${B}) throw new RangeError(\`\${what} has \${lengths.length} values, expected ${B} [${B}] (one length per sequence)\`);`);
    w.writeLine(`for (let b = 0; b < ${B}; b++) if (!(lengths[b] >= 1 && lengths[b] <= ${T})) throw new RangeError(\`\${what}[\${b}] = \${lengths[b]} is out of range: a length is 1..${T}\`);`);
  });
  w.blankLine();
  if (c.target.kind === 'class') {
    const n = T * B, Y = c.target.classes!;
    w.writeLine(`/** Class targets [T, B]: ids in [0, ${Y}), or ${IGNORE_INDEX} for a position without a label. */`);
    w.write('function checkIgnorableTargets(targets: unknown): void').block(() => {
      w.writeLine(`if (!(targets instanceof Int32Array)) throw new TypeError(\`targets must be a Int32Array of ${n} values [${T}, ${B}], got \${describe(targets)}\`);`);
      w.writeLine(`if (targets.length !== ${n}) throw new RangeError(\`targets has \${targets.length} values, expected ${n} [${T}, ${B}]\`);`);
      w.write(`for (let i = 0; i < ${n}; i++)`).block(() => {
        w.writeLine('const v = targets[i];');
        w.writeLine(`if (!((v >= 0 && v < ${Y}) || v === ${IGNORE_INDEX})) throw new RangeError(\`targets[\${i}] = \${v} is out of range [0, ${Y}) and not ${IGNORE_INDEX} (ignored)\`);`);
      });
    });
    w.blankLine();
  }
}

/**
 * Inside createTrainer: the buffers the host fills and `fillLengths(lengths, targets)`, which
 * fills them from a checked batch (targets null: inference, only the mask).
 */
export function writeLengthsState(w: CodeBlockWriter, c: ModelInterface, T: number, F: string): void {
  const B = c.batch, cls = c.target.kind === 'class';
  w.writeLine(`// variable lengths: the step mask and the loss weight [T, B], filled per call from the batch`);
  w.writeLine(`const len_mask = new ${F}(${T * B}), len_weight = new ${F}(${T * B}), countedAt = new Float64Array(${T});`);
  if (cls) w.writeLine(`const targetIds = new Int32Array(${T * B}); // the targets with ${IGNORE_INDEX} made 0 (weighted 0)`);
  w.write(`function fillLengths(lengths: Int32Array | undefined, targets: ${cls ? 'Int32Array' : 'ArrayLike<number>'} | null): void`).block(() => {
    w.write(`for (let t = 0; t < ${T}; t++)`).block(() => {
      w.writeLine('let sum = 0;');
      w.write(`for (let b = 0; b < ${B}; b++)`).block(() => {
        w.writeLine(`const i = t * ${B} + b, live = lengths === undefined || t < lengths[b] ? 1 : 0;`);
        w.writeLine('len_mask[i] = live;');
        if (cls) {
          w.writeLine(`const ignored = targets !== null && targets[i] === ${IGNORE_INDEX};`);
          w.writeLine('if (targets !== null) targetIds[i] = ignored ? 0 : targets[i];');
          w.writeLine('len_weight[i] = ignored ? 0 : live;');
        } else w.writeLine('len_weight[i] = live;');
        w.writeLine('sum += len_weight[i];');
      });
      w.writeLine('countedAt[t] = sum;');
    });
  });
  w.writeLine(`/** Positions counted in steps [from, to) (each of ${c.lossElements / B} loss elements). */`);
  w.write('function counted(from: number, to: number): number').block(() => {
    w.writeLine('let n = 0;');
    w.writeLine('for (let t = from; t < to; t++) n += countedAt[t];');
    w.writeLine(`return n * ${c.lossElements / B};`);
  });
}
