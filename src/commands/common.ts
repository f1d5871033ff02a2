/** Options shared by the commands, and the step from a cell file to a traced cell. */
import type { ParseArgsConfig } from 'node:util';
import { RnncError } from '../../ir/error.ts';
import { traceCell, type TracedCell } from '../dsl/trace.ts';
import { parseTruncation, type Truncation } from '../layout.ts';
import { loadCell } from '../load.ts';

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, unknown>;

export interface Command {
  readonly summary: string;
  readonly help: string;
  readonly options: Options;
  run(values: Values, positionals: string[]): Promise<number>;
}

export const cellOptions: Options = {
  size: { type: 'string', multiple: true, short: 's' },
  batch: { type: 'string', short: 'b' },
  seq: { type: 'string', short: 't' },
  truncate: { type: 'string', short: 'k' },
  embed: { type: 'string', multiple: true },
  'loss-on': { type: 'string' },
  loss: { type: 'string' },
  lengths: { type: 'boolean' },
};

export const cellOptionsHelp = `  -s, --size NAME=N     bind a size declared by the cell (repeatable), e.g. --size H=128
  -b, --batch B         batch size (default %BATCH%)
  -t, --seq T           sequence length (default %SEQ%)
  -k, --truncate K      truncated BPTT: windows of K steps, or K1:K2 (every K1 steps, back-propagate K2)
      --embed NAME=V    feed the dense input NAME from token ids through an 'embedding' [V, X] table
                        (repeatable, one input each)
      --loss KIND       'ce' (softmax cross-entropy against class ids) or 'mse' (default from the cell)
      --loss-on WHERE   'every' step (default from the cell) or the 'last' step only
      --lengths         variable lengths: a batch may carry lengths [B] and targets of -100 (ignored);
                        a sequence's state is held past its end, and the loss is the mean over the
                        counted positions (PyTorch's pack_padded_sequence + ignore_index)`;

export function positiveInt(name: string, raw: unknown, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new RnncError(`--${name}: '${String(raw)}' must be a positive integer`);
  return n;
}

/** A finite number above 0 (Number('abc') is NaN and Number('Infinity') is no tolerance: both refused). */
export function positiveNumber(name: string, raw: unknown, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (String(raw).trim() === '' || !Number.isFinite(n) || n <= 0) throw new RnncError(`--${name}: '${String(raw)}' must be a positive number`);
  return n;
}

/** NAME=N pairs; `positive` checks N here (sizes are checked against the cell by bindSizes instead). */
export function parseBindings(flag: string, raw: unknown, positive = true): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of (raw as string[] | undefined) ?? []) {
    const m = /^([A-Za-z_]\w*)=(.*)$/.exec(item);
    // (an assignment to '__proto__' would set the prototype of `out`, and the binding would vanish)
    if (!m || m[1] === '__proto__') throw new RnncError(`--${flag}: '${item}' must look like NAME=N${m ? ", and NAME cannot be '__proto__'" : ''}`);
    const n = Number(m[2]);
    if (m[2]!.trim() === '' || !Number.isFinite(n)) throw new RnncError(`--${flag}: '${item}' is not a number`);
    // (a safe integer: 2^53 + 1 would silently be read as 2^53)
    if (positive && (!Number.isSafeInteger(n) || n <= 0)) throw new RnncError(`--${flag}: ${m[1]} must be a positive integer below 2^53, got ${m[2]}`);
    // the flag repeats to bind several names; the same name twice is a contradiction, not an override
    if (Object.hasOwn(out, m[1]!)) throw new RnncError(`--${flag}: ${m[1]} given twice (${m[1]}=${out[m[1]!]}, then ${item}): give it once`);
    out[m[1]!] = n;
  }
  return out;
}

export interface CellJob {
  readonly file: string;
  readonly cell: TracedCell;
  readonly seq: number;
  readonly truncation: Truncation;
}

export async function loadJob(values: Values, positionals: string[], defaults: { batch: number; seq: number }): Promise<CellJob> {
  if (positionals.length !== 1) throw new RnncError(`expects one cell file, got ${positionals.length ? positionals.join(' ') : 'none'}`);
  const file = positionals[0]!;
  // every flag first: a mistake in one is reported before the cell file runs
  const lossOn = values['loss-on'] as string | undefined;
  if (lossOn !== undefined && lossOn !== 'every' && lossOn !== 'last') throw new RnncError(`--loss-on: '${lossOn}' must be 'every' or 'last'`);
  const loss = values.loss as string | undefined;
  if (loss !== undefined && loss !== 'ce' && loss !== 'mse') throw new RnncError(`--loss: '${loss}' must be 'ce' or 'mse'`);
  const sizes = parseBindings('size', values.size, false);
  const embed = parseBindings('embed', values.embed);
  const batch = positiveInt('batch', values.batch, defaults.batch);
  const seq = positiveInt('seq', values.seq, defaults.seq);
  const truncation = truncationOf(values, seq);
  const cell = traceCell(await loadCell(file), { loss, sizes, batch, lossOn, embed, ...(values.lengths ? { lengths: true } : {}) });
  return { file, cell, seq, truncation };
}

/**
 * --truncate against the sequence: a window longer than it is refused, naming both, where
 * parseTruncation would clamp it (a typo in either flag must not quietly become full BPTT).
 * Checked here, before parseTruncation, to name the flags (the library's compile() refuses it too; parseTruncation itself clamps).
 */
export function truncationOf(values: Values, seq: number): Truncation {
  const raw = values.truncate as string | undefined;
  const asked = flagError(() => parseTruncation(raw, Infinity)); // checks the text; Infinity: nothing clamped
  const longest = asked.k1 > seq ? 'k1' : asked.k2 > seq ? 'k2' : null;
  // no --truncate ('none' too) is one window of the whole sequence: Infinity here
  if (longest !== null && raw !== undefined && Number.isFinite(asked.k1)) {
    const what = raw.includes(':') ? `${longest} (${asked[longest]}) is` : `windows of ${asked.k1} steps are`;
    const sequence = values.seq === undefined ? `${seq} steps, the default --seq` : `--seq ${seq}`;
    throw new RnncError(`--truncate ${raw}: ${what} longer than the sequence (${sequence}): use at most ${seq}, or a longer --seq`);
  }
  return parseTruncation(raw, seq);
}

/** parseTruncation's errors, which the library shares, say 'truncate:'; on the command line the flag is --truncate. */
function flagError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof RnncError && e.site === undefined && e.message.startsWith('truncate: ')) throw new RnncError(`--${e.message}`);
    throw e;
  }
}
