/**
 * `rnnc check`: is the compiled gradient right? Two independent comparisons in float64:
 * 1. the autodiff graph of the whole sequence (Scan VJP included) against central finite
 *    differences, without truncation (a truncated gradient is, by design, not the derivative);
 * 2. the generated trainer's lossAndGrad (with the requested truncation, compiled for f64)
 *    against the reference interpreter on the same graph;
 * and the loop itself: that graph (its forward and reverse Scans) against its full unrolling.
 */
import { gradcheck, randomInputs, relError } from '../ir/gradcheck.ts';
import { evaluate } from '../ir/interpret.ts';
import { differentiate } from '../ir/passes/differentiate.ts';
import { unroll } from '../ir/passes/unroll.ts';
import type { Tensor } from '../ir/tensor.ts';
import { verifiedPass } from '../ir/verify.ts';
import { compileTrainer } from './compile.ts';
import type { TracedCell } from './dsl/trace.ts';
import { sequenceGraph, type Truncation } from './layout.ts';
import { importGenerated } from './run-module.ts';

export interface CheckReport {
  readonly finiteDifferences: { maxRelError: number; worst: string; checked: number };
  readonly generatedCode: { maxRelError: number; worst: string };
  readonly unrolled: { maxRelError: number; worst: string };
}

interface GeneratedTrainer {
  params: Record<string, Float64Array>;
  grads: Record<string, Float64Array>;
  state: Record<string, Float64Array>;
  lossAndGrad(batch: { inputs: Record<string, Float64Array | Int32Array>; targets: Float64Array | Int32Array }): number;
}

/** Integer inputs drawn in range: token ids below the vocabulary, class targets below Y. */
function intBounds(c: TracedCell) {
  return (name: string) => (name === 'target' ? (c.target.classes ?? 2) : (c.inputs.find((i) => i.name === name)?.vocab ?? 2));
}

export async function checkCell(c: TracedCell, seq: number, truncation: Truncation, opts: { seed?: number; perInput?: number } = {}): Promise<CheckReport> {
  const wrt = c.params.map((p) => p.name);
  const full = sequenceGraph(c, seq, { k1: seq, k2: seq });
  const env = randomInputs(full, opts.seed ?? 1, intBounds(c));
  const fd = gradcheck(full, 'loss', wrt, env, { perInput: opts.perInput ?? 8 });

  const g = sequenceGraph(c, seq, truncation);
  const grad = verifiedPass('differentiate', differentiate, g, { loss: 'loss', wrt });
  const ref = evaluate(grad, env);
  const flat = evaluate(verifiedPass('unroll', unroll, grad), env);
  let unrolledWorst = 0, unrolledWhere = '';
  for (const [name, t] of Object.entries(ref)) {
    t.data.forEach((v, i) => {
      const e = relError(flat[name]!.data[i]!, v);
      if (e > unrolledWorst) [unrolledWorst, unrolledWhere] = [e, `${name}[${i}]: unrolled ${flat[name]!.data[i]}, scan ${v}`];
    });
  }
  const mod = await importGenerated<{ createTrainer(): GeneratedTrainer }>(compileTrainer(c, { seq, truncation, float: 'f64' }));
  const t = mod.createTrainer();
  for (const p of c.params) t.params[p.name]!.set(env[p.name]!.data);
  for (const s of c.states) t.state[s.name]!.set(env[s.name]!.data);
  const asArray = (x: Tensor) => (x.dtype === 'i32' ? Int32Array.from(x.data) : Float64Array.from(x.data));
  const inputs = Object.fromEntries(c.inputs.map((i) => [i.name, asArray(env[i.name]!)]));
  const loss = t.lossAndGrad({ inputs, targets: asArray(env.target!) });
  let worst = relError(loss, ref.loss!.data[0]!), where = `loss: ${loss} vs ${ref.loss!.data[0]}`;
  for (const p of c.params) {
    const a = t.grads[p.name]!, b = ref[`grad_${p.name}`]!.data;
    for (let i = 0; i < a.length; i++) {
      const e = relError(a[i]!, b[i]!);
      if (e > worst) [worst, where] = [e, `${p.name}[${i}]: generated ${a[i]}, reference ${b[i]}`];
    }
  }
  return { finiteDifferences: fd, generatedCode: { maxRelError: worst, worst: where }, unrolled: { maxRelError: unrolledWorst, worst: unrolledWhere } };
}
