/** The library entry for compiling: traced cell + options -> generated module source. */
import { generateTrainer, type TrainerConfig } from '../codegen/host/trainer.ts';
import { tsTarget } from '../codegen/ts/target.ts';
import { generateWebGpuTrainer } from '../codegen/wgsl/host.ts';
import { wasmTarget } from '../codegen/wasm/target.ts';
import { RnncError } from '../ir/error.ts';
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
  /** 'ts' (default): plain TypeScript loops; 'wasm': the kernels as WebAssembly SIMD (float32 only); 'webgpu': WGSL shaders and an asynchronous host on a GPUDevice. */
  readonly target?: 'ts' | 'wasm' | 'webgpu';
  /** WebGPU only: 'persistent' (default) runs each loop that allows it as one dispatch; 'per-step' dispatches every kernel of every step. */
  readonly gpuLoops?: 'persistent' | 'per-step';
}

export function compileTrainer(cell: TracedCell, opts: CompileOptions): string {
  const cfg: TrainerConfig = {
    float: opts.float ?? 'f32',
    optimizer: opts.optimizer ?? defaultOptimizer(),
    clip: opts.clip ?? null,
    seed: opts.seed ?? 1,
    diagnose: opts.diagnose ?? false,
  };
  if (opts.target === 'wasm' && cfg.float === 'f64') throw new RnncError('--target wasm computes in float32 only: use --float f32, or --target ts for float64');
  if (opts.diagnose && (cell.lengths || cell.layers)) throw new RnncError(`diagnose: not built ${cell.lengths ? 'with variable lengths (--lengths)' : 'for a model with a bidirectional layer'} yet; compile without --diagnose`);
  const program = planTraining(cell, opts.seq, opts.truncation ?? { k1: opts.seq, k2: opts.seq }, opts.opt ?? 1, opts.diagnose ?? false);
  if (opts.target === 'webgpu') return generateWebGpuTrainer(program, cfg, { loops: opts.gpuLoops });
  return generateTrainer(program, cfg, opts.target === 'wasm' ? wasmTarget() : tsTarget(cfg.float));
}
