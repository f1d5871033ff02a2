/** The library entry for compiling: traced cell + options -> generated module source. */
import { generateTrainer, type TrainerConfig } from '../codegen/host/trainer.ts';
import { tsTarget } from '../codegen/ts/target.ts';
import { defaultOptimizer, type OptimizerSpec } from '../codegen/host/runtime.ts';

export { defaultOptimizer };
import type { TracedCell } from './dsl/trace.ts';
import { planTraining } from './program.ts';
import type { Truncation } from './layout.ts';

export interface CompileOptions {
  readonly seq: number;
  readonly truncation?: Truncation;
  readonly float?: 'f32' | 'f64';
  readonly optimizer?: OptimizerSpec;
  readonly clip?: number | null;
  readonly seed?: number;
  /** Optimization level: 1 (default) runs every pass, 0 only differentiates (see passesAt). */
  readonly opt?: 0 | 1;
  /** Compile trainer.diagnose() (default false: its functions keep every step's states and gradients, which grows the arena). */
  readonly diagnose?: boolean;
}

export function compileTrainer(cell: TracedCell, opts: CompileOptions): string {
  const cfg: TrainerConfig = {
    float: opts.float ?? 'f32',
    optimizer: opts.optimizer ?? defaultOptimizer(),
    clip: opts.clip ?? null,
    seed: opts.seed ?? 1,
    diagnose: opts.diagnose ?? false,
  };
  return generateTrainer(planTraining(cell, opts.seq, opts.truncation ?? { k1: opts.seq, k2: opts.seq }, opts.opt ?? 1, opts.diagnose ?? false), cfg, tsTarget(cfg.float));
}
