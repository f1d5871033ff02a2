/**
 * The windows (or inference chunks) of a sequence as runs of the same function at evenly spaced
 * starts: one loop each in the module, so the module does not grow with the number of windows.
 */
import type { CodeBlockWriter } from 'ts-morph';

/** Windows of one function at starts start, start + stride, …: `index` is the first one's place in the sequence. */
export interface Run {
  readonly fn: string;
  readonly start: number;
  readonly stride: number;
  readonly count: number;
  readonly index: number;
  readonly len: number;
  readonly positions: number;
}

export function runsOf(sequence: readonly { readonly fn: string; readonly start: number; readonly len: number; readonly positions: number }[]): Run[] {
  const runs: Run[] = [];
  sequence.forEach((w, index) => {
    const last = runs[runs.length - 1];
    const same = last && last.fn === w.fn && last.len === w.len && last.positions === w.positions;
    if (same && (last.count === 1 || w.start === last.start + last.count * last.stride)) {
      runs[runs.length - 1] = { ...last, stride: last.count === 1 ? w.start - last.start : last.stride, count: last.count + 1 };
    } else runs.push({ fn: w.fn, start: w.start, stride: 0, count: 1, index, len: w.len, positions: w.positions });
  });
  return runs;
}

/** A run as a loop (`start` its variable), or one call; `scoped`: a block of its own when the body declares names. */
export function writeRun(w: CodeBlockWriter, r: Run, body: (start: string, index: string) => void, scoped = false): void {
  if (r.count === 1) return void (scoped ? w.block(() => body(String(r.start), String(r.index))) : body(String(r.start), String(r.index)));
  // (k, not n: predict and evaluate call their number of sequences n)
  w.write(`for (let k = 0; k < ${r.count}; k++)`).block(() => {
    w.writeLine(`const start = ${r.start} + k * ${r.stride};`);
    body('start', `${r.index} + k`);
  });
}
