/** The cell DSL: what a cell file imports. */
export { cell, type CellDef, type CellOptions, type StepContext, type StepResult } from './cell.ts';
export { init, type Init } from './init.ts';
export { concat, exp, log, relu, sigmoid, stopGradient, tanh, Tensor } from './tensor.ts';
export { bidirectional, stack } from './layers.ts';
