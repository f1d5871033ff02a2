/**
 * The host shared by targets: one self-contained ES module per compiled model with the trainer API
 * of docs/trainer-api.md — spec, types, createTrainer, the batch checks, the windows of a sequence,
 * rollback on non-finite values, clipping, the optimizer, save/load. It is written once from the
 * schedule; buffers and kernels are the target's (codegen/host/target.ts). The module is assembled
 * with ts-morph.
 */
import { CodeBlockWriter, Project, VariableDeclarationKind } from 'ts-morph';
import { optimizerMoments, type OptimizerSpec, type Run, type TrainingProgram } from '../../ir/program.ts';
import { buildSchedule } from '../schedule/build.ts';
import type { MemoryPlan, Schedule } from '../schedule/types.ts';
import { RnncError } from '../../ir/error.ts';
import { planMemory } from '../schedule/memory.ts';
import type { Target } from './target.ts';
import { writeInit } from './runtime.ts';
import { writeSupport } from './support.ts';
import { writeRun } from './runs.ts';
import { writeForward, writeForwardChecks } from './forward.ts';
import { writeCheckpoint, writeCheckpointSupport } from './checkpoint.ts';
import { diagnosisType, writeDiagnose, writeSpectral } from './diagnose.ts';
import { writeLengthsState } from './lengths.ts';

export interface TrainerConfig {
  readonly float: 'f32' | 'f64';
  readonly optimizer: OptimizerSpec;
  /** Clip gradients to this global L2 norm before each update (null: no clipping). */
  readonly clip: number | null;
  readonly seed: number;
  /** Whether the program holds the diagnostics functions (planTraining's withDiagnostics; default false). */
  readonly diagnose?: boolean;
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
  const has = optimizerMoments(cfg.optimizer.kind), moments = Number(has.m) + Number(has.v);
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
  const has = optimizerMoments(cfg.optimizer.kind);
  const every = c.lossOn === 'every';
  const targetStep = c.target.kind === 'class' ? [B] : [B, ...c.target.shape]; // one step's target
  const totalPositions = program.totalPositions;
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
    // each parameter's init scheme as the cell declared it (init.split parts included)
    init: Object.fromEntries(c.params.map((p) => [p.name, p.init])),
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
    { name: 'weightDecay', type: 'number', hasQuestionToken: true },
    { name: 'alpha', type: 'number', hasQuestionToken: true },
    { name: 'clip', type: 'number | null', hasQuestionToken: true },
  ] });
  sf.addTypeAlias({ isExported: true, name: 'Hyper', type: '{ lr: number; momentum: number; beta1: number; beta2: number; eps: number; weightDecay: number; alpha: number; clip: number | null }' });
  sf.addInterface({ isExported: true, name: 'StepStats', properties: [
    { name: 'loss', type: 'number', isReadonly: true },
    { name: 'gradNorm', type: 'number', isReadonly: true },
    { name: 'clipped', type: 'boolean', isReadonly: true },
  ] });
  sf.addTypeAlias({ isExported: true, name: 'Diagnosis', docs: ['What diagnose(batch) returns.'], type: diagnosisType(c, T) });
  sf.addInterface({ isExported: true, name: 'ForwardOptions', docs: [`Where predict and evaluate start (zeros by default), and an object to receive the final state${c.lengths ? '; predict also takes the lengths' : ''}.`], properties: [
    { name: 'state', type: `Partial<Record<${Object.keys(spec.state).map((k) => JSON.stringify(k)).join(' | ')}, ${denseT}>>`, hasQuestionToken: true, docs: ['The state to start from, per name: [n, ...shape]; a state not given starts at zero.'] },
    { name: 'final', type: `Record<string, ${floatT}>`, hasQuestionToken: true, docs: ['Receives the final state, per name, as fresh arrays [n, ...shape].'] },
    ...(c.lengths ? [{ name: 'lengths', type: 'Int32Array', hasQuestionToken: true, docs: [`predict: each sequence's length [n], 1..${T}; a sequence's state is held from its end on (default: all ${T}).`] }] : []),
  ] });
  sf.addInterface({ isExported: true, name: 'Trainer', properties: [
    { name: 'params', type: `Record<string, ${floatT}>`, isReadonly: true, docs: ['Live views of the parameters, by the cell\'s names.'] },
    { name: 'grads', type: `Record<string, ${floatT}>`, isReadonly: true, docs: ['Live views of the last computed gradients.'] },
    { name: 'state', type: `Record<string, ${floatT}>`, isReadonly: true, docs: ['The recurrent state, [B, ...] per name; carried across calls until resetState().'] },
    { name: 'hyper', type: 'Hyper', isReadonly: true, docs: ['Optimizer settings; may be changed between steps, each checked when set (a RangeError naming it and the value).'] },
    { name: 'lastStep', type: 'StepStats', isReadonly: true, docs: ['What the last step did: its loss, the global gradient norm before clipping (the largest over its windows) and whether it clipped.'] },
    { name: 'lossAndGrad', type: '(batch: Batch) => number', docs: ['Forward and backward over the batch; fills grads, returns the mean loss; changes no parameter.'] },
    { name: 'step', type: '(batch: Batch) => number', docs: ['lossAndGrad, then clipping and an update per truncation window; returns the mean loss.'] },
    {
      name: 'predict',
      type: `(inputs: Inputs, out?: ${floatT}, options?: ForwardOptions) => ${floatT}`,
      docs: [
        `Logits [T, n, Y] = [${T}, n, ${Y}] for every step of n ≤ ${B} sequences, from zeros (or options.state); the training state is left as it was, and options.final receives the final state. Returns a fresh ${floatT} each call, or, given \`out\` (a ${floatT} of ${T}·n·${Y} values), writes the logits into it and returns it.`,
      ],
    },
    { name: 'evaluate', type: '(batch: Batch, options?: ForwardOptions) => number', docs: [`The mean loss of n ≤ ${B} sequences, forward only (no backward pass), from zeros (or options.state); changes nothing in the trainer.`] },
    { name: 'diagnose', type: '(batch: Batch, options?: { iterations?: number; seed?: number }) => Diagnosis', docs: ['One forward and backward pass, no update (grads filled as lossAndGrad fills them, state and parameters unchanged): ‖∂L/∂h_t‖ and ‖h_t‖ at every step, the gradient norm, the spectral radius and largest singular value of each recurrent weight (power iteration: `iterations`, default 2000, from `seed`).'] },
    { name: 'resetState', type: '() => void' },
    { name: 'saveParams', type: '() => string', docs: ['Parameters as JSON.'] },
    { name: 'loadParams', type: '(json: string) => void', docs: ['Parameters from saveParams() JSON; checked whole before anything changes.'] },
    { name: 'saveCheckpoint', type: '() => string', docs: ['Parameters, optimizer moments and step count, state and hyper, with the spec, as JSON: a run resumes exactly from it.'] },
    { name: 'loadCheckpoint', type: '(json: string) => void', docs: ['A saveCheckpoint() file back; a mismatched or corrupt one is refused whole (nothing changes).'] },
    { name: 'exportParams', type: `() => ${floatT}`, docs: ['All parameters as one flat array (in spec.params order).'] },
    { name: 'importParams', type: `(flat: ${floatT}) => void` },
  ] });
  writeSupport(sf, c, cfg, F, T);
  const arrays = { P: nP, S: nS, M: has.m ? nP : 0, V: has.v ? nP : 0 };
  if (target.moduleStatements) sf.addStatements(target.moduleStatements(schedule, memory, arrays));
  const fw = newWriter();
  writeForwardChecks(fw, c, cfg.float, T, !c.lengths && schedule.evaluationSequence.length > 0);
  writeCheckpointSupport(fw, cfg.float);
  if (schedule.diagnosticsSequence !== null) writeSpectral(fw); // (diagnose's power iteration)
  sf.addStatements(fw.toString());

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
      const o = cfg.optimizer;
      w.writeLine(`const hyper: Hyper = checkedHyper({ lr: options.lr ?? ${o.lr}, momentum: options.momentum ?? ${o.momentum}, beta1: options.beta1 ?? ${o.beta1}, beta2: options.beta2 ?? ${o.beta2}, eps: options.eps ?? ${o.eps}, weightDecay: options.weightDecay ?? ${o.weightDecay}, alpha: options.alpha ?? ${o.alpha}, clip: options.clip === undefined ? ${cfg.clip} : options.clip });`);
      w.writeLine('const lastStep = { loss: NaN, gradNorm: NaN, clipped: false };');
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
      const forRun = (r: Run, body: (start: string, index: string) => void, scoped = false) => writeRun(w, r, body, scoped);
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
        w.writeLine('let total = 0, gradNorm = 0, clipped = false;');
        for (const r of runs) {
          forRun(r, (start, index) => {
            if (r.positions === 0) return void w.writeLine(`${r.fn}(${start}, 0); // no loss in this window: it only carries the state on`);
            const update = () => {
              w.writeLine('G.fill(0);');
              w.writeLine(`const loss = ${r.fn}(${start}, ${c.lengths ? '1 / counts' : 1 / (r.positions * c.lossElements)});`);
              const where = `${index}, ${start}, ${r.len}`;
              w.writeLine(`if (!Number.isFinite(loss)) rollback(\`loss (\${loss})\`, ${where});`);
              w.writeLine(`if (!allFinite(G)) rollback('gradient', ${where});`);
              w.writeLine('const norm = clip();');
              w.writeLine('gradNorm = Math.max(gradNorm, norm);');
              w.writeLine('if (hyper.clip !== null && norm > hyper.clip) clipped = true;');
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
        w.writeLine(c.lengths ? `const loss = total / counted(0, ${T});` : `const loss = total * ${1 / (totalPositions * c.lossElements)};`);
        w.writeLine('lastStep.loss = loss; lastStep.gradNorm = gradNorm; lastStep.clipped = clipped;');
        w.writeLine('return loss;');
      });
      w.blankLine();
      w.write("function rollback(what: string, index: number, start: number, len: number, hint = ''): never").block(() => {
        w.writeLine('P.set(saved.P); M.set(saved.M); V.set(saved.V); S.set(saved.S); stepCount.set(saved.stepCount);');
        w.writeLine('throw new RangeError(`step: non-finite ${what} in window ${index} (steps ${start}..${start + len - 1})${hint}; parameters, optimizer state and state are unchanged`);');
      });
      w.blankLine();
      target.writeClip(w);
      w.blankLine();
      writeCheckpoint(w, { kind: cfg.optimizer.kind, params, states, nP });
      w.blankLine();
      // the recurrent weights [k·n, n], as k square blocks n×n (the LSTM's four gates)
      const recurrent = c.params.flatMap((p, i) => {
        const [rows, cols] = p.shape as [number, number];
        return p.recurrent && p.shape.length === 2 && rows % cols === 0 ? [{ name: p.name, offset: params[i]!.offset, blocks: rows / cols, n: cols }] : [];
      });
      writeDiagnose(w, { c, schedule, target, F, T, scale: 1 / (totalPositions * c.lossElements), recurrent, truncate: `${program.truncation.k1}:${program.truncation.k2}`, compiled: cfg.diagnose ?? false });
      w.blankLine();
      writeForward(w, { c, schedule, target, F, T, Y, totalPositions, nS, chunk: Math.max(...program.inference.map((q) => q.len)) });
      w.blankLine();
      w.write('return').block(() => {
        w.writeLine('params, grads, state, hyper, lastStep, lossAndGrad, step, predict, evaluate, diagnose,');
        w.writeLine('resetState: () => void S.fill(0),');
        w.writeLine('saveParams: () => saveParams(params),');
        w.writeLine('loadParams: (json: string) => loadParams(params, json),');
        w.writeLine('saveCheckpoint, loadCheckpoint,');
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
