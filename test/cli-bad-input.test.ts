/**
 * No bad input reaches exit 70 (issue 13): 70 is "internal error", rnnc's own bug, and a user's
 * mistake is never one. Every bad input this suite knows, run as a user runs rnnc (bin/rnnc.mjs
 * under node, RNNC_DEBUG unset): exit 1, nothing on stdout, exactly one line on stderr under the
 * command's name that names the file or the flag, no stack trace, and nothing written.
 *
 * - every cell in test/cells/bad/, compiled (so there is an output to leave behind): the ones that
 *   test/dsl-errors.test.ts checks message by message, and the ones that fail as they load (a
 *   throw of a non-Error, a throwing getter, a syntax error, an async step, a top-level await that
 *   never settles). A new bad cell is in this table as soon as it is in the folder;
 * - flags: repeated, empty, without effect in their combination (--momentum without the momentum
 *   optimizer, --seq with dot's cell view), a truncation longer than the sequence, and the bad
 *   values, paths and files of test/cli.test.ts and test/dot.test.ts, for every command.
 *
 * The runs start together, one per core (each is a third of a second of CPU), and each case
 * awaits its own.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const BAD = 'test/cells/bad';
const ELMAN = 'examples/cells/elman.ts';
const SMALL = ['-s', 'X=2', '-s', 'H=3', '-s', 'Y=2'];

/** One bad input: the command line (OUT: a fresh, empty folder), and what its one line must name. */
interface Case {
  readonly what: string;
  readonly args: readonly string[];
  readonly names: string;
  readonly message?: RegExp;
}

/** The flags a bad cell needs to be bad (it is good at its own sizes, as test/dsl-errors.test.ts binds it). */
const CELL_ARGS: Readonly<Record<string, readonly string[]>> = { 'bind-sizes.ts': ['--size', 'Q=3'] };

/** What the cells that fail as they load must say (the others are checked word by word in test/dsl-errors.test.ts). */
const LOAD_MESSAGES: Readonly<Record<string, RegExp>> = {
  'throws-string.ts': /^test\/cells\/bad\/throws-string\.ts: cannot load the cell file: it threw string "no cell today"$/,
  'throws-null.ts': /^test\/cells\/bad\/throws-null\.ts: cannot load the cell file: it threw null$/,
  'throws-error.ts': /^test\/cells\/bad\/throws-error\.ts:6:\d+: cannot load the cell file: TypeError: Cannot read properties of undefined \(reading 'valueOf'\)$/,
  'default-getter.ts': /^test\/cells\/bad\/default-getter\.ts:13:\d+: cannot load the cell file: reading its default export threw Error: the step is not ready$/,
  'default-getter-string.ts': /^test\/cells\/bad\/default-getter-string\.ts: cannot load the cell file: reading its default export threw string "not telling"$/,
  'result-getter.ts': /^test\/cells\/bad\/result-getter\.ts:9:\d+: cell 'result_getter': the step threw RangeError: no output yet$/,
  'async-step.ts': /^test\/cells\/bad\/async-step\.ts:13:\d+: cell 'async_step': the step returned a Promise: it must return \{ next, output \} synchronously/,
  // the line and the cause, after "Transform failed with 1 error:" (esbuild, as for a .ts cell) or
  // from TypeScript's parser (V8 names no line for an ES module Node loads itself)
  'syntax-error.jsx': /^test\/cells\/bad\/syntax-error\.jsx:8:\d+: cannot load the cell file: SyntaxError: Expected "\)" but found "\]"$/,
  'syntax-error.js': /^test\/cells\/bad\/syntax-error\.js:8:\d+: cannot load the cell file: SyntaxError: missing \) after argument list$/,
  'top-level-await.ts': /^test\/cells\/bad\/top-level-await\.ts: cannot load the cell file: its top-level await never settles$/,
  'imports-missing.ts': /^test\/cells\/bad\/imports-missing\.ts: cannot load the cell file: Error: Cannot find module '[^']*no-such-helpers\.ts' imported from /,
};

const cellCases: Case[] = fs.readdirSync(path.join(ROOT, BAD)).sort().map((file) => ({
  what: `the bad cell ${file}`,
  args: ['compile', `${BAD}/${file}`, '-o', 'OUT/t.ts', ...(CELL_ARGS[file] ?? [])],
  names: `${BAD}/${file}`,
  message: LOAD_MESSAGES[file],
}));

/** A flag case: `rnnc <command> <cell> <args>`, whose line must name `names`. */
const flag = (what: string, command: string, args: readonly string[], names: string, message?: RegExp): Case => ({ what, args: [command, ELMAN, ...SMALL, ...args], names, message });
const compile = (what: string, args: readonly string[], names: string, message?: RegExp) => flag(what, 'compile', ['-o', 'OUT/t.ts', ...args], names, message);
const dot = (what: string, args: readonly string[], names: string, message?: RegExp) => flag(what, 'dot', ['-o', 'OUT/x.svg', ...args], names, message);

const flagCases: Case[] = [
  // a flag given twice: the last one used to win
  compile('--seq twice', ['--seq', '4', '--seq', '8'], '--seq', /^--seq: given twice \(--seq 4, then --seq 8\): give it once$/),
  flag('-o twice', 'compile', ['-o', 'OUT/a.ts', '-o', 'OUT/b.ts'], '--out', /^--out: given twice \(-o \S+a\.ts, then -o \S+b\.ts\): give it once$/),
  flag('-o and --out', 'compile', ['-o', 'OUT/a.ts', '--out=OUT/b.ts'], '--out', /^--out: given twice \(-o \S+a\.ts, then --out \S+b\.ts\)/),
  compile('--optimizer three times', ['--optimizer', 'sgd', '--optimizer', 'adam', '--optimizer', 'sgd'], '--optimizer', /^--optimizer: given 3 times /),
  compile('-b and --batch', ['-b', '2', '--batch', '3'], '--batch', /^--batch: given twice \(-b 2, then --batch 3\)/),
  compile('--truncate twice', ['--seq', '4', '-k', '2', '-k', '2'], '--truncate', /^--truncate: given twice/),
  compile('the same size twice (--size repeats, one size each)', ['--size', 'H=4'], '--size', /^--size: H given twice \(H=3, then H=4\): give it once$/),
  compile('the same embedding twice', ['--embed', 'x=4', '--embed', 'x=5'], '--embed', /^--embed: x given twice \(x=4, then x=5\)/),
  flag('--forward twice', 'ir', ['--forward', '--forward'], '--forward', /^--forward: given twice \(--forward, then --forward\)/),
  flag('--atol twice', 'check', ['--atol', '1e-3', '--atol', '1e-4'], '--atol', /^--atol: given twice/),
  dot('--view twice', ['--view', 'unrolled', '--view', 'backward'], '--view', /^--view: given twice/),
  flag('-O and --opt', 'schedule', ['-O', '0', '--opt', '1'], '--opt', /^--opt: given twice \(-O 0, then --opt 1\)/),

  // an empty value: Number('') is 0, which used to be taken
  compile("--momentum ''", ['--optimizer', 'momentum', '--momentum', ''], '--momentum', /^--momentum: empty value$/),
  compile("--lr ''", ['--lr', ''], '--lr', /^--lr: empty value$/),
  compile('--lr=', ['--lr='], '--lr', /^--lr: empty value$/),
  compile("--seq ' '", ['--seq', ' '], '--seq', /^--seq: empty value$/),
  compile("--truncate ''", ['--truncate', ''], '--truncate', /^--truncate: empty value$/),
  flag("-o ''", 'compile', ['-o', ''], '--out', /^--out: empty value \(-o\)$/),
  flag("dot -o ''", 'dot', ['-o', ''], '--output', /^--output: empty value \(-o\)$/),
  flag("--rtol ''", 'check', ['--rtol', ''], '--rtol', /^--rtol: empty value$/),

  // a flag that does nothing in its combination
  compile('--momentum with the default optimizer (sgd)', ['--momentum', '0.5'], '--momentum', /^--momentum: only --optimizer momentum uses it, and the optimizer is sgd \(the default\)$/),
  compile('--momentum with --optimizer sgd', ['--optimizer', 'sgd', '--momentum', '0.5'], '--momentum', /the optimizer is sgd$/),
  compile('--momentum with --optimizer adam', ['--optimizer', 'adam', '--momentum', '0.9'], '--momentum', /the optimizer is adam$/),
  compile('--weight-decay with --optimizer adam', ['--optimizer', 'adam', '--weight-decay', '0.1'], '--weight-decay', /^--weight-decay: only --optimizer adamw uses it, and the optimizer is adam$/),
  compile('a negative --weight-decay', ['--optimizer', 'adamw', '--weight-decay=-1'], '--weight-decay', /^--weight-decay: '-1' must be a non-negative number$/),
  // softmax over one class is 1 whatever the logits: a loss and gradients of exactly 0, refused with the hint
  { what: 'cross-entropy over one class', args: ['compile', ELMAN, '-s', 'X=2', '-s', 'H=3', '-s', 'Y=1', '-o', 'OUT/t.ts'], names: 'mse', message: /^examples\/cells\/elman\.ts:\d+:\d+: cell 'elman': cross-entropy needs at least 2 classes, the readout has 1 \(Y=1\): for regression use --loss mse \(loss: 'mse'\)$/ },
  dot('--seq with the cell view (the default)', ['--seq', '8'], '--seq', /^--seq: the cell view draws one step, not the sequence: use --view unrolled or backward$/),
  dot('--truncate with the cell view', ['--view', 'cell', '--truncate', '2'], '--truncate', /^--truncate: the cell view draws one step/),
  dot('--detail with the cell view', ['--detail', 'step'], '--detail', /^--detail: the cell view draws one step/),
  dot('--after with the cell view', ['--after', 'differentiate'], '--after', /^--after: the cell view draws one traced step/),
  flag('--truncate without --seq', 'ir', ['--truncate', '2'], '--truncate', /^--truncate: needs --seq T/),
  flag('--unroll without --seq', 'ir', ['--unroll', '2'], '--unroll', /^--unroll: needs --seq T/),

  // a truncation longer than the sequence: it used to be clamped silently to full BPTT
  compile('--truncate 10 --seq 4', ['--truncate', '10', '--seq', '4'], '--truncate', /^--truncate 10: windows of 10 steps are longer than the sequence \(--seq 4\): use at most 4, or a longer --seq$/),
  compile('--truncate 2:8 --seq 4', ['--truncate', '2:8', '--seq', '4'], '--truncate', /^--truncate 2:8: k2 \(8\) is longer than the sequence \(--seq 4\)/),
  compile('--truncate 40 with the default --seq (32)', ['--truncate', '40'], '--truncate', /^--truncate 40: windows of 40 steps are longer than the sequence \(32 steps, the default --seq\)/),
  flag('check --truncate 8 with its default --seq (4)', 'check', ['--truncate', '8'], '--truncate', /\(4 steps, the default --seq\)/),
  flag('ir --seq 4 --truncate 5', 'ir', ['--seq', '4', '--truncate', '5'], '--truncate', /^--truncate 5: windows of 5 steps are longer than the sequence \(--seq 4\)/),
  dot('a sequence longer than dot draws', ['--view', 'unrolled', '--detail', 'step', '--seq', '1000000000'], '--seq', /^--seq 1000000000: more steps than rnnc dot draws at --detail step \(20000\)/),
  dot('more truncation windows than dot draws', ['--view', 'backward', '--detail', 'step', '--seq', '10000', '--truncate', '3'], '--truncate', /^--truncate 3: 3334 windows over --seq 10000, more than rnnc dot draws \(1000\)/),
  dot('dot --truncate 3 --seq 2', ['--view', 'backward', '--seq', '2', '--truncate', '3'], '--truncate', /longer than the sequence \(--seq 2\)/),
  flag('schedule --truncate 9', 'schedule', ['--truncate', '9'], '--truncate', /longer than the sequence \(4 steps, the default --seq\)/),

  // the bad values of test/cli.test.ts and test/dot.test.ts, and more of them, across the commands
  compile('an unknown optimizer', ['--optimizer', 'lion'], '--optimizer'),
  compile('a learning rate of zero', ['--lr', '0'], '--lr'),
  compile('a momentum of 1', ['--optimizer', 'momentum', '--momentum', '1'], '--momentum'),
  compile('a momentum that is no number', ['--optimizer', 'momentum', '--momentum', 'abc'], '--momentum'),
  compile('a negative number taken for a flag', ['--lr', '-1'], '--lr'),
  compile('a clip of zero', ['--clip', '0'], '--clip'),
  compile('a seed of zero', ['--seed', '0'], '--seed'),
  compile('a size that is no number', ['--size', 'H=abc'], '--size'),
  compile("a size named '__proto__'", ['--size', '__proto__=3'], '--size'),
  compile('a sequence length of zero', ['--seq', '0'], '--seq'),
  compile('a batch that is a fraction', ['--batch', '1.5'], '--batch'),
  compile('a truncation with k2 < k1', ['--truncate', '3:2'], 'truncate'),
  compile('an unknown loss', ['--loss', 'l1'], '--loss'),
  compile('an unknown --loss-on', ['--loss-on', 'first'], '--loss-on'),
  compile('an unknown optimization level', ['-O', '3'], '--opt'),
  compile('an unknown flag', ['--learning-rate', '0.1'], '--learning-rate'),
  compile('an embedding of an input the cell does not have', ['--embed', 'y=5'], '--embed y=5', /elman\.ts:\d+:\d+: --embed y=5: the cell has no dense input 'y' \(it has 'x'\)$/),
  compile('an embedding of the state', ['--embed', 'h=5'], '--embed h=5'),
  compile('an embedding of no vocabulary', ['--embed', 'x=0'], '--embed', /^--embed: x must be a positive integer below 2\^53, got 0$/),
  compile('an embedding past 2^53', ['--embed', 'x=9007199254740993'], '--embed', /^--embed: x must be a positive integer below 2\^53, got 9007199254740993$/),
  compile('an embedding that is not a number', ['--embed', 'x=ten'], '--embed', /^--embed: 'x=ten' is not a number$/),
  flag('an output that is not a module', 'compile', ['-o', 'OUT/t.cjs'], 't.cjs'),
  flag('an output folder that does not exist', 'compile', ['-o', 'OUT/missing/t.ts'], 'missing'),
  flag('no output path', 'compile', [], '-o'),
  flag('check: --tol, replaced', 'check', ['--tol', '1e-6'], '--tol'),
  flag('check: a seed that is no number', 'check', ['--seed', 'abc'], '--seed'),
  flag('ir: an unknown pass', 'ir', ['--after', 'nope'], '--after'),
  flag('ir: an unroll factor of zero', 'ir', ['--seq', '4', '--unroll', '0'], '--unroll'),
  flag('schedule: an unknown optimization level', 'schedule', ['-O', '2'], '--opt'),
  dot('dot: an unknown view', ['--view', 'sideways'], '--view'),
  dot('dot: an unknown detail', ['--view', 'unrolled', '--detail', 'all'], '--detail'),
  dot('dot: an unknown rankdir', ['--rankdir', 'RL'], '--rankdir'),
  flag('dot: a .png path', 'dot', ['-o', 'OUT/x.png'], 'x.png'),
  flag('dot: an unknown extension', 'dot', ['-o', 'OUT/x.pdf'], 'x.pdf'),

  // the cell file itself
  { what: 'a missing cell file', args: ['compile', `${BAD}/nope.ts`, '-o', 'OUT/t.ts'], names: `${BAD}/nope.ts`, message: /: no such file$/ },
  { what: 'a file that is no cell', args: ['ir', 'test/helpers.ts'], names: 'test/helpers.ts', message: /: the default export must be a cell\(\.\.\.\) definition$/ },
  { what: 'two cell files', args: ['ir', ELMAN, ELMAN], names: ELMAN, message: /^expects one cell file, got / },
  { what: 'no cell file', args: ['check'], names: 'cell file', message: /^expects one cell file, got none$/ },
];

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** What the output folder held afterwards. */
  readonly left: readonly string[];
}

const env = { ...process.env };
delete env.RNNC_DEBUG; // with it set, an internal error prints its stack

let root: string;
function run(c: Case, i: number): Promise<Run> {
  const out = path.join(root, `case-${i}`);
  fs.mkdirSync(out);
  const args = c.args.map((a) => a.replace(/^OUT\//, `${out}/`).replace(/^--out=OUT\//, `--out=${out}/`));
  return new Promise((resolve) =>
    execFile(process.execPath, ['bin/rnnc.mjs', ...args], { cwd: ROOT, encoding: 'utf8', env, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr, left: fs.readdirSync(out) }),
    ),
  );
}

/** Run `jobs` with at most `n` at a time. */
function pool<T>(jobs: readonly (() => Promise<T>)[], n: number): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]!();
    }
  };
  return Promise.all(Array.from({ length: Math.min(n, jobs.length) }, worker)).then(() => results);
}

const cases = [...cellCases, ...flagCases];
let runs: Run[] = [];
beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnc-bad-input-'));
  // an ES-module package, as a project's is: no warning about the output's module type
  fs.writeFileSync(path.join(root, 'package.json'), '{ "type": "module" }\n');
  runs = await pool(cases.map((c, i) => () => run(c, i)), os.availableParallelism());
}, 300_000);
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('every bad input: exit 1, one line naming the file or the flag, no stack, nothing written', () => {
  it('the table holds every bad cell and the load failures it names', () => {
    expect(cellCases.length).toBeGreaterThan(40);
    for (const file of Object.keys(LOAD_MESSAGES)) expect(fs.existsSync(path.join(ROOT, BAD, file)), file).toBe(true);
  });

  it.each(cases.map((c, i) => [c.what, c, i] as const))('%s', (_, c, i) => {
    const r = runs[i]!;
    const command = c.args[0]!;
    expect(r.status, r.stderr).not.toBe(70);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^rnnc ${command}: [^\\n]+\\n$`));
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const line = r.stderr.slice(`rnnc ${command}: `.length, -1);
    expect(line).toContain(c.names);
    if (c.message) expect(line).toMatch(c.message);
    expect(r.left).toEqual([]);
  });
});
