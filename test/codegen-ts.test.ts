/**
 * The TypeScript target: for every example cell (and the variants that change the generated code:
 * an embedded token input, a last-step loss, an MSE loss, truncation k and k1:k2), the generated
 * module is standalone (no imports), type-checks under strict settings, and computes what the
 * reference interpreter computes: loss, every parameter gradient, the final state, and the logits
 * of `predict` — in float32 and in float64, and with the wasm target (codegen/wasm: the products
 * as WebAssembly SIMD, float32), at the float32 tolerance.
 */
import { Node, Project, SyntaxKind, ts, type FunctionDeclaration } from 'ts-morph';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import elman from '../examples/cells/elman.ts';
import gru from '../examples/cells/gru.ts';
import irnn from '../examples/cells/irnn.ts';
import lstm from '../examples/cells/lstm.ts';
import mgu from '../examples/cells/mgu.ts';
import gain from './cells/good/gain.ts';
import tagger from './cells/good/tagger.ts';
import { compileTrainer, defaultOptimizer, type CompileOptions } from '../src/compile.ts';
import { cell, type CellDef } from '../src/dsl/cell.ts';
import { traceCell, type TracedCell } from '../src/dsl/trace.ts';
import { parseTruncation, type Truncation } from '../src/layout.ts';
import {
  batchOf, compileAndLoad, loadEnv, randomEnv, reference, referencePredict, scaledErr, type Compiled,
} from './trainer-helpers.ts';

const SIZES = { X: 2, H: 3, Y: 4 };
const B = 2, T = 5;

/*
 * Tolerances.
 * float32: the reference runs in float64 on the same float32-rounded params, state and inputs, so
 * the only differences are the roundings of the generated code: every intermediate value is
 * computed in double but stored in a float32 buffer (relative error 2^-24 ≈ 6e-8 per store), and
 * these compound over T = 5 steps forward and back and over the sums of the weight gradients, to a
 * relative error of order 1e-6 of a tensor's scale. We measure max|a - b| / (1e-3 + max|b|) per
 * tensor and allow 1e-4: ~100x the expected rounding, yet a wrong gate, index or missing term
 * changes a gradient by O(1) of its scale.
 * float64: same arithmetic up to summation order: ~1e-15; we allow 1e-12 (floor 1e-9).
 * wasm: as float32, except that a product's dot products also accumulate in float32 (four partial
 * sums per lane, added at the end) where the TS target accumulates in double: a further relative
 * error of at most K·2^-24 per product (K ≤ 10 here, so ~1e-6), well inside the same 1e-4.
 */
const TOL32 = 1e-4;
const TOL64 = 1e-12;
const FLOOR64 = 1e-9;

const elmanMse = cell('elman_mse', elman.sizes, elman.step, { loss: 'mse' });

interface Config {
  readonly name: string;
  readonly def: CellDef;
  readonly embed?: Record<string, number>;
  readonly lossOn?: 'every' | 'last';
  readonly truncate?: string;
  readonly sizes?: Record<string, number>;
  /** Optimization level (default 1): at 0 the code follows the traced graph, no pass but autodiff. */
  readonly opt?: 0 | 1;
}

const CONFIGS: readonly Config[] = [
  { name: 'elman', def: elman },
  { name: 'irnn', def: irnn },
  { name: 'lstm', def: lstm },
  { name: 'gru', def: gru },
  { name: 'mgu', def: mgu },
  { name: 'lstm, embed x: 5', def: lstm, embed: { x: 5 } },
  { name: 'gru, loss on the last step', def: gru, lossOn: 'last' },
  { name: 'elman, MSE loss', def: elmanMse },
  { name: 'elman, truncate 2', def: elman, truncate: '2' },
  { name: 'lstm, truncate 2:3', def: lstm, truncate: '2:3' },
  { name: 'elman, loss on the last step, truncate 2', def: elman, lossOn: 'last', truncate: '2' },
  // token ids looked up by the cell itself, beside a dense input
  { name: 'tagger: tokens, lookup and a dense input', def: tagger, sizes: { V: 5, E: 2, F: 2, H: 3, Y: 4 }, truncate: '3' },
  // a scalar parameter and a per-example scalar, broadcast against vectors
  { name: 'gain: scalars against vectors', def: gain, sizes: { X: 2, H: 3, Y: 4 } },
  // sizes that are multiples of four: the wasm target's vector loops, not only their one-lane tails
  { name: 'lstm, X 4, H 8', def: lstm, sizes: { X: 4, H: 8, Y: 4 } },
  // five classes: the wasm one-hot and softmax past their vectors
  { name: 'elman, Y 5', def: elman, sizes: { X: 2, H: 3, Y: 5 } },
  // without the optimizing passes: the loops as traced (input projection, readout, weight-gradient
  // sums and products in every orientation inside the loops)
  { name: 'lstm -O0', def: lstm, opt: 0 },
  { name: 'mgu, truncate 2, -O0', def: mgu, truncate: '2', opt: 0 },
  { name: 'gru, embed x: 5, loss on the last step, -O0', def: gru, embed: { x: 5 }, lossOn: 'last', opt: 0 },
];

// one type-checking project for every generated module (the lib files are parsed once)
const project = new Project({
  useInMemoryFileSystem: true,
  compilerOptions: {
    strict: true,
    noImplicitAny: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    lib: ['lib.es2022.d.ts'],
    types: [],
  },
});

const worst: Record<string, string> = {};
const note = (key: string, errs: Record<string, number>) => {
  const [k, e] = Object.entries(errs).reduce((a, b) => (b[1] > a[1] ? b : a));
  worst[key] = `${e.toExponential(2)} (${k})`;
};

// the float64 modules differ from the float32 ones only in their array types (dense inputs and
// regression targets may then be either): type-check them where those types occur
const TYPECHECK_F64 = new Set(['elman', 'lstm, embed x: 5', 'elman, MSE loss', 'tagger: tokens, lookup and a dense input']);

interface Built { c: TracedCell; trunc: Truncation; f32: Compiled; f64: Compiled; wasm: Compiled }
const built = new Map<string, Built>();

beforeAll(async () => {
  for (const cfg of CONFIGS) {
    const c = traceCell(cfg.def, { sizes: cfg.sizes ?? SIZES, batch: B, ...(cfg.lossOn ? { lossOn: cfg.lossOn } : {}), ...(cfg.embed ? { embed: cfg.embed } : {}) });
    const trunc = parseTruncation(cfg.truncate, T);
    const f32 = await compileAndLoad(c, { seq: T, truncation: trunc, float: 'f32', opt: cfg.opt });
    const f64 = await compileAndLoad(c, { seq: T, truncation: trunc, float: 'f64', opt: cfg.opt });
    const wasm = await compileAndLoad(c, { seq: T, truncation: trunc, float: 'f32', opt: cfg.opt, target: 'wasm' });
    built.set(cfg.name, { c, trunc, f32, f64, wasm });
    // all modules in one program: the checker and the lib files are set up once
    project.createSourceFile(fileName(cfg.name, 'f32'), f32.source);
    if (TYPECHECK_F64.has(cfg.name)) project.createSourceFile(fileName(cfg.name, 'f64'), f64.source);
    project.createSourceFile(fileName(cfg.name, 'wasm'), wasm.source);
  }
}, 120_000);

const fileName = (name: string, float: string) => `${name.replace(/\W+/g, '_')}_${float}.ts`;

describe('TypeScript target: generated trainers', () => {
  for (const cfg of CONFIGS) {
    describe(cfg.name, () => {
      let c: TracedCell, trunc: Truncation, f32: Compiled, f64: Compiled, wasm: Compiled;
      beforeAll(() => void ({ c, trunc, f32, f64, wasm } = built.get(cfg.name)!));

      it(`is standalone and type-checks in strict mode (float32${TYPECHECK_F64.has(cfg.name) ? ', float64' : ''} and wasm)`, () => {
        for (const [float, m] of [['f32', f32], ['f64', f64], ['wasm', wasm]] as const) {
          expect(m.source).not.toMatch(/\bimport\s*\(|\brequire\s*\(|^\s*import\s|^\s*export\s[^;]*\bfrom\s/m);
          const sf = project.getSourceFile(fileName(cfg.name, float));
          if (!sf) continue;
          expect(sf.getImportDeclarations().map((d) => d.getText()), 'import declarations').toEqual([]);
          const diags = sf.getPreEmitDiagnostics();
          const text = project.formatDiagnosticsWithColorAndContext(diags);
          expect(diags.length, `type errors in the ${float} module of ${cfg.name}:\n${text}`).toBe(0);
          expect(sf.getFunction('createTrainer')?.isExported(), 'exports createTrainer').toBe(true);
          expect(sf.getVariableDeclaration('spec')?.isExported(), 'exports spec').toBe(true);
        }
      }, 30_000);

      for (const variant of ['f32', 'f64', 'wasm'] as const) {
        const float = variant === 'f64' ? 'f64' : 'f32';
        const mod = () => ({ f32, f64, wasm })[variant].mod;
        it(`${variant}: lossAndGrad matches the interpreter (loss, every gradient, final state)`, () => {
          const env = randomEnv(c, T, 101, { f32: float === 'f32' });
          const ref = reference(c, T, trunc, env);
          const t = mod().createTrainer();
          loadEnv(t, c, env);
          const batch = batchOf(c, env, float);
          const loss = t.lossAndGrad(batch);
          const floor = float === 'f32' ? 1e-3 : FLOOR64;
          const errs: Record<string, number> = { loss: scaledErr([loss], ref.loss!.data, floor) };
          for (const p of c.params) {
            // the gradient must not be trivially zero, or the comparison would prove little
            expect(Math.max(...Array.from(ref[`grad_${p.name}`]!.data, Math.abs)), `reference grad ${p.name}`).toBeGreaterThan(1e-6);
            errs[`grad ${p.name}`] = scaledErr(t.grads[p.name]!, ref[`grad_${p.name}`]!.data, floor);
          }
          for (const s of c.states) errs[`state ${s.name}`] = scaledErr(t.state[s.name]!, ref[s.name]!.data, floor);
          note(`${cfg.name} ${variant} lossAndGrad`, errs);
          for (const [k, e] of Object.entries(errs)) expect(e, k).toBeLessThan(float === 'f32' ? TOL32 : TOL64);
        });

        it(`${variant}: predict matches the inference graph (logits at every step, final state)`, () => {
          const env = randomEnv(c, T, 202, { f32: float === 'f32' });
          const ref = referencePredict(c, T, env);
          const t = mod().createTrainer();
          loadEnv(t, c, env);
          // predict starts from the state it is given and leaves the training state alone
          const start = Object.fromEntries(c.states.map((s) => [s.name, t.state[s.name]!.slice()]));
          t.resetState();
          const final: Record<string, Float32Array | Float64Array> = {};
          const logits = t.predict(batchOf(c, env, float).inputs, undefined, { state: start, final });
          for (const s of c.states) expect(t.state[s.name]!.every((v) => v === 0), `state ${s.name} untouched`).toBe(true);
          expect(logits).toBeInstanceOf(float === 'f32' ? Float32Array : Float64Array);
          expect(logits.length).toBe(T * B * (cfg.sizes ?? SIZES).Y!);
          const floor = float === 'f32' ? 1e-3 : FLOOR64;
          const errs: Record<string, number> = { logits: scaledErr(logits, ref.logits!.data, floor) };
          for (const s of c.states) errs[`state ${s.name}`] = scaledErr(final[s.name]!, ref[s.name]!.data, floor);
          note(`${cfg.name} ${variant} predict`, errs);
          for (const [k, e] of Object.entries(errs)) expect(e, k).toBeLessThan(float === 'f32' ? TOL32 : TOL64);
        });
      }
    });
  }

  afterAll(() => {
    // eslint-disable-next-line no-console
    console.log('codegen-ts: largest scaled errors vs the interpreter:\n' + Object.entries(worst).map(([k, v]) => `  ${k}: ${v}`).join('\n'));
  });
});

/*
 * Nothing is allocated per training step (docs/trainer-api.md, "Allocation"). The check reads the
 * generated module's AST: from the entry points that run per step (step, lossAndGrad, forward) it
 * follows every call to a function of the module (the window functions, update, clip, bind, the
 * batch checks...) and looks in each body for what allocates in JavaScript: `new`, array and object
 * literals, closures (arrow functions, function expressions, nested functions), spread, template
 * strings, and the array methods that return a new array or view (slice, subarray, map, concat...).
 * Error paths are exempt — a `throw` and a call to a function that never returns (`rollback`) —
 * since they run once, to report a problem.
 */
const ALLOCATING_METHODS = new Set(['slice', 'subarray', 'map', 'concat', 'filter', 'flatMap', 'from', 'of', 'split', 'join', 'bind', 'toString']);
const ALLOCATING_KINDS = new Map<SyntaxKind, string>([
  [SyntaxKind.NewExpression, 'new'],
  [SyntaxKind.ArrayLiteralExpression, 'array literal'],
  [SyntaxKind.ObjectLiteralExpression, 'object literal'],
  [SyntaxKind.ArrowFunction, 'arrow function'],
  [SyntaxKind.FunctionExpression, 'function expression'],
  [SyntaxKind.FunctionDeclaration, 'nested function'],
  [SyntaxKind.SpreadElement, 'spread'],
  [SyntaxKind.SpreadAssignment, 'spread'],
  [SyntaxKind.TemplateExpression, 'template string'],
  [SyntaxKind.TaggedTemplateExpression, 'tagged template'],
]);

interface Allocation { readonly fn: string; readonly what: string; readonly node: Node }

/** Functions of the module by name (module level and inside createTrainer). */
function functionsOf(sf: ReturnType<Project['createSourceFile']>): Map<string, FunctionDeclaration> {
  const fns = new Map<string, FunctionDeclaration>();
  for (const f of sf.getDescendantsOfKind(SyntaxKind.FunctionDeclaration)) {
    const name = f.getName();
    if (!name) continue;
    if (fns.has(name)) throw new Error(`two functions named ${name}: the call graph would be ambiguous`);
    fns.set(name, f);
  }
  return fns;
}

/**
 * Walk `roots` and every module function they call (outside error paths): the allocations found,
 * the functions reached, and calls to plain identifiers that are not module functions (which the
 * check could not follow, so they count as failures too).
 */
function perStepAllocations(source: string, roots: readonly string[]): { allocations: Allocation[]; reached: Set<string>; unknownCalls: string[] } {
  const sf = new Project({ useInMemoryFileSystem: true }).createSourceFile('m.ts', source);
  const fns = functionsOf(sf);
  const never = new Set([...fns].filter(([, f]) => f.getReturnTypeNode()?.getText() === 'never').map(([n]) => n));
  const allocations: Allocation[] = [], unknownCalls: string[] = [];
  const reached = new Set<string>();
  const queue = [...roots];
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (reached.has(name)) continue;
    const fn = fns.get(name);
    if (!fn) throw new Error(`no function ${name} in the module`);
    reached.add(name);
    const visit = (n: Node): void => {
      if (Node.isThrowStatement(n)) return; // error path
      if (Node.isCallExpression(n)) {
        const callee = n.getExpression();
        if (Node.isIdentifier(callee)) {
          const target = callee.getText();
          if (never.has(target)) return; // error path: reports and throws
          if (fns.has(target)) queue.push(target);
          else unknownCalls.push(`${name}: ${n.getText()}`);
        } else if (Node.isPropertyAccessExpression(callee) && ALLOCATING_METHODS.has(callee.getName())) {
          allocations.push({ fn: name, what: `.${callee.getName()}()`, node: n });
        }
      }
      const kind = ALLOCATING_KINDS.get(n.getKind());
      if (kind) allocations.push({ fn: name, what: kind, node: n });
      n.forEachChild(visit);
    };
    fn.getBody()!.forEachChild(visit);
  }
  return { allocations, reached, unknownCalls };
}

const describeAllocations = (as: readonly Allocation[]) => as.map((a) => `${a.fn}: ${a.what}: ${a.node.getText().slice(0, 80)}`).join('\n');

describe('TypeScript target: nothing is allocated per training step', () => {
  it('the check finds each kind of allocation (so that finding none means something)', () => {
    const src = [
      'function step(): number { const a = new Float32Array(3); const b = [1, 2]; const o = { a }; const f = () => 1; helper(...b); const s = a.slice(1); const v = a.subarray(1); const m = b.map((x) => x); const t = `${s}`; function inner(): void {} return 0; }',
      'function helper(...xs: number[]): void { const c = xs.concat(xs); unknown(c); }',
      "function quiet(): void { if (Math.random() > 2) throw new Error(`${[1]}`); if (Math.random() > 2) fail(`${{}}`); }",
      'function fail(why: string): never { throw new Error(why); }',
      'function lossAndGrad(): number { quiet(); return 0; }',
    ].join('\n');
    const { allocations, reached, unknownCalls } = perStepAllocations(src, ['step', 'lossAndGrad']);
    const found = allocations.map((a) => `${a.fn} ${a.what}`);
    for (const want of [
      'step new', 'step array literal', 'step object literal', 'step arrow function', 'step spread', 'step .slice()', 'step .subarray()',
      'step .map()', 'step template string', 'step nested function', 'helper .concat()',
    ]) expect(found, want).toContain(want);
    // the error paths of `quiet` are exempt; `fail` (never returns) is not followed
    expect(found.filter((f) => f.startsWith('quiet'))).toEqual([]);
    expect([...reached].sort()).toEqual(['helper', 'lossAndGrad', 'quiet', 'step']);
    expect(unknownCalls).toEqual(['helper: unknown(c)']);
  });

  const CASES: { name: string; def: CellDef; embed?: Record<string, number>; lossOn?: 'every' | 'last'; opts: CompileOptions }[] = [
    { name: 'lstm, truncate 2:3, Adam, clip', def: lstm, opts: { seq: T, truncation: { k1: 2, k2: 3 }, optimizer: defaultOptimizer('adam'), clip: 1 } },
    { name: 'gru, momentum, float64', def: gru, opts: { seq: T, optimizer: defaultOptimizer('momentum'), float: 'f64' } },
    { name: 'gru, loss on the last step, truncate 2', def: gru, lossOn: 'last', opts: { seq: T, truncation: { k1: 2, k2: 2 } } },
    { name: 'lstm, embed x: 5 (--embed x=5), SGD', def: lstm, embed: { x: 5 }, opts: { seq: T } },
    // the wasm target: its host is this one, its products calls into WebAssembly
    { name: 'wasm target: lstm, truncate 2:3, Adam, clip', def: lstm, opts: { seq: T, truncation: { k1: 2, k2: 3 }, optimizer: defaultOptimizer('adam'), clip: 1, target: 'wasm' } },
    { name: 'wasm target: elman, embed x: 5, momentum', def: elman, embed: { x: 5 }, opts: { seq: T, optimizer: defaultOptimizer('momentum'), target: 'wasm' } },
  ];
  /**
   * Calls of the wasm target's kernels (the members of `interface WasmKernels`): WebAssembly
   * functions of three numbers, which allocate nothing on the JavaScript heap. The rest are unknown.
   */
  const splitCalls = (source: string, calls: readonly string[]) => {
    const kernels = new Set([...(source.match(/^interface WasmKernels (.*)$/m)?.[1] ?? '').matchAll(/\b((?:mm|ew|tr|sum|lsm|ce)_?\w+)\(/g)].map((m) => m[1]!));
    const isKernel = (call: string) => kernels.has(call.replace(/^\w+: /, '').split('(')[0]!);
    return { kernelCalls: calls.filter(isKernel), unknown: calls.filter((x) => !isKernel(x)) };
  };
  for (const k of CASES) {
    it(`${k.name}: step, lossAndGrad and forward, and everything they call, allocate nothing`, () => {
      const c = traceCell(k.def, { sizes: SIZES, batch: B, ...(k.lossOn ? { lossOn: k.lossOn } : {}), ...(k.embed ? { embed: k.embed } : {}) });
      const source = compileTrainer(c, k.opts);
      const { allocations, reached, unknownCalls } = perStepAllocations(source, ['step', 'lossAndGrad', 'forward']);
      expect(allocations, describeAllocations(allocations)).toEqual([]);
      const { kernelCalls, unknown } = splitCalls(source, unknownCalls);
      expect(unknown).toEqual([]);
      expect(kernelCalls.length > 0, 'calls into the wasm kernels').toBe(k.opts.target === 'wasm');
      // the check covered the per-step code: every window function, the update, clipping, the batch checks
      const windows = [...source.matchAll(/^\s*function (window\d+)\(/gm)].map((m) => m[1]!);
      expect(windows.length).toBeGreaterThan(0);
      for (const f of [...windows, 'update', 'clip', 'bind', 'checkBatch', 'checkInputs', 'allFinite']) expect(reached, f).toContain(f);
      if (k.embed) {
        // the embedding's lookup (gather) and its gradient (scatter-add) are in the checked window
        const w0 = functionsOf(new Project({ useInMemoryFileSystem: true }).createSourceFile('m.ts', source)).get('window0')!.getText();
        expect(w0).toMatch(/const base = in_x\[/);
        expect(w0).toMatch(/\[base \+ j\] \+= /);
      }

      // predict and evaluate allocate only: the logits predict returns, on the branch without `out`;
      // the zero-padded copies of fewer sequences than the batch, once per trainer (`??=`); and the
      // final state, when the caller asks for it
      const p = perStepAllocations(source, ['predict', 'evaluate']);
      expect(splitCalls(source, p.unknownCalls).unknown).toEqual([]);
      expect(p.allocations.map((a) => `${a.fn} ${a.what}`).sort(), describeAllocations(p.allocations)).toEqual(
        ['predict new', ...c.inputs.map(() => 'bindForward new'), 'evaluate new', ...c.states.map(() => 'finalState .slice()')].sort(),
      );
      const result = p.allocations.find((a) => a.fn === 'predict')!;
      expect(result.node.getFirstAncestorByKind(SyntaxKind.IfStatement)?.getExpression().getText()).toBe('result === undefined');
      for (const a of p.allocations.filter((x) => x.what === 'new' && x.fn !== 'predict')) expect(a.node.getParent()?.getText()).toMatch(/^pad_\w+ \?\?= new /);
    });
  }
});
