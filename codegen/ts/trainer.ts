/**
 * The TypeScript target: one self-contained ES module per compiled model, with the trainer API of
 * DESIGN.md. The module is assembled with ts-morph; loop code comes from lowering the IR of each
 * truncation window (forward and backward) and of the inference graph.
 */
import { CodeBlockWriter, Project, VariableDeclarationKind } from 'ts-morph';
import type { DType, Node } from '../../ir/node.ts';
import type { TracedCell } from '../../src/dsl/trace.ts';
import type { TrainingProgram } from '../../src/program.ts';
import { plus, times } from './index-expr.ts';
import { at, emitCopy, lowerGraph, type Emitter, type View } from './lower.ts';
import { planMemory, type MemoryPlan, type PlannedBuffer } from './memory.ts';
import { writeInit, writeOrthogonal, writeRandom, writeUpdate, type OptimizerSpec } from './runtime.ts';

export interface TrainerConfig {
  readonly float: 'f32' | 'f64';
  readonly optimizer: OptimizerSpec;
  /** Clip gradients to this global L2 norm before each update (null: no clipping). */
  readonly clip: number | null;
  readonly seed: number;
}

interface Slot {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  readonly shape: readonly number[];
}

function arena<T extends { name: string }>(items: readonly T[], shapeOf: (t: T) => readonly number[]): Slot[] {
  let offset = 0;
  return items.map((it) => {
    const shape = shapeOf(it);
    const size = shape.reduce((a, b) => a * b, 1);
    const slot = { name: it.name, offset, size, shape };
    offset += size;
    return slot;
  });
}

/** One-time buffers, named in order of creation: float scratch planned into one arena, constants apart. */
class Buffers {
  readonly scratch: PlannedBuffer[] = [];
  readonly fixed: string[] = [];
  private readonly consts = new Map<string, string>();
  constructor(private readonly floatArray: string) {}
  private arrayOf(dtype: DType) {
    return dtype === 'i32' ? 'Int32Array' : this.floatArray;
  }
  alloc(size: number, dtype: DType, hint: string): string {
    const name = `${hint.replace(/\W/g, '_')}${this.scratch.length + this.fixed.length}`;
    if (dtype === 'i32') this.fixed.push(`const ${name} = new Int32Array(${size});`);
    else this.scratch.push({ name, size });
    return name;
  }
  constant(value: number, size: number, dtype: DType): string {
    const key = `${value}:${size}:${dtype}`;
    let name = this.consts.get(key);
    if (!name) {
      name = `const${this.scratch.length + this.fixed.length}`;
      this.fixed.push(`const ${name} = new ${this.arrayOf(dtype)}(${size}).fill(${value});`);
      this.consts.set(key, name);
    }
    return name;
  }
  /** The declarations: constants, then every scratch buffer as a view of the planned arena. */
  declarations(plan: MemoryPlan): string[] {
    return [
      ...this.fixed,
      `const arena = new ${this.floatArray}(${plan.arenaSize});`,
      ...this.scratch.map((b) => `const ${b.name} = arena.subarray(${plan.offsets.get(b.name)}, ${plan.offsets.get(b.name)! + b.size});`),
    ];
  }
}

const newWriter = () => new CodeBlockWriter({ indentNumberOfSpaces: 2, useSingleQuote: true });

export function generateTrainer(program: TrainingProgram, cfg: TrainerConfig): string {
  const c = program.cell;
  const F = cfg.float === 'f32' ? 'Float32Array' : 'Float64Array';
  const B = c.batch, T = program.seq;
  const params = arena(c.params, (p) => p.shape);
  const states = arena(c.states, (s) => [B, ...s.shape]);
  const nP = params.reduce((a, p) => a + p.size, 0), nS = states.reduce((a, s) => a + s.size, 0);
  const every = c.lossOn === 'every';
  const targetStep = c.target.kind === 'class' ? [B] : [B, ...c.target.shape]; // one step's target
  const targetPerStep = targetStep.reduce((a, b) => a * b, 1);
  const buffers = new Buffers(F);
  const emitter = (w: CodeBlockWriter): Emitter => ({ w, depth: 0, alloc: (s, d, h) => buffers.alloc(s, d, h), constant: (v, s, d) => buffers.constant(v, s, d) });
  /** Parameters and state live in the P and S arenas; inputs are the batch's arrays from `start`. */
  const bind = (xs: readonly Node[], start: string) => {
    const env = new Map<number, View>();
    c.params.forEach((p, i) => env.set(p.node.id, { buf: 'P', off: String(params[i]!.offset) }));
    c.states.forEach((s, i) => env.set(s.node.id, { buf: 'S', off: String(states[i]!.offset) }));
    c.inputs.forEach((inp, i) => env.set(xs[i]!.id, { buf: `in_${inp.name}`, off: times(start, inp.node.size) }));
    return env;
  };

  // one function per distinct window shape: forward, backward, gradient accumulation, state carry
  const windowFns = program.windows.map((win) => {
    const env = bind(win.xs, 'start');
    env.set(win.target.id, { buf: 'in_target', off: every ? times('start', targetPerStep) : '0' });
    const w2 = newWriter();
    w2.writeLine(`/** Steps [start, start + ${win.len}) forward${win.hasLoss ? ' and back; adds scale · ∂(loss sum)/∂params to G, returns the loss sum' : ' only'}; carries the state on. */`);
    w2.write(`function ${win.fn}(start: number, scale: number): number`).block(() => {
      const o = lowerGraph(emitter(w2), win.graph, env);
      if (win.hasLoss) {
        params.forEach((p) => {
          const gv = o[`grad_${p.name}`]!;
          w2.write(`for (let j = 0; j < ${p.size}; j++)`).block(() => w2.writeLine(`G[${plus(String(p.offset), 'j')}] += scale * ${at(gv, 'j')};`));
        });
      }
      // the state for the next window, without gradient
      states.forEach((s) => emitCopy(w2, o[`carry_${s.name}`]!, { buf: 'S', off: String(s.offset) }, s.size));
      w2.writeLine(win.hasLoss ? `return ${at(o.loss_sum!, 0)};` : 'return 0;');
    });
    return w2.toString();
  });
  const schedule = program.schedule;
  const totalPositions = program.totalPositions;

  // inference: logits at every step
  const pg = program.predict.graph;
  const penv = bind(program.predict.xs, '0');
  const pw = newWriter();
  let logitsView: View | undefined;
  pw.write('function forward(): void').block(() => {
    const o = lowerGraph(emitter(pw), pg, penv);
    states.forEach((s) => emitCopy(pw, o[s.name]!, { buf: 'S', off: String(s.offset) }, s.size));
    logitsView = o.logits!;
  });
  const Y = pg.outputs.logits!.shape[2]!;
  // predict reads the logits after forward() returns
  const memory = planMemory(buffers.scratch, [...windowFns.map((code) => ({ code })), { code: pw.toString(), liveOut: [logitsView!.buf] }]);
  const kib = (n: number) => `${((n * (cfg.float === 'f32' ? 4 : 8)) / 1024).toFixed(1)} KiB`;

  // ---- the module ----
  const project = new Project({ useInMemoryFileSystem: true });
  const sf = project.createSourceFile('trainer.ts', '', { overwrite: true });
  // dense arrays: the module's float type; a float64 module also takes Float32Array (widened exactly)
  const dense = { dtype: cfg.float, accepts: cfg.float === 'f32' ? ['f32'] : ['f64', 'f32'] };
  const inputsSpec = Object.fromEntries(
    c.inputs.map((i) => [i.name, i.kind === 'tokens' ? { dtype: 'i32', shape: [T, B], vocab: i.vocab } : { ...dense, shape: [T, B, ...i.shape] }]),
  );
  const targetShape = every ? [T, ...targetStep] : targetStep;
  const spec = {
    cell: c.def.name,
    sizes: c.sizes,
    batch: B,
    seq: T,
    truncate: program.truncation.k1 === T && program.truncation.k2 === T ? null : program.truncation,
    float: cfg.float,
    loss: c.loss,
    lossOn: c.lossOn,
    opt: program.level,
    inputs: inputsSpec,
    target: c.target.kind === 'class' ? { dtype: 'i32', shape: targetShape, classes: c.target.classes } : { ...dense, shape: targetShape },
    params: Object.fromEntries(params.map((p) => [p.name, p.shape])),
    state: Object.fromEntries(states.map((s) => [s.name, s.shape])),
    optimizer: cfg.optimizer,
    clip: cfg.clip,
    seed: cfg.seed,
  };
  sf.addStatements([
    `// Generated by rnnc from cell '${c.def.name}' — do not edit; recompile instead.`,
    `// B=${B}, T=${T}, ${Object.entries(c.sizes).map(([k, v]) => `${k}=${v}`).join(', ')}; ${spec.truncate ? `truncated BPTT ${program.truncation.k1}:${program.truncation.k2}` : 'full BPTT'}; ${cfg.optimizer.kind}; ${cfg.float}.`,
    '// A standalone module: no imports. See `spec` for the shapes it was compiled for.',
    `// Scratch memory: ${kib(memory.arenaSize)} in one arena (${kib(memory.separateSize)} as separate buffers).`,
  ]);
  sf.addVariableStatement({ isExported: true, declarationKind: VariableDeclarationKind.Const, docs: ["What this module was compiled for: sizes, batch, sequence length, shapes of inputs, target, parameters and state. A dense input's or target's `dtype` is the module's float type and `accepts` lists every float type its checks take."], declarations: [{ name: 'spec', initializer: `${JSON.stringify(spec, null, 2)} as const` }] });
  const floatT = F;
  const denseT = cfg.float === 'f32' ? 'Float32Array' : 'Float32Array | Float64Array';
  sf.addTypeAlias({ isExported: true, name: 'Inputs', type: `{ ${c.inputs.map((i) => `${i.name}: ${i.kind === 'tokens' ? 'Int32Array' : denseT}`).join('; ')} }` });
  sf.addInterface({ isExported: true, name: 'Batch', properties: [{ name: 'inputs', type: 'Inputs' }, { name: 'targets', type: c.target.kind === 'class' ? 'Int32Array' : denseT }] });
  sf.addInterface({ isExported: true, name: 'TrainerOptions', properties: [
    { name: 'seed', type: 'number', hasQuestionToken: true },
    { name: 'lr', type: 'number', hasQuestionToken: true },
    { name: 'momentum', type: 'number', hasQuestionToken: true },
    { name: 'beta1', type: 'number', hasQuestionToken: true },
    { name: 'beta2', type: 'number', hasQuestionToken: true },
    { name: 'eps', type: 'number', hasQuestionToken: true },
    { name: 'clip', type: 'number | null', hasQuestionToken: true },
  ] });
  sf.addInterface({ isExported: true, name: 'Trainer', properties: [
    { name: 'params', type: `Record<string, ${floatT}>`, isReadonly: true, docs: ['Live views of the parameters, by the cell\'s names.'] },
    { name: 'grads', type: `Record<string, ${floatT}>`, isReadonly: true, docs: ['Live views of the last computed gradients.'] },
    { name: 'state', type: `Record<string, ${floatT}>`, isReadonly: true, docs: ['The recurrent state, [B, ...] per name; carried across calls until resetState().'] },
    { name: 'hyper', type: '{ lr: number; momentum: number; beta1: number; beta2: number; eps: number; clip: number | null }', docs: ['Optimizer settings; may be changed between steps.'] },
    { name: 'lossAndGrad', type: '(batch: Batch) => number', docs: ['Forward and backward over the batch; fills grads, returns the mean loss; changes no parameter.'] },
    { name: 'step', type: '(batch: Batch) => number', docs: ['lossAndGrad, then clipping and an update per truncation window; returns the mean loss.'] },
    {
      name: 'predict',
      type: `(inputs: Inputs, out?: ${floatT}) => ${floatT}`,
      docs: [
        `Logits [T, B, ${Y}] = [${T}, ${B}, ${Y}] for every step, from and advancing the state. Returns a fresh ${floatT} each call, or, given \`out\` (a ${floatT} of ${T * B * Y} values), writes the logits into it and returns it: an inference loop then allocates nothing.`,
      ],
    },
    { name: 'resetState', type: '() => void' },
    { name: 'saveParams', type: '() => string', docs: ['Parameters as JSON.'] },
    { name: 'loadParams', type: '(json: string) => void', docs: ['Parameters from saveParams() JSON; checked whole before anything changes.'] },
    { name: 'exportParams', type: `() => ${floatT}`, docs: ['All parameters as one flat array (in spec.params order).'] },
    { name: 'importParams', type: `(flat: ${floatT}) => void` },
  ] });
  writeSupport(sf, c, cfg, F, T);

  sf.addFunction({
    isExported: true,
    name: 'createTrainer',
    parameters: [{ name: 'options', type: 'TrainerOptions', initializer: '{}' }],
    returnType: 'Trainer',
    docs: ['A trainer with its own parameters (seeded init), gradients, state and optimizer state. Every buffer is allocated here, once.'],
    statements: (w) => {
      w.writeLine(`const P = new ${F}(${nP}), G = new ${F}(${nP}), S = new ${F}(${nS});`);
      w.writeLine(`const M = new ${F}(${cfg.optimizer.kind === 'sgd' ? 0 : nP}), V = new ${F}(${cfg.optimizer.kind === 'adam' ? nP : 0}), stepCount = new Float64Array(1);`);
      w.writeLine(`// a copy of everything step() may change, restored if a window produces a non-finite loss or gradient`);
      w.writeLine(`const saved = { P: new ${F}(${nP}), M: new ${F}(M.length), V: new ${F}(V.length), S: new ${F}(${nS}), stepCount: new Float64Array(1) };`);
      w.writeLine(`const hyper = { lr: options.lr ?? ${cfg.optimizer.lr}, momentum: options.momentum ?? ${cfg.optimizer.momentum}, beta1: options.beta1 ?? ${cfg.optimizer.beta1}, beta2: options.beta2 ?? ${cfg.optimizer.beta2}, eps: options.eps ?? ${cfg.optimizer.eps}, clip: options.clip === undefined ? ${cfg.clip} : options.clip };`);
      w.writeLine(`const params: Record<string, ${F}> = { ${params.map((p) => `${p.name}: P.subarray(${p.offset}, ${p.offset + p.size})`).join(', ')} };`);
      w.writeLine(`const grads: Record<string, ${F}> = { ${params.map((p) => `${p.name}: G.subarray(${p.offset}, ${p.offset + p.size})`).join(', ')} };`);
      w.writeLine(`const state: Record<string, ${F}> = { ${states.map((s) => `${s.name}: S.subarray(${s.offset}, ${s.offset + s.size})`).join(', ')} };`);
      w.writeLine('const rand = makeRandom(options.seed ?? spec.seed);');
      c.params.forEach((p) => writeInit(w, `params.${p.name}`, p.shape, p.init));
      c.inputs.forEach((i) => w.writeLine(`let in_${i.name}: ${i.kind === 'tokens' ? 'Int32Array' : denseT} = new ${i.kind === 'tokens' ? 'Int32Array' : F}(${T * B * (i.node.size / B)});`));
      w.writeLine(`let in_target: ${c.target.kind === 'class' ? 'Int32Array' : denseT} = new ${c.target.kind === 'class' ? 'Int32Array' : F}(${(every ? T : 1) * targetPerStep});`);
      w.blankLine();
      w.writeLine('// buffers of the lowered graphs');
      buffers.declarations(memory).forEach((l) => w.writeLine(l));
      w.blankLine();
      windowFns.forEach((f) => w.write(f).blankLine());
      w.write(pw.toString()).blankLine();
      writeUpdate(w, cfg.optimizer.kind);
      w.blankLine();
      w.write('function bind(batch: Batch): void').block(() => {
        w.writeLine('checkBatch(batch);');
        c.inputs.forEach((i) => w.writeLine(`in_${i.name} = batch.inputs.${i.name};`));
        w.writeLine('in_target = batch.targets;');
      });
      w.blankLine();
      w.write('function lossAndGrad(batch: Batch): number').block(() => {
        w.writeLine('bind(batch);');
        w.writeLine('G.fill(0);');
        w.writeLine('let total = 0;');
        const inv = 1 / (totalPositions * c.lossElements);
        schedule.forEach((s) => w.writeLine(`total += ${s.fn}(${s.start}, ${inv});`));
        w.writeLine(`return total * ${inv};`);
      });
      w.blankLine();
      w.write('function step(batch: Batch): number').block(() => {
        w.writeLine('bind(batch);');
        w.writeLine('saved.P.set(P); saved.M.set(M); saved.V.set(V); saved.S.set(S); saved.stepCount.set(stepCount);');
        w.writeLine('let total = 0;');
        schedule.forEach((s, i) => {
          if (s.positions === 0) {
            w.writeLine(`${s.fn}(${s.start}, 0); // no loss in this window: it only carries the state on`);
            return;
          }
          const scale = 1 / (s.positions * c.lossElements);
          w.writeLine('G.fill(0);');
          w.writeLine(`const loss${i} = ${s.fn}(${s.start}, ${scale});`);
          const where = `window ${i} (steps ${s.start}..${s.start + s.len - 1})`;
          w.writeLine(`if (!Number.isFinite(loss${i})) rollback(\`loss (\${loss${i}})\`, '${where}');`);
          w.writeLine(`if (!allFinite(G)) rollback('gradient', '${where}');`);
          w.writeLine('clip();');
          w.writeLine('update();');
          w.writeLine(`if (!allFinite(P)) rollback('parameter after the update', '${where} (the learning rate may be too large)');`);
          w.writeLine(`total += loss${i};`);
        });
        w.writeLine(`return total * ${1 / (totalPositions * c.lossElements)};`);
      });
      w.blankLine();
      w.write('function rollback(what: string, where: string): never').block(() => {
        w.writeLine('P.set(saved.P); M.set(saved.M); V.set(saved.V); S.set(saved.S); stepCount.set(saved.stepCount);');
        w.writeLine('throw new RangeError(`step: non-finite ${what} in ${where}; parameters, optimizer state and state are unchanged`);');
      });
      w.blankLine();
      w.write('function clip(): void').block(() => {
        w.writeLine('if (hyper.clip === null) return;');
        w.writeLine('let sq = 0;');
        w.writeLine('for (let i = 0; i < G.length; i++) sq += G[i] * G[i];');
        w.writeLine('const norm = Math.sqrt(sq);');
        w.writeLine('if (norm > hyper.clip) for (let i = 0; i < G.length; i++) G[i] *= hyper.clip / norm;');
      });
      w.blankLine();
      const nLogits = T * B * Y, logitsShape = `[${T}, ${B}, ${Y}]`;
      w.writeLine(`/** Logits ${logitsShape} (T, B, Y): a fresh copy, or written into \`out\` and returned (no allocation). */`);
      w.write(`function predict(inputs: Inputs, out?: ${F}): ${F}`).block(() => {
        w.writeLine('checkInputs(inputs);');
        // checked before the forward pass: a bad \`out\` leaves the state as it was
        w.write('if (out !== undefined)').block(() => {
          w.writeLine(`if (!(out instanceof ${F})) throw new TypeError(\`predict: out must be a ${F} of ${nLogits} values ${logitsShape}, got \${describe(out)}\`);`);
          w.writeLine(`if (out.length !== ${nLogits}) throw new RangeError(\`predict: out has \${out.length} values, expected ${nLogits} ${logitsShape}\`);`);
        });
        c.inputs.forEach((i) => w.writeLine(`in_${i.name} = inputs.${i.name};`));
        w.writeLine('forward();');
        w.writeLine(`if (out === undefined) return ${logitsView!.buf}.slice(${logitsView!.off}, ${plus(logitsView!.off, nLogits)});`);
        emitCopy(w, logitsView!, { buf: 'out', off: '0' }, nLogits);
        w.writeLine('return out;');
      });
      w.blankLine();
      w.write('return').block(() => {
        w.writeLine('params, grads, state, hyper, lossAndGrad, step, predict,');
        w.writeLine('resetState: () => void S.fill(0),');
        w.writeLine('saveParams: () => saveParams(params),');
        w.writeLine('loadParams: (json: string) => loadParams(params, json),');
        w.writeLine('exportParams: () => P.slice(),');
        w.write(`importParams: (flat: ${F}) =>`).block(() => {
          w.writeLine(`if (!(flat instanceof ${F}) || flat.length !== ${nP}) throw new RangeError(\`importParams: expected a ${F} of ${nP} values, got \${describe(flat)}\`);`);
          w.writeLine(`if (!allFinite(flat)) throw new RangeError('importParams: non-finite values');`);
          w.writeLine('P.set(flat);');
        }).write(',').newLine();
      }).write(';');
    },
  });
  return sf.getFullText();
}

/** Batch checks, parameter (de)serialisation, init helpers: module-level functions. */
function writeSupport(sf: ReturnType<Project['createSourceFile']>, c: TracedCell, cfg: TrainerConfig, F: string, T: number): void {
  const w = newWriter();
  writeRandom(w);
  w.blankLine();
  if (c.params.some((p) => p.init.kind === 'orthogonal')) writeOrthogonal(w), w.blankLine();
  w.write('function describe(v: unknown): string').block(() => {
    w.writeLine("if (v === null || v === undefined) return String(v);");
    w.writeLine("if (ArrayBuffer.isView(v)) return `${v.constructor.name} of ${(v as unknown as { length: number }).length} values`;");
    w.writeLine("return Array.isArray(v) ? `an array of ${v.length} values` : typeof v;");
  });
  w.blankLine();
  w.write('function allFinite(a: ArrayLike<number>): boolean').block(() => {
    w.writeLine('for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;');
    w.writeLine('return true;');
  });
  w.blankLine();
  const checkArray = (label: string, expr: string, kind: 'tokens' | 'dense' | 'class', len: number, shape: readonly number[], bound?: number) => {
    const x = label.replace(/\W/g, '_');
    w.writeLine(`const ${x} = ${expr};`);
    const types = kind === 'dense' ? (cfg.float === 'f32' ? ['Float32Array'] : ['Float32Array', 'Float64Array']) : ['Int32Array'];
    const ok = types.map((t) => `${x} instanceof ${t}`).join(' || ');
    w.writeLine(`if (!(${ok})) throw new TypeError(\`${label} must be a ${types.join(' or ')} of ${len} values [${shape.join(', ')}], got \${describe(${x})}\`);`);
    w.writeLine(`if (${x}.length !== ${len}) throw new RangeError(\`${label} has \${${x}.length} values, expected ${len} [${shape.join(', ')}]\`);`);
    if (bound !== undefined) {
      w.write(`for (let i = 0; i < ${len}; i++)`).block(() => {
        w.writeLine(`const v = ${x}[i];`);
        w.writeLine(`if (!(v >= 0 && v < ${bound})) throw new RangeError(\`${label}[\${i}] = \${v} is out of range [0, ${bound})\`);`);
      });
    }
  };
  const B = c.batch;
  w.write('function checkInputs(inputs: Inputs): void').block(() => {
    w.writeLine("if (typeof inputs !== 'object' || inputs === null) throw new TypeError(`inputs must be an object, got ${describe(inputs)}`);");
    c.inputs.forEach((i) => {
      const per = i.node.size / B;
      const shape = i.kind === 'tokens' ? [T, B] : [T, B, ...i.shape];
      checkArray(`inputs.${i.name}`, `inputs.${i.name}`, i.kind, T * B * per, shape, i.vocab);
    });
  });
  w.blankLine();
  w.write('function checkBatch(batch: Batch): void').block(() => {
    w.writeLine("if (typeof batch !== 'object' || batch === null) throw new TypeError(`batch must be { inputs, targets }, got ${describe(batch)}`);");
    w.writeLine('checkInputs(batch.inputs);');
    const every = c.lossOn === 'every';
    const perStep = c.target.kind === 'class' ? [B] : [B, ...c.target.shape];
    const shape = every ? [T, ...perStep] : perStep;
    const len = shape.reduce((a, b) => a * b, 1);
    checkArray('targets', 'batch.targets', c.target.kind === 'class' ? 'class' : 'dense', len, shape, c.target.classes);
  });
  w.blankLine();
  const names = c.params.map((p) => p.name);
  w.write(`function saveParams(params: Record<string, ${F}>): string`).block(() => {
    w.writeLine(`const out: Record<string, { shape: readonly number[]; data: number[] }> = {};`);
    w.writeLine(`for (const name of ${JSON.stringify(names)}) out[name] = { shape: spec.params[name as keyof typeof spec.params], data: Array.from(params[name]!) };`);
    w.writeLine("return JSON.stringify({ format: 'rnnc-params', version: 1, cell: spec.cell, sizes: spec.sizes, params: out });");
  });
  w.blankLine();
  w.write(`function loadParams(params: Record<string, ${F}>, json: string): void`).block(() => {
    w.writeLine('let doc: { format?: unknown; cell?: unknown; params?: Record<string, { shape?: unknown; data?: unknown }> };');
    w.writeLine("try { doc = JSON.parse(json); } catch (e) { throw new SyntaxError(`loadParams: not JSON: ${(e as Error).message}`); }");
    w.writeLine("if (typeof doc !== 'object' || doc === null || doc.format !== 'rnnc-params' || typeof doc.params !== 'object' || doc.params === null) throw new TypeError('loadParams: not an rnnc parameter file');");
    w.writeLine("if (doc.cell !== spec.cell) throw new TypeError(`loadParams: parameters of cell '${String(doc.cell)}', this trainer is '${spec.cell}'`);");
    w.writeLine('// check everything first: a bad file leaves the trainer as it was');
    w.write(`for (const name of ${JSON.stringify(names)})`).block(() => {
      w.writeLine('const entry = doc.params![name];');
      w.writeLine('const shape = spec.params[name as keyof typeof spec.params] as readonly number[];');
      w.writeLine("if (!entry) throw new RangeError(`loadParams: parameter '${name}' is missing`);");
      w.writeLine("if (!Array.isArray(entry.shape) || entry.shape.join(',') !== shape.join(',')) throw new RangeError(`loadParams: '${name}' has shape [${String(entry.shape)}], expected [${shape.join(', ')}]`);");
      // a float32 trainer stores Math.fround(v): a finite double beyond float32's range would become ±Infinity
      const finite = cfg.float === 'f32' ? 'Number.isFinite(Math.fround(v))' : 'Number.isFinite(v)';
      w.writeLine(`if (!Array.isArray(entry.data) || entry.data.length !== params[name]!.length || !entry.data.every((v) => typeof v === 'number' && ${finite})) throw new RangeError(\`loadParams: '\${name}' needs \${params[name]!.length} finite numbers${cfg.float === 'f32' ? ' (within float32 range)' : ''}\`);`);
    });
    w.writeLine(`for (const name of ${JSON.stringify(names)}) params[name]!.set(doc.params[name]!.data as number[]);`);
  });
  sf.addStatements(w.toString());
}
