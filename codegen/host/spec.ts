/**
 * `spec`, the description a generated module exports of what it was compiled for — sizes, batch,
 * sequence, truncation, each input's and the target's dtype and shape, parameters, state, init,
 * optimizer — made once here for every host (codegen/host/trainer.ts, codegen/wgsl/host.ts).
 */
import type { TrainingProgram } from '../../ir/program.ts';
import type { Schedule } from '../schedule/types.ts';
import type { TrainerConfig } from './trainer.ts';

/** U+2028 and U+2029 end a line (and so a comment) in JavaScript: escaped wherever user text lands in the module. */
export const escapeSeparators = (js: string) => js.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

export function moduleSpec(program: TrainingProgram, cfg: TrainerConfig, schedule: Schedule) {
  const c = program.model;
  const B = c.batch, T = program.seq;
  const targetStep = c.target.kind === 'class' ? [B] : [B, ...c.target.shape]; // one step's target
  const targetShape = c.lossOn === 'every' ? [T, ...targetStep] : targetStep;
  // dense arrays: the module's float type; a float64 module also takes Float32Array (widened exactly)
  const dense = { dtype: cfg.float, accepts: cfg.float === 'f32' ? ['f32'] : ['f64', 'f32'] };
  return {
    cell: c.name,
    sizes: c.sizes,
    batch: B,
    seq: T,
    truncate: program.truncation.k1 === T && program.truncation.k2 === T ? null : program.truncation,
    float: cfg.float,
    loss: c.loss,
    lossOn: c.lossOn,
    opt: program.level,
    inputs: Object.fromEntries(c.inputs.map((i) => [i.name, i.kind === 'tokens' ? { dtype: 'i32', shape: [T, B], vocab: i.vocab } : { ...dense, shape: [T, B, ...i.shape] }])),
    // compiled with --lengths: a batch may carry lengths [B] and class targets of -100
    ...(c.lengths ? { lengths: { dtype: 'i32', shape: [B], ignoreIndex: -100 } } : {}),
    target: c.target.kind === 'class' ? { dtype: 'i32', shape: targetShape, classes: c.target.classes } : { ...dense, shape: targetShape },
    params: Object.fromEntries(schedule.params.map((p) => [p.name, p.shape])),
    state: Object.fromEntries(schedule.states.map((s) => [s.name, s.shape])),
    // each parameter's init scheme as the cell declared it (init.split parts included)
    init: Object.fromEntries(c.params.map((p) => [p.name, p.init])),
    optimizer: cfg.optimizer,
    clip: cfg.clip,
    seed: cfg.seed,
  };
}

/** `spec` as the text of a TypeScript object literal. */
export const specLiteral = (spec: object) => escapeSeparators(JSON.stringify(spec, null, 2));
