/**
 * The rnnc command line, run as a real subprocess (bin/rnnc.mjs under node, as a user runs it):
 * - compile: every flag reaches the generated module. Each module is written to a temp folder,
 *   imported, and its `spec` compared with the flags; its trainer is created (the default seed is
 *   spec.seed, the arrays follow --float, the optimizer settings follow the flags) and one
 *   lossAndGrad on an all-zero batch gives a finite loss and finite gradients.
 * - compile with bad flags or a bad output path (the .d.ts of a .js output included): exit 1, one
 *   line on stderr naming the flag and the value, no stack trace, and nothing left in the output
 *   folder; a .ts or .js output outside an ES-module package: written, with one warning line.
 * - check: good cells pass and print both largest errors of each comparison and the value and
 *   tolerance that decided; tolerances no float can meet fail with exit 1, naming the value; bad
 *   --atol, --rtol and --seed, and the old --tol, are refused.
 * - ir: the forward and backward sections, --after for every pass of the pipeline, an unknown
 *   pass (refused before anything is printed), and a cell file outside any package.
 * - --help for rnnc and each command, and an unknown command.
 * Each spawn costs about a second, so the cases are chosen to cover flags, not to repeat them.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { passNames } from '../src/pipeline.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin/rnnc.mjs');
const SMALL = ['-s', 'X=2', '-s', 'H=3', '-s', 'Y=2'];
const TIMEOUT = 60_000;

const rnnc = (args: readonly string[], cwd = ROOT) => spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8' });

/** A refusal: exit 1, nothing on stdout, exactly one line on stderr under the command's name, no stack. */
function expectOneLineError(r: ReturnType<typeof rnnc>, command: string, message: RegExp): void {
  expect(r.status).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(new RegExp(`^rnnc ${command}: [^\\n]+\\n$`));
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

let root: string;
/** Where the modules are written: an ES-module package, as a project's is (elsewhere rnnc warns about .ts and .js outputs, tested below). */
let esm: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnc-cli-'));
  esm = path.join(root, 'esm');
  fs.mkdirSync(esm);
  fs.writeFileSync(path.join(esm, 'package.json'), '{ "type": "module" }\n');
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

type DType = 'f32' | 'f64' | 'i32';
/** The part of a generated module's `spec` these tests read. */
interface Spec {
  cell: string;
  sizes: Record<string, number>;
  batch: number;
  seq: number;
  /** null: full BPTT (one window over the sequence). */
  truncate: { k1: number; k2: number } | null;
  float: 'f32' | 'f64';
  loss: 'ce' | 'mse';
  lossOn: 'every' | 'last';
  inputs: Record<string, { dtype: DType; shape: number[]; vocab?: number }>;
  target: { dtype: DType; shape: number[]; classes?: number };
  params: Record<string, number[]>;
  state: Record<string, number[]>;
  optimizer: { kind: string; lr: number; momentum: number; beta1: number; beta2: number; eps: number };
  clip: number | null;
  seed: number;
  opt: 0 | 1;
}
type Floats = Float32Array | Float64Array;
interface Trainer {
  params: Record<string, Floats>;
  grads: Record<string, Floats>;
  hyper: { lr: number; momentum: number; clip: number | null };
  lossAndGrad(batch: { inputs: Record<string, Floats | Int32Array>; targets: Floats | Int32Array }): number;
}
interface TrainerModule {
  spec: Spec;
  createTrainer(options?: { seed?: number }): Trainer;
}
type DeepPartial<T> = { [K in keyof T]?: T[K] extends object | null ? DeepPartial<T[K]> : T[K] };

const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Every input and the target filled with zeros (class 0 for ids), in the array type the spec gives. */
function zeroBatch(spec: Spec) {
  const zeros = (dtype: DType, shape: readonly number[]) => new { f32: Float32Array, f64: Float64Array, i32: Int32Array }[dtype](count(shape));
  const inputs = Object.fromEntries(Object.entries(spec.inputs).map(([name, x]) => [name, zeros(x.dtype, x.shape)]));
  return { inputs, targets: zeros(spec.target.dtype, spec.target.shape) };
}

describe('rnnc compile: every flag reaches the generated module', () => {
  interface Case {
    what: string;
    cell: string;
    out: string;
    args: string[];
    spec: Omit<DeepPartial<Spec>, 'truncate'>;
    /** The windows in effect: spec.truncate, or one window over the sequence where that is null. */
    truncate: { k1: number; k2: number };
    /** Shapes that follow from the flags (embedding, per-step or last-step target); dense dtypes are checked apart. */
    shapes: { inputs: Record<string, DeepPartial<Spec['inputs'][string]>>; target: DeepPartial<Spec['target']>; params?: Record<string, number[]>; state: Record<string, number[]> };
  }
  const cases: Case[] = [
    {
      what: 'sgd with every other flag left to its default; one size bound, the others from the cell',
      cell: 'elman',
      out: 'defaults.ts',
      args: ['--size', 'H=3', '--optimizer', 'sgd'],
      spec: {
        cell: 'elman',
        sizes: { X: 16, H: 3, Y: 8 },
        batch: 32,
        seq: 32,
        float: 'f32',
        loss: 'ce',
        lossOn: 'every',
        optimizer: { kind: 'sgd', lr: 0.1, momentum: 0.9 },
        clip: null,
        seed: 1,
        opt: 1,
      },
      truncate: { k1: 32, k2: 32 },
      shapes: { inputs: { x: { shape: [32, 32, 16] } }, target: { dtype: 'i32', shape: [32, 32], classes: 8 }, state: { h: [32, 3] } },
    },
    {
      what: 'long flags: momentum, lr, clip, f64, seed, truncate k1:k2, no optimizing pass',
      cell: 'elman',
      out: 'momentum.ts',
      args: ['--size', 'X=2', '--size', 'H=3', '--size', 'Y=2', '--batch', '2', '--seq', '3', '--truncate', '1:2', '--optimizer', 'momentum', '--lr', '0.05', '--momentum', '0.5', '--clip', '2', '--float', 'f64', '--seed', '7', '--opt', '0'],
      spec: {
        sizes: { X: 2, H: 3, Y: 2 },
        batch: 2,
        seq: 3,
        float: 'f64',
        optimizer: { kind: 'momentum', lr: 0.05, momentum: 0.5 },
        clip: 2,
        seed: 7,
        opt: 0,
      },
      truncate: { k1: 1, k2: 2 },
      shapes: { inputs: { x: { shape: [3, 2, 2] } }, target: { dtype: 'i32', shape: [3, 2], classes: 2 }, state: { h: [2, 3] } },
    },
    {
      what: 'short flags, an embedding, mse on the last step, adam, f32, a .mts file',
      cell: 'gru',
      out: 'adam.mts',
      args: [...SMALL, '-b', '3', '-t', '4', '-k', '2', '--embed', 'x=5', '--loss', 'mse', '--loss-on', 'last', '--optimizer', 'adam', '--lr', '0.01', '--float', 'f32'],
      spec: { cell: 'gru', batch: 3, seq: 4, float: 'f32', loss: 'mse', lossOn: 'last', optimizer: { kind: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999 }, clip: null },
      truncate: { k1: 2, k2: 2 },
      shapes: { inputs: { x: { dtype: 'i32', shape: [4, 3], vocab: 5 } }, target: { shape: [3, 2] }, params: { embedding: [5, 2], weight_ih: [9, 2] }, state: { h: [3, 3] } },
    },
    {
      // (a window longer than the sequence used to be clamped to it; it is refused now: test/cli-bad-input.test.ts)
      what: "adam's default lr, explicit ce on every step, a window as long as the sequence (full BPTT), a .mjs file",
      cell: 'lstm',
      out: 'lstm.mjs',
      args: [...SMALL, '-b', '2', '-t', '4', '-k', '4', '--loss', 'ce', '--loss-on', 'every', '--optimizer', 'adam'],
      spec: { cell: 'lstm', loss: 'ce', lossOn: 'every', optimizer: { kind: 'adam', lr: 0.001 }, float: 'f32' },
      truncate: { k1: 4, k2: 4 },
      shapes: { inputs: { x: { shape: [4, 2, 2] } }, target: { dtype: 'i32', shape: [4, 2], classes: 2 }, params: { weight_hh: [12, 3] }, state: { h: [2, 3], c: [2, 3] } },
    },
  ];

  for (const { what, cell, out, args, spec: expected, truncate, shapes } of cases) it(what, async () => {
    const file = path.join(esm, out);
    const r = rnnc(['compile', `examples/cells/${cell}.ts`, out.endsWith('.mts') ? '--out' : '-o', file, ...args]);
    expect(r.stdout).toBe('');
    // JavaScript comes with its declarations: trainer.d.ts beside trainer.js, trainer.d.mts beside .mjs
    const dts = out.endsWith('.mjs') ? out.replace(/\.mjs$/, '.d.mts') : null;
    const wrote = `${out}${dts ? ` and .*${dts}` : ''}`.replace(/\.(?!\*)/g, '\\.');
    expect(r.stderr).toMatch(new RegExp(`^rnnc: wrote .*${wrote} \\(${cell}: batch \\d+, seq \\d+, \\d+ bytes\\)\\n$`));
    expect(r.status).toBe(0);
    if (dts) expect(fs.readFileSync(path.join(esm, dts), 'utf8')).toMatch(/^\/\/ Generated by rnnc [^]*export declare function createTrainer\(/);

    const mod = (await import(pathToFileURL(file).href)) as TrainerModule;
    const { spec } = mod;
    expect(spec).toMatchObject(expected);
    expect(spec.truncate ?? { k1: spec.seq, k2: spec.seq }).toEqual(truncate);
    expect(Object.keys(spec.inputs)).toEqual(Object.keys(shapes.inputs));
    expect(spec.inputs).toMatchObject(shapes.inputs);
    expect(spec.target).toMatchObject(shapes.target);
    // dense arrays: f32, or the module's float type (zeroBatch builds what dtype says, so lossAndGrad checks it)
    for (const x of [...Object.values(spec.inputs), spec.target]) if (x.dtype !== 'i32') expect(['f32', spec.float]).toContain(x.dtype);
    expect(spec.params).toMatchObject(shapes.params ?? {});
    expect(spec.state).toEqual(shapes.state);

    const trainer = mod.createTrainer();
    const Float = spec.float === 'f64' ? Float64Array : Float32Array;
    for (const p of Object.values(trainer.params)) expect(p).toBeInstanceOf(Float);
    expect(trainer.hyper).toMatchObject({ lr: spec.optimizer.lr, momentum: spec.optimizer.momentum, clip: spec.clip });
    // the default seed of the init is --seed
    expect(trainer.params).toEqual(mod.createTrainer({ seed: spec.seed }).params);
    expect(trainer.params).not.toEqual(mod.createTrainer({ seed: spec.seed + 1 }).params);

    const loss = trainer.lossAndGrad(zeroBatch(spec));
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeGreaterThan(0);
    for (const g of Object.values(trainer.grads)) expect(g.every(Number.isFinite)).toBe(true);
  }, TIMEOUT);
});

describe('rnnc compile: bad flags and bad output paths', () => {
  let dir: string; // a fresh folder per case, holding only an empty folder named like a module
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(esm, 'bad-'));
    fs.mkdirSync(path.join(dir, 'adir.ts'));
    fs.mkdirSync(path.join(dir, 'dts.d.ts'));
  });
  const OUT = ['-o', 'OUT/t.ts'];
  const cases: [string, string[], RegExp][] = [
    ['an unknown optimizer', [...OUT, '--optimizer', 'lion'], /--optimizer: 'lion' must be sgd, momentum, adam, adamw or rmsprop/],
    ['an unknown float type', [...OUT, '--float', 'f16'], /--float: 'f16' must be f32 or f64/],
    ['a size without =', [...OUT, '--size', 'H3'], /--size: 'H3' must look like NAME=N/],
    ['a size that is not a number', [...OUT, '--size', 'H=abc'], /--size: 'H=abc' is not a number/],
    ['a size of zero', [...OUT, '--size', 'H=0'], /elman\.ts:\d+:\d+: size 'H' must be a positive integer, got 0/],
    ['a size the cell does not declare', [...OUT, '--size', 'Z=4'], /unknown size 'Z': cell 'elman' declares X, H, Y/],
    ['a truncation of zero', [...OUT, '--truncate', '0'], /truncate: '0' must be k or k1:k2 with positive integers/],
    ['a truncation that is not numbers', [...OUT, '--truncate', 'a:b'], /truncate: 'a:b' must be k or k1:k2 with positive integers/],
    ['a truncation with k2 < k1', [...OUT, '--truncate', '3:2'], /truncate: k2 \(2\) must be at least k1 \(3\)/],
    ['a learning rate of zero', [...OUT, '--lr', '0'], /--lr: '0' must be a positive number/],
    ['a momentum of 1', [...OUT, '--optimizer', 'momentum', '--momentum', '1'], /--momentum: '1' must be in \[0, 1\)/],
    ['a seed of zero', [...OUT, '--seed', '0'], /--seed: '0' must be a positive integer/],
    ['an unknown loss', [...OUT, '--loss', 'l1'], /--loss: 'l1' must be 'ce' or 'mse'/],
    ['an unknown optimization level', [...OUT, '-O', '3'], /--opt: '3' must be 0 or 1/],
    ['an output that is not a module', ['-o', 'OUT/t.cjs'], /t\.cjs: unknown output extension '\.cjs'; expected \.ts, \.mts, \.js, \.mjs/],
    ['a JavaScript output whose .d.ts is a folder', ['-o', 'OUT/dts.js'], /dts\.d\.ts: is a folder/],
    ['an output folder that does not exist', ['-o', 'OUT/missing/t.ts'], /missing\/t\.ts: folder '\S*missing' does not exist/],
    ['an output path that is a folder', ['-o', 'OUT/adir.ts'], /adir\.ts: is a folder/],
    ['a negative number taken for a flag', [...OUT, '--lr', '-1'], /Option '--lr' argument is ambiguous\. .* use '--lr=-XYZ'/],
    ['no output path', [], /missing -o <trainer\.ts>/],
  ];
  /** SMALL's bindings but those a case makes itself: the same size bound twice is refused (test/cli-bad-input.test.ts). */
  const smallBut = (args: readonly string[]) => {
    const bound = new Set(args.flatMap((a) => /^([A-Za-z_]\w*)=/.exec(a)?.[1] ?? []));
    return SMALL.flatMap((a, i) => (i % 2 === 1 && !bound.has(a.split('=')[0]!) ? ['-s', a] : []));
  };
  it.each(cases)('rejects %s: exit 1, one line, no file left', (_, args, message) => {
    const r = rnnc(['compile', 'examples/cells/elman.ts', ...smallBut(args), ...args.map((a) => a.replace('OUT', dir))]);
    expectOneLineError(r, 'compile', message);
    // no module and no temp file of the atomic write
    expect(fs.readdirSync(dir).sort()).toEqual(['adir.ts', 'dts.d.ts']);
    expect(fs.readdirSync(path.join(dir, 'adir.ts'))).toEqual([]);
  }, TIMEOUT);
});

describe('rnnc compile: outside an ES-module package', () => {
  // Node and tsx load .ts and .js there as CommonJS (test/consumers.test.ts shows what then fails):
  // the module is written, and one warning line says what to write instead
  it.each([
    ['t.ts', '{ "name": "cjs" }', /^rnnc compile: warning: \S*t\.ts: \S*package\.json has no "type": "module", so Node and tsx load \.ts files there as CommonJS; write \S*t\.mts instead, or add "type": "module" to it\n/],
    ['t.js', '{ "type": "commonjs" }', /^rnnc compile: warning: \S*t\.js: \S*package\.json has no "type": "module", so Node loads \.js files there as CommonJS first; write \S*t\.mjs instead, or add "type": "module" to it\n/],
    ['t.mts', '{ "name": "cjs" }', /^rnnc: wrote/],
    ['t.mjs', '{ "type": "commonjs" }', /^rnnc: wrote/],
  ])('%s in a package %s', (out, pkg, first) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnc-cjs-'));
    try {
      fs.writeFileSync(path.join(dir, 'package.json'), pkg);
      const r = rnnc(['compile', 'examples/cells/elman.ts', '-o', path.join(dir, out), ...SMALL, '-b', '2', '-t', '3']);
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(first);
      expect(r.stderr).toMatch(/\nrnnc: wrote [^\n]+\n$|^rnnc: wrote [^\n]+\n$/);
      expect(fs.existsSync(path.join(dir, out))).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, TIMEOUT);
});

describe('rnnc check', () => {
  /** The three comparisons the report prints: values compared, largest absolute and relative errors. */
  const sectionsOf = (stdout: string) => {
    const fd = /\n {2}autodiff vs finite differences: +(\d+) coordinates, max abs error (\S+), max rel error (\S+); numeric error estimate up to (\S+)\n/.exec(stdout);
    const gen = /\n {2}generated trainer vs reference: +(\d+) values, max abs error (\S+), max rel error (\S+)\n/.exec(stdout);
    const flat = /\n {2}scans vs their full unrolling: +(\d+) values, max abs error (\S+), max rel error (\S+)\n/.exec(stdout);
    for (const m of [fd, gen, flat]) expect(m, stdout).not.toBeNull();
    return [fd!, gen!, flat!].map((m) => ({ count: Number(m[1]), abs: Number(m[2]), rel: Number(m[3]) }));
  };

  it.each([
    ['elman', [...SMALL], '4:4'],
    ['elman', [...SMALL, '--truncate', '2'], '2:2'],
    ['lstm', [...SMALL], '4:4'],
    // the issue's case: the IRNN at its own sizes, whose random-weight logits reach tens
    ['irnn', [] as string[], '4:4'],
  ])('%s %j passes, prints both errors of each comparison and what decided', (cell, args, truncate) => {
    const r = rnnc(['check', `examples/cells/${cell}.ts`, ...args]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${cell}: batch 2, seq 4, truncate ${truncate}, seed 1\\n`));
    for (const s of sectionsOf(r.stdout)) {
      expect(s.count).toBeGreaterThan(0);
      expect(s.abs).toBeGreaterThanOrEqual(0);
      expect(s.abs).toBeLessThanOrEqual(1e-9); // within atol everywhere, at these magnitudes
      expect(s.rel).toBeGreaterThanOrEqual(0);
    }
    // relu is the only op with a kink: the IRNN says how many coordinates were at one
    if (cell === 'irnn') expect(r.stdout).toMatch(/\n {4}(none|\d+ more) at a kink/);
    else expect(r.stdout).not.toMatch(/kink/);
    expect(r.stdout).toMatch(/\nok \(atol 1e-9, rtol 1e-6\): decided by \w+\[\d+\] in autodiff vs finite differences: (abs|rel) error \S+ within [ar]tol 1e-[69], (abs|rel) error \S+ (within|above) [ar]tol 1e-[69]\n$/);
  }, TIMEOUT);

  it('fails with exit 1 under tolerances no float64 result can meet, naming the value and both tolerances', () => {
    const r = rnnc(['check', 'examples/cells/elman.ts', ...SMALL, '--atol', '1e-30', '--rtol', '1e-30']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('');
    expect(Math.max(...sectionsOf(r.stdout).map((s) => s.abs))).toBeGreaterThan(1e-30);
    expect(r.stdout).toMatch(/\nFAILED \(atol 1e-30, rtol 1e-30\): \d+ values above both tolerances; decided by \w+\[\d+\] in [a-z ]+: (abs|rel) error \S+ above [ar]tol 1e-30, (abs|rel) error \S+ above [ar]tol 1e-30\n$/);
  }, TIMEOUT);

  it.each([
    ['--atol', '0', /--atol: '0' must be a positive number/],
    ['--rtol', 'abc', /--rtol: 'abc' must be a positive number/],
    ['--tol', '1e-6', /--tol: replaced by --atol and --rtol/],
    ['--seed', 'abc', /--seed: 'abc' must be a positive integer/],
  ])('rejects %s %s', (flag, value, message) => {
    expectOneLineError(rnnc(['check', 'examples/cells/elman.ts', ...SMALL, flag, value]), 'check', message);
  }, TIMEOUT);
});

describe('rnnc ir', () => {
  /** The forward section and the section after the pipeline of `rnnc ir` output, split at the second heading. */
  const sections = (stdout: string, title: string, stage: string, differentiated = true) => {
    const heading = differentiated ? `\n// forward and backward after ${stage}: ${title}.grad\n` : `\n// forward after ${stage}: ${title}\n`;
    expect(stdout.startsWith(`// forward: ${title}\n${title}(`)).toBe(true);
    expect(stdout).toContain(heading);
    const [forward, backward] = stdout.split(heading) as [string, string];
    return { forward, backward };
  };
  /** The outputs of a printed graph: its last top-level `return { ... }` line (Scan bodies are indented deeper). */
  const outputsOf = (graph: string) => [...graph.matchAll(/^ {2}return \{ (.*) \}$/gm)].at(-1)?.[1] ?? '';

  it('prints the step graph and, after the whole pipeline, its gradient', () => {
    const r = rnnc(['ir', 'examples/cells/elman.ts', ...SMALL]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const { forward, backward } = sections(r.stdout, 'elman.step', passNames.at(-1)!);
    expect(outputsOf(forward)).toMatch(/^h: %\d+, loss: %\d+$/);
    expect(backward.startsWith('elman.step.grad(%weight_ih: f32[3, 2] param,')).toBe(true);
    for (const p of ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh', 'out_weight', 'out_bias']) expect(outputsOf(backward)).toContain(`grad_${p}: %`);
  }, TIMEOUT);

  it.each(passNames)('--after %s: the sequence graph up to that pass', (pass) => {
    const r = rnnc(['ir', 'examples/cells/elman.ts', ...SMALL, '--seq', '3', '--truncate', '2', '--after', pass]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // parameter gradients exist from 'differentiate' on, and the heading says so
    const differentiated = passNames.indexOf(pass) >= passNames.indexOf('differentiate');
    const { backward } = sections(r.stdout, 'elman.sequence', pass, differentiated);
    expect(outputsOf(backward).includes('grad_weight_hh')).toBe(differentiated);
  }, TIMEOUT);

  it('--unroll F: each Scan of length L becomes one of length floor(L / F); F >= L leaves no loop', () => {
    const scans = (args: string[]) => {
      const r = rnnc(['ir', 'examples/cells/elman.ts', ...SMALL, '--seq', '7', ...args]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(args.length ? `, unrolled by ${args[1]}` : '// forward: ');
      return [...r.stdout.matchAll(/= scan\(.* length=(\d+)/g)].map((m) => Number(m[1]));
    };
    expect(scans([])).toEqual([7, 7, 7]); // forward; then the forward and the reverse Scan of the gradient
    expect(scans(['--unroll', '2'])).toEqual([3, 3, 3]);
    expect(scans(['--unroll', '7'])).toEqual([]);
  }, TIMEOUT);

  it.each([
    ['--truncate', '2'],
    ['--unroll', '2'],
  ])('refuses %s without --seq', (flag, value) => {
    expectOneLineError(rnnc(['ir', 'examples/cells/elman.ts', ...SMALL, flag, value]), 'ir', new RegExp(`${flag}: needs --seq T`));
  }, TIMEOUT);

  it('refuses an unknown pass before printing anything', () => {
    const r = rnnc(['ir', 'examples/cells/elman.ts', ...SMALL, '--after', 'nope']);
    expectOneLineError(r, 'ir', new RegExp(`--after: unknown pass 'nope'; the passes are ${passNames.join(', ')}`));
  }, TIMEOUT);

  // Outside an ESM package Node takes a .ts file for CommonJS, which cannot require() the DSL
  // (bin/esm-hooks.mjs makes cell files ES modules wherever they are).
  const dsl = path.join(ROOT, 'src/dsl/index.ts');
  it.each([
    ['a file:// URL', pathToFileURL(dsl).href],
    ['an absolute path', dsl],
  ])('loads a cell from a folder outside any package, importing the DSL by %s', (_, specifier) => {
    const outside = fs.mkdtempSync(path.join(root, 'outside-'));
    const source = fs.readFileSync(path.join(ROOT, 'examples/cells/elman.ts'), 'utf8');
    const rewritten = source.replace(`'../../src/dsl/index.ts'`, JSON.stringify(specifier));
    expect(rewritten).not.toBe(source);
    fs.writeFileSync(path.join(outside, 'cell.ts'), rewritten);
    for (let d = outside; d !== path.dirname(d); d = path.dirname(d)) expect(fs.existsSync(path.join(d, 'package.json'))).toBe(false);

    const r = rnnc(['ir', 'cell.ts', ...SMALL, '--forward'], outside);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.startsWith('// forward: elman.step\nelman.step(')).toBe(true);
  }, TIMEOUT);
});

describe('rnnc --help and unknown commands', () => {
  it('rnnc --help lists every command', () => {
    const r = rnnc(['--help']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^usage: rnnc <command> <cell\.ts> \[options\]$/m);
    for (const name of ['compile', 'check', 'ir', 'dot']) expect(r.stdout).toMatch(new RegExp(`^ {2}${name} +\\S`, 'm'));
  }, TIMEOUT);

  it.each([
    ['compile', '--help'],
    ['check', '--help'],
    ['ir', '--help'],
    ['dot', '-h'],
  ])('rnnc %s %s prints its usage', (command, flag) => {
    const r = rnnc([command, flag]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(new RegExp(`^usage: rnnc ${command} <cell\\.ts> `));
  }, TIMEOUT);

  it('refuses an unknown command', () => {
    const r = rnnc(['frobnicate', 'examples/cells/elman.ts']);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^rnnc: unknown command 'frobnicate'\n/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, TIMEOUT);
});
