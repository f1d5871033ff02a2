/**
 * Errors in cell files: an RnncError whose message names the cell file and the line where the
 * offending value was created, the op, and the shapes or names involved; the CLI prints the same
 * message and exits non-zero without a stack trace. Each bad cell lives in test/cells/bad/ and
 * marks the line the error must point at with `// ← error` (the test reads the line from there).
 * Cases too alike to each need a file and a CLI run (cell(...)'s arguments, an op handed a
 * non-tensor) are tables at the end of this file, each row marked `// ← <tag>` the same way.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { RnncError } from '../ir/error.ts';
import { cell, isCellDef, type CellDef, type ReadoutFn, type StepContext, type StepResult } from '../src/dsl/cell.ts';
import { init, type Init } from '../src/dsl/init.ts';
import { concat, exp, log, relu, sigmoid, stopGradient, tanh, type Tensor } from '../src/dsl/tensor.ts';
import { traceCell } from '../src/dsl/trace.ts';
import { loadCell } from '../src/load.ts';

const DIR = 'test/cells/bad';
/** This file: the tables of small cases below are cells written here, marked like the bad cells. */
const THIS = 'test/dsl-errors.test.ts';

/** The 1-based line of the one line in `file` (under test/cells/bad/, or THIS) that carries `// ← <tag>`. */
function markedLine(file: string, tag: string): number {
  const lines = fs.readFileSync(file === THIS ? THIS : path.join(DIR, file), 'utf8').split('\n');
  const hits = lines.flatMap((l, i) => (l.trimEnd().endsWith(`// ← ${tag}`) ? [i + 1] : []));
  expect(hits, `${file}: one '// ← ${tag}' marker`).toHaveLength(1);
  return hits[0]!;
}

interface Case {
  readonly what: string;
  readonly file: string;
  /** Size bindings, as the library takes them and as `--size NAME=N` flags. */
  readonly sizes?: Readonly<Record<string, number>>;
  readonly mentions: (file: string) => readonly string[];
  /** What the message must not say (the batch axis the cell never wrote, a misleading phrase). */
  readonly absent?: readonly string[];
}

const cases: readonly Case[] = [
  { what: 'shape mismatch in an op: [4H] + [H]', file: 'add-shape.ts', mentions: () => ['add:', '[12]', '[3]'] },
  { what: 'mv with the wrong inner size', file: 'mv-inner.ts', mentions: () => ['mv:', '[3, 4]', '[2]'] },
  { what: 'reading an undeclared size in the step', file: 'unknown-size-read.ts', mentions: () => ["unknown size 'Q'", "'unknown_read'", 'X, H, Y'] },
  { what: 'binding an undeclared size', file: 'bind-sizes.ts', sizes: { Q: 3 }, mentions: () => ["unknown size 'Q'", "'bind_sizes'", 'X, H, Y'] },
  { what: 'a size declared null and not bound', file: 'unbound-size.ts', mentions: () => ["size 'H' is not bound", '--size H=N'] },
  { what: 'a duplicate name', file: 'duplicate-name.ts', mentions: (f) => ["duplicate name 'h'", `first declared at ${DIR}/${f}:${markedLine(f, 'first')}`] },
  { what: 'a name rnnc reserves for its own values', file: 'reserved-name.ts', mentions: () => ["name 'output' is reserved"] },
  { what: 'a parameter that does not reach the loss', file: 'param-unused.ts', mentions: () => ["parameter 'unused'", '[3]', 'does not reach the loss'] },
  { what: 'a state the step never updates', file: 'state-not-updated.ts', mentions: () => ["state 'c'", 'never updated'] },
  { what: 'a state updated with the wrong shape', file: 'state-wrong-shape.ts', mentions: () => ["state 'h'", '[3]', '[6]'] },
  { what: 'a step whose output is not a tensor', file: 'output-not-tensor.ts', mentions: () => ["'not_tensor'", 'output', 'number 42', 'not a tensor'] },
  { what: 'a size declared as zero', file: 'size-zero.ts', mentions: () => ["size 'H'", 'positive integer', 'got 0'] },
  { what: 'a size bound to zero', file: 'bind-sizes.ts', sizes: { H: 0 }, mentions: () => ["size 'H'", 'positive integer', 'got 0'] },
  { what: 'a size bound to a negative number', file: 'bind-sizes.ts', sizes: { H: -1 }, mentions: () => ["size 'H'", 'positive integer', 'got -1'] },
  { what: 'a size bound to a fraction', file: 'bind-sizes.ts', sizes: { H: 2.5 }, mentions: () => ["size 'H'", 'positive integer', 'got 2.5'] },
  { what: 'a size declared NaN', file: 'cell-size-nan.ts', mentions: () => ["size 'H'", 'positive integer', 'got NaN'] },
  { what: 'a shape with a fractional dimension (H / 2 for H = 3)', file: 'shape-fraction.ts', mentions: () => ["param 'weight_ih'", '[1.5, 2]', 'positive integers', 'dimension 0 is 1.5'] },

  // every op that can mismatch, in per-example shapes
  { what: 'sub of [H] and [X]', file: 'sub-shape.ts', mentions: () => ['sub:', '[3] and [2]', 'do not match'] },
  { what: 'mul of an unsplit [2H] gate and [H]', file: 'mul-shape.ts', mentions: () => ['mul:', '[6] and [3]', 'do not match'] },
  { what: 'div of [H] by an [X] parameter', file: 'div-shape.ts', mentions: () => ['div:', '[3] and [2]', 'do not match'] },
  { what: 'mv with a vector as the matrix', file: 'mv-rank.ts', mentions: () => ['mv:', '[M, K]', '[3] and [2]'] },
  { what: 'mv with a per-example matrix', file: 'mv-per-example.ts', mentions: () => ['mv:', 'must be a parameter', 'per-example [3, 2]'] },
  { what: 'mv with a number for the vector (was an internal error)', file: 'mv-number.ts', mentions: () => ['mv:', 'the vector must be a tensor', 'got number 3'], absent: ['internal error'] },
  { what: 'concat of [H] and [H, X]', file: 'concat-shape.ts', mentions: () => ['concat:', '[3], [3, 2]', 'last axis'] },
  { what: 'concat of an array', file: 'concat-array.ts', mentions: () => ['concat:', 'not an array', 'concat(...xs)'] },
  { what: 'concat of scalars (used to join along the batch axis)', file: 'concat-scalar.ts', mentions: () => ['concat:', 'last axis', 'scalar []', '[], []'] },
  { what: 'slice past the end, in per-example terms', file: 'slice-range.ts', mentions: () => ['slice:', '[2, 5)', 'out of range for [3]', 'last axis (axis 0) has 3 elements'], absent: ['[1, 3]', 'axis 1'] },
  { what: 'slice of a scalar (used to slice the batch axis)', file: 'slice-scalar.ts', mentions: () => ['slice:', 'last axis', 'scalar []'] },
  { what: 'split of [4H] into a count that does not divide it', file: 'split-count.ts', mentions: () => ['split:', '[12]', '5 equal parts', '12 is not a multiple of 5'] },
  { what: 'lookup in a table of one axis', file: 'lookup-table-rank.ts', mentions: () => ['lookup:', '[V, E]', 'got [5]'] },
  { what: 'lookup of a dense input', file: 'lookup-dense.ts', mentions: () => ['lookup:', 'token ids', 'got a tensor [2]'] },
  { what: 'lookup in a table with fewer rows than the vocabulary', file: 'lookup-vocab.ts', mentions: () => ['lookup:', '[5, 4]', '5 rows', 'up to 9', 'vocabulary of 10'] },
  { what: 'tokens with a vocabulary of 0', file: 'tokens-vocab-zero.ts', mentions: () => ["tokens 'w'", 'vocabulary size 0', 'positive integer'] },
  { what: 'arithmetic on token ids', file: 'tokens-arith.ts', mentions: () => ['add:', 'token ids are not numbers', 'embedding'] },
  { what: 'a param init that is not an init scheme', file: 'init-bad.ts', mentions: () => ["param 'weight_ih'", 'init must be one of', 'init.zeros()', 'got string "zeros"'] },

  // what the step returns
  { what: "a state's next value that is not a tensor: at the state's declaration", file: 'next-not-tensor.ts', mentions: () => ["next value of state 'h' [3]", 'number 0', 'not a tensor'] },
  { what: 'next that is a tensor, not an object of states', file: 'next-not-object.ts', mentions: () => ["'next_not_object'", 'next must be an object', 'got a tensor [3]'] },
  { what: 'next naming an undeclared state: at the value', file: 'next-unknown-state.ts', mentions: () => ["next has 'hidden'", "the states are 'h'"] },
  { what: 'a step that returns a bare tensor', file: 'step-returns-tensor.ts', mentions: () => ["'returns_tensor'", 'the step returned a tensor [3]', 'it must return { next: {', 'output: tensor }'] },
  { what: 'a step that returns nothing', file: 'step-returns-nothing.ts', mentions: () => ["'returns_nothing'", 'the step returned undefined', 'it must return { next: {'] },
  { what: "a step whose own code throws (a typo): at the step's line", file: 'step-throws.ts', mentions: () => ["'step_throws'", 'the step threw TypeError', 'mvv is not a function'], absent: ['internal error'] },
  { what: 'a state updated with a parameter: right size, not per-example', file: 'state-not-per-example.ts', mentions: () => ["next value of state 'h' [3]", 'is not per-example', "does not depend on the step's inputs or state"], absent: ['updates it with'] },
  { what: 'an output made of parameters only', file: 'output-not-per-example.ts', mentions: () => ["the step's output [3]", 'is not per-example', "does not depend on the step's inputs or state"] },

  // cell(...)'s own arguments, checked where the cell is defined (when its file is imported)
  { what: 'a cell option with an unknown value', file: 'cell-option.ts', mentions: () => ["cell 'cell_option'", "option 'loss'", "'ce' or 'mse'", 'got string "xent"'] },

  // the cell file's own code, as it is imported and read (each used to be an internal error or a wrong message)
  { what: "the file's top-level code throws: at its line", file: 'throws-error.ts', mentions: () => ['cannot load the cell file: TypeError:', "reading 'valueOf'"], absent: ['internal error'] },
  { what: 'a getter of the default export throws: at the getter', file: 'default-getter.ts', mentions: () => ['cannot load the cell file: reading its default export threw Error: the step is not ready'], absent: ['internal error'] },
  { what: 'a getter of the step result throws: at the getter', file: 'result-getter.ts', mentions: () => ["cell 'result_getter'", 'the step threw RangeError: no output yet'], absent: ['internal error'] },
  { what: 'an async step: a Promise, not an object without keys', file: 'async-step.ts', mentions: () => ["cell 'async_step'", 'the step returned a Promise: it must return { next, output } synchronously'], absent: ['an object with keys'] },
];

async function traceError(c: Case): Promise<RnncError> {
  try {
    // some errors come from cell(...) itself, as the file is imported
    traceCell(await loadCell(path.join(DIR, c.file)), { sizes: c.sizes });
  } catch (e) {
    expect(e).toBeInstanceOf(RnncError);
    return e as RnncError;
  }
  throw new Error(`${c.file}: traced without an error`);
}

// ── the CLI, as a child process. Each run costs about a second of CPU (tsx and the compiler's
// imports), so the runs start together, one per core, and each case awaits its own.

interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const cliEnv = { ...process.env };
delete cliEnv.RNNC_DEBUG; // with it set, internal errors print their stack

function rnnc(args: readonly string[]): Promise<CliRun> {
  return new Promise((resolve) =>
    execFile(process.execPath, ['bin/rnnc.mjs', ...args], { encoding: 'utf8', env: cliEnv }, (err, stdout, stderr) =>
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    ),
  );
}

/** Run `jobs` with at most `n` at a time. */
function pool<T>(jobs: readonly (() => Promise<T>)[], n: number): Promise<T>[] {
  let next = 0;
  const results = jobs.map(() => {
    let resolve!: (v: T) => void;
    return { promise: new Promise<T>((r) => (resolve = r)), resolve: (v: T) => resolve(v) };
  });
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i]!.resolve(await jobs[i]!());
    }
  };
  for (let k = 0; k < Math.min(n, jobs.length); k++) void worker();
  return results.map((r) => r.promise);
}

const cliArgs = (c: Case) => ['ir', `${DIR}/${c.file}`, ...Object.entries(c.sizes ?? {}).flatMap(([k, v]) => ['--size', `${k}=${v}`])];
let cliRuns: CliRun[] = [];
beforeAll(async () => {
  const more = [['ir', `${DIR}/nope.ts`], ['ir', `${DIR}/not-a-cell.ts`], ['ir', `${DIR}/bind-sizes.ts`, '--size', 'H=NaN']];
  cliRuns = await Promise.all(pool([...cases.map((c) => () => rnnc(cliArgs(c))), ...more.map((args) => () => rnnc(args))], os.availableParallelism()));
}, 300_000);

describe.each(cases.map((c, i) => [c.what, c, i] as const))('%s', (_, c, i) => {
  it('is an RnncError at the offending line, naming the op and the shapes or names', async () => {
    const err = await traceError(c);
    const line = markedLine(c.file, 'error');
    expect(err.site).toMatchObject({ file: `${DIR}/${c.file}`, line });
    expect(err.message).toMatch(new RegExp(`^${DIR}/${c.file.replace('.', '\\.')}:${line}:\\d+: `));
    for (const m of c.mentions(c.file)) expect(err.message).toContain(m);
    for (const m of c.absent ?? []) expect(err.message).not.toContain(m);
  });

  it(`the CLI (rnnc ${cliArgs(c).join(' ')}) prints the same message and exits non-zero, without a stack trace`, async () => {
    const err = await traceError(c);
    const r = cliRuns[i]!;
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`rnnc ir: ${err.message}\n`);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('    at '))).toEqual([]);
  });
});

describe('cell files that are not cells', () => {
  it('a missing file and a file without a cell are RnncErrors, also from the CLI', async () => {
    await expect(loadCell(`${DIR}/nope.ts`)).rejects.toThrow(`${DIR}/nope.ts: no such file`);
    await expect(loadCell('test/helpers.ts')).rejects.toThrow(/the default export must be a cell/);
    const r = cliRuns[cases.length]!;
    expect([r.status, r.stderr]).toEqual([1, `rnnc ir: ${DIR}/nope.ts: no such file\n`]);
  });

  it.each([
    ['throws-string.ts', 'it threw string "no cell today"'],
    ['throws-null.ts', 'it threw null'],
    ['default-getter-string.ts', 'reading its default export threw string "not telling"'],
  ])('%s: what a file throws that is no Error is an RnncError naming the file (it used to be an internal error)', async (file, what) => {
    await expect(loadCell(`${DIR}/${file}`)).rejects.toThrow(new RnncError(`${DIR}/${file}: cannot load the cell file: ${what}`));
  });

  it("an export that only looks like a cell ({ kind: 'rnnc-cell' }) is not taken for one (it used to be an internal error)", async () => {
    await expect(loadCell(`${DIR}/not-a-cell.ts`)).rejects.toThrow(`${DIR}/not-a-cell.ts: the default export must be a cell(...) definition`);
    const r = cliRuns[cases.length + 1]!;
    expect([r.status, r.stderr]).toEqual([1, `rnnc ir: ${DIR}/not-a-cell.ts: the default export must be a cell(...) definition\n`]);
    const real = await loadCell(`${DIR}/bind-sizes.ts`);
    expect(isCellDef(real)).toBe(true);
    for (const broken of [{ ...real, name: 3 }, { ...real, sizes: null }, { ...real, step: 'step' }, { ...real, options: undefined }]) expect(isCellDef(broken)).toBe(false);
  });
});

describe('sizes: zero, negative, fractional, NaN', () => {
  let bindSizes: CellDef;
  beforeAll(async () => void (bindSizes = await loadCell(`${DIR}/bind-sizes.ts`)));

  it.each([0, -1, 2.5, NaN, Infinity])('binding H = %s is an error at the cell, naming the size and the value', (H) => {
    const err = thrown(() => traceCell(bindSizes, { sizes: { H } }));
    expect(err.site).toMatchObject({ file: `${DIR}/bind-sizes.ts`, line: markedLine('bind-sizes.ts', 'error') });
    expect(err.message).toContain(`size 'H' must be a positive integer, got ${H}`);
  });

  it('the CLI refuses --size H=NaN before tracing', () => {
    const r = cliRuns[cases.length + 2]!;
    expect([r.status, r.stderr]).toEqual([1, "rnnc ir: --size: 'H=NaN' is not a number\n"]);
  });

  it.each([0, -3, 1.5, NaN, '4'])('declaring H = %s is an error at the cell(...) line, as the file is imported', (H) => {
    const err = thrown(() => cell('declared', { X: 2, H: H as number, Y: 2 }, stub)); // ← declared
    expect(err.site).toMatchObject({ file: THIS, line: markedLine(THIS, 'declared') });
    expect(err.message).toContain(`size 'H' must be a positive integer, got ${typeof H === 'string' ? `string "${H}"` : H}`);
  });
});

/** The RnncError that `fn` throws. */
function thrown(fn: () => unknown): RnncError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RnncError);
    return e as RnncError;
  }
  throw new Error('no error');
}

const stub = ({ X, H }: Readonly<Record<string, number>>, { input, state, param }: StepContext): StepResult => {
  const h1 = tanh(param('weight_ih', [H!, X!]).mv(input('x', [X!])).add(state('h', [H!])));
  return { next: { h: h1 }, output: h1 };
};

/** Cases alike enough for a table: [marker tag, what, what throws (on the marked line), what the message says]. */
type Row = readonly [tag: string, what: string, fn: () => unknown, message: string];

function checkRows(rows: readonly Row[]): void {
  it.each(rows.map(([tag, what, fn, message]) => [what, tag, fn, message] as const))('%s', (_, tag, fn, message) => {
    const err = thrown(fn);
    const line = markedLine(THIS, tag);
    expect(err.site).toMatchObject({ file: THIS, line });
    expect(err.message).toMatch(new RegExp(`^${THIS.replaceAll('.', '\\.')}:${line}:\\d+: `));
    expect(err.message).toContain(message);
  });
}

/** A cell written in JavaScript can pass anything: `js(v)` hides `v`'s type from TypeScript. */
const js = <T,>(v: unknown): T => v as T;

describe('cell(...) checks its arguments where it is called, as the cell file is imported', () => {
  checkRows([
    ['empty-name', 'an empty name', () => cell('', { H: 3 }, stub), 'cell: the name must be a non-empty string on one line, got string ""'], // ← empty-name
    ['number-name', 'a name that is not a string', () => cell(js(42), { H: 3 }, stub), 'cell: the name must be a non-empty string on one line, got number 42'], // ← number-name
    ['two-line-name', 'a name of two lines (it lands in comments of generated code)', () => cell('a\nb', { H: 3 }, stub), 'cell: the name must be a non-empty string on one line'], // ← two-line-name
    ['sizes-array', 'sizes that are not an object', () => cell('c', js<Record<string, number>>([2, 3]), stub), "cell 'c': sizes must be an object such as { X: 16, H: null }"], // ← sizes-array
    ['size-name', 'a size name that --size cannot bind', () => cell('c', { 'hidden size': 3 }, stub), "cell 'c': bad size name \"hidden size\""], // ← size-name
    ['size-string', 'a size that is not a number', () => cell('c', { H: js('3') }, stub), "size 'H' must be a positive integer, got string \"3\""], // ← size-string
    ['no-step', 'a step that is not a function', () => cell('c', { H: 3 }, js(undefined)), "cell 'c': the step must be a function (sizes, { input, tokens, state, param }) => { next, output }, got undefined"], // ← no-step
    ['options-string', 'options that are not an object', () => cell('c', { H: 3 }, stub, js('mse')), "cell 'c': options must be an object { readout?, loss?, lossOn? }, got string \"mse\""], // ← options-string
    ['unknown-option', 'an unknown option', () => cell('c', { H: 3 }, stub, js({ lossOnn: 'last' })), "cell 'c': unknown option 'lossOnn': the options are readout, loss, lossOn"], // ← unknown-option
    ['proto-option', "an option named like one of Object's methods", () => cell('c', { H: 3 }, stub, js({ toString: 'x' })), "cell 'c': unknown option 'toString'"], // ← proto-option
    ['bad-loss', 'a loss that is not ce or mse', () => cell('c', { H: 3 }, stub, js({ loss: 'xent' })), "cell 'c': option 'loss' must be 'ce' or 'mse', got string \"xent\""], // ← bad-loss
    ['bad-loss-on', 'a lossOn that is not every or last', () => cell('c', { H: 3 }, stub, js({ lossOn: 'first' })), "cell 'c': option 'lossOn' must be 'every' or 'last', got string \"first\""], // ← bad-loss-on
    ['bad-readout', 'a readout that is not linear or a function', () => cell('c', { H: 3 }, stub, js({ readout: 'softmax' })), "cell 'c': option 'readout' must be 'linear' or a function"], // ← bad-readout
  ]);

  it('takes what the stock cells and the tests pass', () => {
    expect(isCellDef(cell('ok', { X: 2, H: null, Y: 2 }, stub, { readout: 'linear', loss: 'mse', lossOn: 'last' }))).toBe(true);
    expect(isCellDef(cell('ok', { X: 2, H: 3 }, stub, { readout: (_, { param }, o) => param('w', [2, 3]).mv(o), loss: undefined }))).toBe(true);
  });
});

/** A step that runs `bad` with a few values to misuse; the error must point at the line of `bad`. */
function misuse(bad: (v: { x: Tensor; h: Tensor; W: Tensor; E: Tensor; w: Tensor }) => unknown): () => unknown {
  const def = cell('misuse', { X: 2, H: 3, Y: 2 }, ({ X, H }, { input, tokens, state, param }) => {
    const v = { x: input('x', [X]), h: state('h', [H]), W: param('weight_ih', [H, X]), E: param('embedding', [5, X]), w: tokens('w', 5) };
    bad(v);
    return { next: { h: v.h }, output: v.h };
  });
  return () => traceCell(def);
}

describe('every op checks that its operands are tensors (a number, a string, an array, undefined)', () => {
  checkRows([
    ['op-mv', 'mv of a number', misuse(({ W }) => W.mv(js(3))), 'mv: the vector must be a tensor, got number 3'], // ← op-mv
    ['op-mv-undefined', 'mv of undefined', misuse(({ W }) => W.mv(js(undefined))), 'mv: the vector must be a tensor, got undefined'], // ← op-mv-undefined
    ['op-lookup', 'lookup of a number', misuse(({ E }) => E.lookup(js(3))), 'lookup: the token ids must be a tensor, got number 3'], // ← op-lookup
    ['op-lookup-table', 'lookup in token ids', misuse(({ w }) => w.lookup(w)), 'lookup: the table must be a [V, E] parameter, got token ids'], // ← op-lookup-table
    ['op-add', 'add of a string', misuse(({ h }) => h.add(js('1'))), 'add: the operand must be a tensor or a finite number, got string "1"'], // ← op-add
    ['op-sub', 'sub of an array', misuse(({ h }) => h.sub(js([1, 2, 3]))), 'sub: the operand must be a tensor or a finite number, got an array of 3'], // ← op-sub
    ['op-mul', 'mul by NaN', misuse(({ h }) => h.mul(Math.sqrt(-1))), 'mul: the operand must be a tensor or a finite number, got number NaN'], // ← op-mul
    ['op-div', 'div by Infinity', misuse(({ h }) => h.div(1 / 0)), 'div: the operand must be a tensor or a finite number, got number Infinity'], // ← op-div
    ['op-tanh', 'tanh of a number', misuse(() => tanh(js(3))), 'tanh: the operand must be a tensor, got number 3'], // ← op-tanh
    ['op-sigmoid', 'sigmoid of token ids', misuse(({ w }) => sigmoid(w)), 'sigmoid: token ids are not numbers'], // ← op-sigmoid
    ['op-relu', 'relu of an object', misuse(() => relu(js({ h: 1 }))), 'relu: the operand must be a tensor, got an object with keys h'], // ← op-relu
    ['op-exp', 'exp of undefined', misuse(() => exp(js(undefined))), 'exp: the operand must be a tensor, got undefined'], // ← op-exp
    ['op-log', 'log of a string', misuse(() => log(js('x'))), 'log: the operand must be a tensor, got string "x"'], // ← op-log
    ['op-stop', 'stopGradient of a number', misuse(() => stopGradient(js(0))), 'stop_gradient: the operand must be a tensor, got number 0'], // ← op-stop
    ['op-concat', 'concat with a number', misuse(({ x, h }) => concat(x, js(3), h)), 'concat: operand 2 must be a tensor, got number 3'], // ← op-concat
    ['op-concat-none', 'concat of nothing', misuse(() => concat()), 'concat: nothing to concatenate'], // ← op-concat-none
    ['op-concat-tokens', 'concat with token ids', misuse(({ x, w }) => concat(x, w)), 'concat: token ids are not numbers'], // ← op-concat-tokens
    ['op-sum-tokens', 'sum of token ids', misuse(({ w }) => w.sum()), 'sum: token ids are not numbers'], // ← op-sum-tokens
    ['op-split-zero', 'split into 0 parts', misuse(({ h }) => h.split(0)), 'split: the number of parts must be a positive integer, got number 0'], // ← op-split-zero
    ['op-split-string', 'split into "3" parts', misuse(({ h }) => h.split(js('3'))), 'split: the number of parts must be a positive integer, got string "3"'], // ← op-split-string
    ['op-slice-fraction', 'slice at a fraction', misuse(({ h }) => h.slice(0, 1.5)), 'slice: start and end must be integers, got number 0 and number 1.5'], // ← op-slice-fraction
    ['op-slice-empty', 'an empty slice', misuse(({ h }) => h.slice(2, 2)), 'slice: [2, 2) is out of range for [3]'], // ← op-slice-empty
    ['op-slice-negative', 'a negative start', misuse(({ W }) => W.slice(-1, 2)), 'slice: [-1, 2) is out of range for [3, 2]: the last axis (axis 1) has 2 elements'], // ← op-slice-negative
  ]);
});

describe('parameter inits that need a matrix', () => {
  const withParam = (shape: number[], how: Init) => () => traceCell(cell('inits', { X: 2, H: 3, Y: 2 }, (sizes, ctx) => {
    const b = ctx.param('b', shape, how); // ← init-rank
    return stub(sizes, { ...ctx, param: (n, s, i) => (n === 'weight_ih' ? ctx.param(n, s, i).add(b.sum()) : ctx.param(n, s, i)) });
  }));
  it.each([
    [[3], init.xavier()],
    [[3], init.orthogonal()],
    [[], init.identity()],
  ] as const)('%j with %j is an error at the param', (shape, how) => {
    const err = thrown(withParam([...shape], how));
    expect(err.site).toMatchObject({ file: THIS, line: markedLine(THIS, 'init-rank') });
    expect(err.message).toContain(`init '${how.kind}' is for a matrix [rows, cols]`);
  });

  it('a scalar parameter with the default init gets a finite bound', () => {
    const c = traceCell(cell('scalar', { X: 2, H: 3, Y: 2 }, (sizes, ctx) => {
      const a = ctx.param('a', []);
      const r = stub(sizes, ctx);
      return { next: { h: r.next.h!.mul(a) }, output: r.output.mul(a) };
    }));
    expect(c.params.find((p) => p.name === 'a')!.init).toEqual({ kind: 'uniform', bound: 1 });
  });
});

describe("an error a cell's own code throws is the cell's error, at its line, not an internal error", () => {
  const sizes = { X: 2, H: 3, Y: 2 };
  checkRows([
    ['readout-throws', 'a readout with a typo', () => traceCell(cell('r', sizes, stub, { readout: (_, __, o) => js<{ mvv(o: Tensor): Tensor }>(o).mvv(o) })), "cell 'r': the readout threw TypeError: "], // ← readout-throws
    ['step-throws-string', 'a step that throws a string: at the cell', () => traceCell(cell('s', sizes, () => { throw js<Error>('oops'); })), "cell 's': the step threw string \"oops\""], // ← step-throws-string
    ['step-throws-native', 'a step whose call into native code throws: at the call', () => traceCell(cell('n', sizes, () => JSON.parse('{') as StepResult)), "cell 'n': the step threw SyntaxError: "], // ← step-throws-native
  ]);
});

describe('an async step or readout: a Promise, whose rejection is no unhandled error of rnnc', () => {
  const sizes = { X: 2, H: 3, Y: 2 };
  // vitest fails the run on an unhandled rejection: these Promises reject
  const rejects = js<typeof stub>(async () => Promise.reject(new Error('later')));
  const rejectsReadout = js<ReadoutFn>(async () => Promise.reject(new Error('later')));
  checkRows([
    ['async-step-rejects', 'an async step that rejects', () => traceCell(cell('a', sizes, rejects)), "cell 'a': the step returned a Promise: it must return { next, output } synchronously"], // ← async-step-rejects
    ['async-readout', 'an async readout', () => traceCell(cell('r', sizes, stub, { readout: rejectsReadout })), "cell 'r': the readout returned a Promise: it must return the logits synchronously"], // ← async-readout
  ]);
});

describe('a readout that returns what is not logits', () => {
  const sizes = { X: 2, H: 3, Y: 2 };
  checkRows([
    ['readout-param', 'a parameter, the same for every example', () => traceCell(cell('r', sizes, stub, { readout: (_, { param }) => param('w', [2]) })), "cell 'r': the readout must return a per-example vector (the logits), got a tensor [2], the same for every example"], // ← readout-param
    ['readout-number', 'a number', () => traceCell(cell('r', sizes, stub, { readout: () => js(0) })), "cell 'r': the readout must return a per-example vector (the logits), got number 0"], // ← readout-number
  ]);
});
