/**
 * The windows (or inference, evaluation, diagnostics chunks) of a sequence are runs of the same
 * function at evenly spaced starts (ir/program.ts Run, planned in src/program.ts): one loop each in
 * the module, so the module does not grow with the number of windows.
 */
import type { CodeBlockWriter } from 'ts-morph';
import type { Run } from '../../ir/program.ts';

export type { Run };

/** A run as a loop (`start` its variable), or one call; `scoped`: a block of its own when the body declares names. */
export function writeRun(w: CodeBlockWriter, r: Run, body: (start: string, index: string) => void, scoped = false): void {
  if (r.count === 1) return void (scoped ? w.block(() => body(String(r.start), String(r.index))) : body(String(r.start), String(r.index)));
  // (k, not n: predict and evaluate call their number of sequences n)
  w.write(`for (let k = 0; k < ${r.count}; k++)`).block(() => {
    w.writeLine(`const start = ${r.start} + k * ${r.stride};`);
    body('start', `${r.index} + k`);
  });
}
