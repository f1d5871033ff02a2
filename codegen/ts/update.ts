/** The TypeScript target's optimizer update: one loop over the whole parameter arena. */
import type { CodeBlockWriter } from 'ts-morph';
import type { OptimizerKind } from '../../ir/program.ts';

/** The update rule, over the whole parameter arena at once (PyTorch's formulas). */
export function writeUpdate(w: CodeBlockWriter, kind: OptimizerKind): void {
  w.write('function update(): void').block(() => {
    if (kind === 'sgd') {
      w.writeLine('const lr = hyper.lr;');
      w.writeLine('for (let i = 0; i < P.length; i++) P[i] -= lr * G[i];');
    } else if (kind === 'momentum') {
      // PyTorch's SGD momentum: m = μ m + g; p -= lr m
      w.writeLine('const lr = hyper.lr, mu = hyper.momentum;');
      w.write('for (let i = 0; i < P.length; i++)').block(() => {
        w.writeLine('M[i] = mu * M[i] + G[i];');
        w.writeLine('P[i] -= lr * M[i];');
      });
    } else {
      // Adam (Kingma & Ba 2015) with bias correction
      w.writeLine('stepCount[0]++;');
      w.writeLine('const { lr, beta1, beta2, eps } = hyper;');
      w.writeLine('const c1 = 1 - Math.pow(beta1, stepCount[0]), c2 = 1 - Math.pow(beta2, stepCount[0]);');
      w.write('for (let i = 0; i < P.length; i++)').block(() => {
        w.writeLine('const g = G[i];');
        w.writeLine('M[i] = beta1 * M[i] + (1 - beta1) * g;');
        w.writeLine('V[i] = beta2 * V[i] + (1 - beta2) * g * g;');
        w.writeLine('P[i] -= (lr * (M[i] / c1)) / (Math.sqrt(V[i] / c2) + eps);');
      });
    }
  });
}
