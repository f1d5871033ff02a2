/**
 * The host shared by targets: one self-contained ES module per compiled model with the trainer API
 * of docs/trainer-api.md — spec, types, createTrainer, the batch checks, the windows of a sequence,
 * rollback on non-finite values, clipping, the optimizer, save/load. It is written once from the
 * schedule; buffers and kernels are the target's (codegen/host/target.ts). The module is assembled
 * with ts-morph.
 */
import { CodeBlockWriter, Project, VariableDeclarationKind } from 'ts-morph';
import type { OptimizerSpec, Run, TrainingProgram } from '../../ir/program.ts';
import { buildSchedule } from '../schedule/build.ts';
import type { MemoryPlan, Schedule } from '../schedule/types.ts';
import { RnncError } from '../../ir/error.ts';
import { planMemory } from '../schedule/memory.ts';
import type { Target } from './target.ts';
import { writeInit } from './runtime.ts';
import { writeSupport } from './support.ts';
import { writeLengthsState } from './lengths.ts';

export interface TrainerConfig {
  readonly float: 'f32' | 'f64';
  readonly optimizer: OptimizerSpec;
  /** Clip gradients to this global L2 norm before each update (null: no clipping). */
  readonly clip: number | null;
  readonly seed: number;
}


/**
 * A user's text as a JavaScript string literal that is safe anywhere in the module, a comment
 * included: JSON escapes quotes and control characters, and U+2028 and U+2029, which end a line
 * (and so a comment) in JavaScript, are escaped too.
 */
const escapeSeparators = (js: string) => js.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
export const jsString = (text: string) => escapeSeparators(JSON.stringify(text));

/**
 * The largest typed array a trainer may allocate, in elements: the limit of Node's V8 (2^32), the
 * engine rnnc runs on. A size past it would compile into a module whose createTrainer throws
 * "Invalid typed array length"; it is refused here, with what the trainer would need.
 */
export const MAX_ELEMENTS = 2 ** 32;

/** The bytes a trainer allocates; refused past what a typed array can hold. */
function checkAllocatable(schedule: Schedule, memory: MemoryPlan, cfg: TrainerConfig): number {
  const nP = schedule.params.reduce((a, p) => a + p.size, 0), nS = schedule.states.reduce((a, s) => a + s.size, 0);
  const moments = cfg.optimizer.kind === 'sgd' ? 0 : cfg.optimizer.kind === 'momentum' ? 1 : 2;
  const arrays: [string, number][] = [['the parameters', nP], ['the state', nS], ['the scratch arena', memory.arenaSize]];
  const perElement = cfg.float === 'f32' ? 4 : 8;
  // P, G, the optimizer's moments and the copies step() restores from; S and its copy; the arena
  const bytes = perElement * ((3 + 2 * moments) * nP + 2 * nS + memory.arenaSize);
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;
  for (const [what, n] of arrays) {
    if (n > MAX_ELEMENTS) throw new RnncError(`these sizes need ${n} elements for ${what}, more than the ${MAX_ELEMENTS} a typed array can hold (the trainer would need ${gib(bytes)} in all): use smaller sizes, a smaller batch, or --truncate`);
  }
  return bytes;
}

const newWriter = () => new CodeBlockWriter({ indentNumberOfSpaces: 2, useSingleQuote: true });

export function generateTrainer(program: TrainingProgram, cfg: TrainerConfig, target: Target): string {
  const c = program.model;
  const F = target.floatArray;
  const B = c.batch, T = program.seq;
  const schedule = buildSchedule(program);
  const memory = planMemory(schedule, target.alignElements);
  const trainerBytes = checkAllocatable(schedule, memory, cfg);
  const { params, states } = schedule;
  const nP = params.reduce((a, p) => a + p.size, 0), nS = states.reduce((a, s) => a + s.size, 0);
  const every = c.lossOn === 'every';
  const targetStep = c.target.kind === 'class' ? [B] : [B, ...c.target.shape]; // one step's target
  const totalPositions = program.totalPositions;
  const logitsOf = (fn: string) => schedule.functions.find((f) => f.name === fn)!.liveOut[0]!;
  const Y = program.inference[0]!.graph.outputs.logits!.shape[2]!;
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
    cell: c.name,
    sizes: c.sizes,
    batch: B,
    seq: T,
    truncate: program.truncation.k1 === T && program.truncation.k2 === T ? null : program.truncation,
    float: cfg.float,
    loss: c.loss,
    lossOn: c.lossOn,
    opt: program.level,
    inputs: inputsSpec,
    // compiled with --lengths: a batch may carry lengths [B] and class targets of -100
    ...(c.lengths ? { lengths: { dtype: 'i32', shape: [B], ignoreIndex: -100 } } : {}),
    target: c.target.kind === 'class' ? { dtype: 'i32', shape: targetShape, classes: c.target.classes } : { ...dense, shape: targetShape },
    params: Object.fromEntries(params.map((p) => [p.name, p.shape])),
    state: Object.fromEntries(states.map((s) => [s.name, s.shape])),
    optimizer: cfg.optimizer,
    clip: cfg.clip,
    seed: cfg.seed,
  };
  sf.addStatements([
    `// Generated by rnnc from cell ${jsString(c.name)} — do not edit; recompile instead.`,
    `// B=${B}, T=${T}, ${Object.entries(c.sizes).map(([k, v]) => `${k}=${v}`).join(', ')}; ${spec.truncate ? `truncated BPTT ${program.truncation.k1}:${program.truncation.k2}` : 'full BPTT'}; ${cfg.optimizer.kind}; ${cfg.float}.`,
    '// A standalone module: no imports. See `spec` for the shapes it was compiled for.',
    `// Scratch memory: ${kib(memory.arenaSize)} in one arena (${kib(memory.separateSize)} as separate buffers).`,
    `// All it allocates: ${(trainerBytes / 2 ** 20).toFixed(1)} MiB (parameters, gradients, optimizer state, state, the copies step() restores from, scratch).`,
  ]);
  const specText = escapeSeparators(JSON.stringify(spec, null, 2));
  sf.addVariableStatement({ isExported: true, declarationKind: VariableDeclarationKind.Const, docs: ["What this module was compiled for: sizes, batch, sequence length, shapes of inputs, target, parameters and state. A dense input's or target's `dtype` is the module's float type and `accepts` lists every float type its checks take."], declarations: [{ name: 'spec', initializer: `${specText} as const` }] });
  const floatT = F;
  const denseT = cfg.float === 'f32' ? 'Float32Array' : 'Float32Array | Float64Array';
  sf.addTypeAlias({ isExported: true, name: 'Inputs', type: `{ ${c.inputs.map((i) => `${i.name}: ${i.kind === 'tokens' ? 'Int32Array' : denseT}`).join('; ')} }` });
  const lengthsProp = c.lengths ? [{ name: 'lengths', type: 'Int32Array', hasQuestionToken: true, docs: [`Each sequence's length [B], 1..${T}; steps at or past it change nothing and count no loss (default: all ${T}).`] }] : [];
  sf.addInterface({ isExported: true, name: 'Batch', properties: [{ name: 'inputs', type: 'Inputs' }, { name: 'targets', type: c.target.kind === 'class' ? 'Int32Array' : denseT }, ...lengthsProp] });
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
    { name: 'hyper', type: '{ lr: number; momentum: number; beta1: number; beta2: number; eps: number; clip: number | null }', isReadonly: true, docs: ['Optimizer settings; may be changed between steps, each checked when set (a RangeError naming it and the value).'] },
    { name: 'lossAndGrad', type: '(batch: Batch) => number', docs: ['Forward and backward over the batch; fills grads, returns the mean loss; changes no parameter.'] },
    { name: 'step', type: '(batch: Batch) => number', docs: ['lossAndGrad, then clipping and an update per truncation window; returns the mean loss.'] },
    {
      name: 'predict',
      type: `(inputs: Inputs, out?: ${floatT}${c.lengths ? ', lengths?: Int32Array' : ''}) => ${floatT}`,
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
  const arrays = { P: nP, S: nS, M: cfg.optimizer.kind === 'sgd' ? 0 : nP, V: cfg.optimizer.kind === 'adam' ? nP : 0 };
  if (target.moduleStatements) sf.addStatements(target.moduleStatements(schedule, memory, arrays));

  sf.addFunction({
    isExported: true,
    name: 'createTrainer',
    parameters: [{ name: 'options', type: 'TrainerOptions', initializer: '{}' }],
    returnType: 'Trainer',
    docs: ['A trainer with its own parameters (seeded init), gradients, state and optimizer state. Every buffer is allocated here, once.'],
    statements: (w) => {
      w.writeLine('checkOptions(options);');
      if (target.declareArrays) {
        target.declareArrays(w, arrays);
        w.writeLine('const stepCount = new Float64Array(1);');
      } else {
        w.writeLine(`const P = new ${F}(${nP}), G = new ${F}(${nP}), S = new ${F}(${nS});`);
        w.writeLine(`const M = new ${F}(${arrays.M}), V = new ${F}(${arrays.V}), stepCount = new Float64Array(1);`);
      }
      w.writeLine(`// a copy of everything step() may change, restored if a window produces a non-finite loss or gradient`);
      w.writeLine(`const saved = { P: new ${F}(${nP}), M: new ${F}(M.length), V: new ${F}(V.length), S: new ${F}(${nS}), stepCount: new Float64Array(1) };`);
      w.writeLine(`const hyper = checkedHyper({ lr: options.lr ?? ${cfg.optimizer.lr}, momentum: options.momentum ?? ${cfg.optimizer.momentum}, beta1: options.beta1 ?? ${cfg.optimizer.beta1}, beta2: options.beta2 ?? ${cfg.optimizer.beta2}, eps: options.eps ?? ${cfg.optimizer.eps}, clip: options.clip === undefined ? ${cfg.clip} : options.clip });`);
      w.writeLine(`const params: Record<string, ${F}> = { ${params.map((p) => `${p.name}: P.subarray(${p.offset}, ${p.offset + p.size})`).join(', ')} };`);
      w.writeLine(`const grads: Record<string, ${F}> = { ${params.map((p) => `${p.name}: G.subarray(${p.offset}, ${p.offset + p.size})`).join(', ')} };`);
      w.writeLine(`const state: Record<string, ${F}> = { ${states.map((s) => `${s.name}: S.subarray(${s.offset}, ${s.offset + s.size})`).join(', ')} };`);
      w.writeLine('const rand = makeRandom(options.seed ?? spec.seed);');
      c.params.forEach((p) => writeInit(w, `params.${p.name}`, p.shape, p.init));
      // the caller's arrays, bound (after their checks) by every call that reads them: empty until then
      c.inputs.forEach((i) => w.writeLine(`let in_${i.name}: ${i.kind === 'tokens' ? 'Int32Array' : denseT} = new ${i.kind === 'tokens' ? 'Int32Array' : F}(0);`));
      w.writeLine(`let in_target: ${c.target.kind === 'class' ? 'Int32Array' : denseT} = new ${c.target.kind === 'class' ? 'Int32Array' : F}(0);`);
      w.blankLine();
      w.writeLine(`// the schedule's buffers: scratch in one arena (${target.name} target)`);
      target.declareBuffers(w, schedule, memory);
      w.blankLine();
      if (c.lengths) writeLengthsState(w, c, T, F), w.blankLine();
      for (const fn of schedule.functions) {
        const len = program.windows.find((x) => x.fn === fn.name)?.len;
        const chunk = program.inference.find((x) => x.fn === fn.name)?.len;
        if (chunk !== undefined) w.writeLine(`/** Inference over steps [start, start + ${chunk}): logits at every step; carries the state on. */`);
        else w.writeLine(`/** Steps [start, start + ${len}) forward${fn.result ? ' and back; adds scale · ∂(loss sum)/∂params to G, returns the loss sum' : ' only'}; carries the state on. */`);
        // the schedule's functions keep the two-space indentation of the writer they are rendered with
        const fw = newWriter();
        target.renderFunction(fw, fn);
        w.write(fw.toString()).blankLine();
      }
      target.writeUpdate(w, cfg.optimizer.kind);
      w.blankLine();
      w.write('function bind(batch: Batch): void').block(() => {
        w.writeLine('checkBatch(batch);');
        c.inputs.forEach((i) => w.writeLine(`in_${i.name} = batch.inputs.${i.name};`));
        if (c.lengths) {
          w.writeLine(`fillLengths(batch.lengths, batch.targets);`);
          w.writeLine(`if (counted(0, ${T}) === 0) throw new RangeError('batch: no position is counted (every target is -100 or past the end of its sequence); nothing changed');`);
        }
        w.writeLine(c.lengths && c.target.kind === 'class' ? 'in_target = targetIds;' : 'in_target = batch.targets;');
        target.afterBind?.(w);
      });
      w.blankLine();
      // the windows of a sequence as runs of the same function at evenly spaced starts: one loop
      // each, so the module does not grow with the number of windows
      const runs = schedule.sequence;
      const forRun = (r: Run, body: (start: string, index: string) => void, scoped = false) => {
        // (a block of its own when the body declares names: one per window)
        if (r.count === 1) return void (scoped ? w.block(() => body(String(r.start), String(r.index))) : body(String(r.start), String(r.index)));
        w.write(`for (let n = 0; n < ${r.count}; n++)`).block(() => {
          w.writeLine(`const start = ${r.start} + n * ${r.stride};`);
          body('start', `${r.index} + n`);
        });
      };
      w.write('function lossAndGrad(batch: Batch): number').block(() => {
        w.writeLine('bind(batch);');
        w.writeLine(`checkFinite(batch.inputs${c.target.kind === 'dense' ? ', batch.targets' : ''});`);
        w.writeLine('G.fill(0);');
        w.writeLine('let total = 0;');
        // the mean over every position, or over the counted ones (variable lengths)
        if (c.lengths) w.writeLine(`const inv = 1 / counted(0, ${T});`);
        const inv = c.lengths ? 'inv' : String(1 / (totalPositions * c.lossElements));
        for (const r of runs) forRun(r, (start) => w.writeLine(r.positions === 0 ? `${r.fn}(${start}, 0);` : `total += ${r.fn}(${start}, ${inv});`));
        w.writeLine(`return total * ${inv};`);
      });
      w.blankLine();
      w.write('function step(batch: Batch): number').block(() => {
        w.writeLine('bind(batch);');
        w.writeLine('saved.P.set(P); saved.M.set(M); saved.V.set(V); saved.S.set(S); saved.stepCount.set(stepCount);');
        w.writeLine('let total = 0;');
        for (const r of runs) {
          forRun(r, (start, index) => {
            if (r.positions === 0) return void w.writeLine(`${r.fn}(${start}, 0); // no loss in this window: it only carries the state on`);
            const update = () => {
              w.writeLine('G.fill(0);');
              w.writeLine(`const loss = ${r.fn}(${start}, ${c.lengths ? '1 / counts' : 1 / (r.positions * c.lossElements)});`);
              const where = `${index}, ${start}, ${r.len}`;
              w.writeLine(`if (!Number.isFinite(loss)) rollback(\`loss (\${loss})\`, ${where});`);
              w.writeLine(`if (!allFinite(G)) rollback('gradient', ${where});`);
              w.writeLine('clip();');
              w.writeLine('update();');
              w.writeLine(`if (!allFinite(P)) rollback('parameter after the update', ${where}, ' (the learning rate may be too large)');`);
              w.writeLine('total += loss;');
            };
            if (!c.lengths) return update();
            // the mean over the window's counted positions; a window with none (every sequence
            // ended before it, or every target ignored) only carries the state on
            w.writeLine(`const counts = counted(${start} + ${r.len - r.positions}, ${start} + ${r.len});`);
            w.write(`if (counts === 0) ${r.fn}(${start}, 0);`).newLine();
            w.write('else').block(update);
          }, r.positions > 0);
        }
        w.writeLine(c.lengths ? `return total / counted(0, ${T});` : `return total * ${1 / (totalPositions * c.lossElements)};`);
      });
      w.blankLine();
      w.write("function rollback(what: string, index: number, start: number, len: number, hint = ''): never").block(() => {
        w.writeLine('P.set(saved.P); M.set(saved.M); V.set(saved.V); S.set(saved.S); stepCount.set(saved.stepCount);');
        w.writeLine('throw new RangeError(`step: non-finite ${what} in window ${index} (steps ${start}..${start + len - 1})${hint}; parameters, optimizer state and state are unchanged`);');
      });
      w.blankLine();
      target.writeClip(w);
      w.blankLine();
      const nLogits = T * B * Y, logitsShape = `[${T}, ${B}, ${Y}]`;
      w.writeLine(`/** Logits ${logitsShape} (T, B, Y): a fresh array, or written into \`out\` and returned (no allocation). */`);
      w.write(`function predict(inputs: Inputs, out?: ${F}${c.lengths ? ', lengths?: Int32Array' : ''}): ${F}`).block(() => {
        w.writeLine('checkInputs(inputs);');
        if (c.lengths) w.writeLine("checkLengths(lengths, 'predict: lengths');");
        w.writeLine('checkFinite(inputs);');
        // checked before the forward pass: a bad \`out\` leaves the state as it was
        w.write('if (out !== undefined)').block(() => {
          w.writeLine(`if (!(out instanceof ${F})) throw new TypeError(\`predict: out must be a ${F} of ${nLogits} values ${logitsShape}, got \${describe(out)}\`);`);
          w.writeLine(`if (out.length !== ${nLogits}) throw new RangeError(\`predict: out has \${out.length} values, expected ${nLogits} ${logitsShape}\`);`);
        });
        c.inputs.forEach((i) => w.writeLine(`in_${i.name} = inputs.${i.name};`));
        if (c.lengths) w.writeLine('fillLengths(lengths, null);');
        target.afterBind?.(w);
        const chunks = schedule.inferenceSequence;
        if (chunks.length === 1 && chunks[0]!.count === 1) {
          w.writeLine('forward(0);');
          w.writeLine(`if (out === undefined) return ${target.sliceOut(logitsOf('forward'), nLogits)};`);
          target.copyOut(w, logitsOf('forward'), 'out', '0', nLogits);
        } else {
          // chunk by chunk, each chunk's logits into their place: memory bounded by the chunk, not T
          w.writeLine(`if (out === undefined) out = new ${F}(${nLogits});`);
          for (const r of chunks) {
            forRun(r, (start) => {
              w.writeLine(`${r.fn}(${start});`);
              target.copyOut(w, logitsOf(r.fn), 'out', start === '0' ? '0' : `${start} * ${B * Y}`, r.len * B * Y);
            }, true);
          }
        }
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
