// Bad: an async step returns a Promise; tracing is synchronous (it used to say "an object with keys (none)").
import { cell, tanh, type StepContext, type StepResult } from '../../../src/dsl/index.ts';

const step = async ({ X, H }: Record<string, number>, { input, state, param }: StepContext): Promise<StepResult> => {
  const x = input('x', [X!]);
  const h = state('h', [H!]);
  const z = await Promise.resolve(param('weight_ih', [H!, X!]).mv(x));
  const h1 = tanh(z.add(h));
  return { next: { h: h1 }, output: h1 };
};

// a cell written in JavaScript has no types for TypeScript to check
export default cell('async_step', { X: 2, H: 3, Y: 2 }, step as unknown as () => StepResult); // ← error
