/** The TypeScript target's optimizer update: one loop over the whole parameter arena. */
import type { CodeBlockWriter } from 'ts-morph';
import type { OptimizerKind } from '../../ir/program.ts';

/** The update rule, over the whole parameter arena at once (PyTorch's formulas). */
export function writeUpdate(w: CodeBlockWriter, kind: OptimizerKind): void {
  w.write('function update(): void').block(() => {
    switch (kind) {
      case 'sgd':
        w.writeLine('const lr = hyper.lr;');
        w.writeLine('for (let i = 0; i < P.length; i++) P[i] -= lr * G[i];');
        return;
      case 'momentum':
        // PyTorch's SGD momentum: m = μ m + g; p -= lr m
        w.writeLine('const lr = hyper.lr, mu = hyper.momentum;');
        w.write('for (let i = 0; i < P.length; i++)').block(() => {
          w.writeLine('M[i] = mu * M[i] + G[i];');
          w.writeLine('P[i] -= lr * M[i];');
        });
        return;
      case 'adam':
      case 'adamw':
        // Adam (Kingma & Ba 2015) with bias correction; AdamW (Loshchilov & Hutter 2019) first
        // decays the parameter itself, decoupled from the gradient's moments, as torch.optim.AdamW
        w.writeLine('stepCount[0]++;');
        w.writeLine(`const { lr, beta1, beta2, eps${kind === 'adamw' ? ', weightDecay' : ''} } = hyper;`);
        w.writeLine('const c1 = 1 - Math.pow(beta1, stepCount[0]), c2 = 1 - Math.pow(beta2, stepCount[0]);');
        if (kind === 'adamw') w.writeLine('const decay = 1 - lr * weightDecay;');
        w.write('for (let i = 0; i < P.length; i++)').block(() => {
          w.writeLine('const g = G[i];');
          if (kind === 'adamw') w.writeLine('P[i] *= decay;');
          w.writeLine('M[i] = beta1 * M[i] + (1 - beta1) * g;');
          w.writeLine('V[i] = beta2 * V[i] + (1 - beta2) * g * g;');
          w.writeLine('P[i] -= (lr * (M[i] / c1)) / (Math.sqrt(V[i] / c2) + eps);');
        });
        return;
      case 'rmsprop':
        // torch.optim.RMSprop (no momentum, not centered): v = α v + (1 − α) g²; p -= lr g / (√v + ε)
        w.writeLine('stepCount[0]++;');
        w.writeLine('const { lr, alpha, eps } = hyper;');
        w.write('for (let i = 0; i < P.length; i++)').block(() => {
          w.writeLine('const g = G[i];');
          w.writeLine('V[i] = alpha * V[i] + (1 - alpha) * g * g;');
          w.writeLine('P[i] -= (lr * g) / (Math.sqrt(V[i]) + eps);');
        });
        return;
    }
  });
}
