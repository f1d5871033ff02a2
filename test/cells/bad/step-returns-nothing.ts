// Bad: the step forgets to return.
import { cell, tanh, type StepContext, type StepResult } from '../../../src/dsl/index.ts';

// a cell written in JavaScript has no return type for TypeScript to check
const step = ({ X, H }: Record<string, number>, { input, state, param }: StepContext): void => {
  const x = input('x', [X!]);
  const h = state('h', [H!]);
  const W_ih = param('weight_ih', [H!, X!]);
  tanh(W_ih.mv(x).add(h));
};

export default cell('returns_nothing', { X: 2, H: 3, Y: 2 }, step as unknown as () => StepResult); // ← error
