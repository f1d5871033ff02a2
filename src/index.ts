/** rnnc as a library: trace a cell, lay it out over time, compile it, check it. `compile` is what `rnnc compile` runs. */
export * from './dsl/index.ts';
export { traceCell, stepLossGraph, type TracedCell, type TraceOptions } from './dsl/trace.ts';
export { sequenceGraph, predictGraph, parseTruncation, windowRunsOf, windowsOf, type Truncation } from './layout.ts';
export { compile, type CompiledModule, type ModuleOptions } from './compile-module.ts';
export { compileTrainer, defaultOptimizer, type CompileOptions } from './compile.ts';
export { checkCell } from './check.ts';
export { loadCell } from './load.ts';
export { printGraph } from '../ir/print.ts';
export { differentiate } from '../ir/passes/differentiate.ts';
export { evaluate } from '../ir/interpret.ts';
export { RnncError } from '../ir/error.ts';
