/**
 * `rnnc check`: is the compiled gradient right? Two independent comparisons in float64:
 * 1. the autodiff graph of the whole sequence (Scan VJP included) against finite differences,
 *    without truncation (a truncated gradient is, by design, not the derivative);
 * 2. the generated trainer's lossAndGrad (with the requested truncation, compiled for f64)
 *    against the reference interpreter on the same graph;
 * and the loop itself: that graph (its forward and reverse Scans) against its full unrolling.
 * Every value is judged by one rule (`Tolerance`: it fails when above both atol and rtol), and the
 * worst value over all three (closest to failing, or furthest past it) decides the verdict.
 */
import { RnncError } from '../ir/error.ts';
import { compared, DEFAULT_TOLERANCE, excess, fdCompared, gradcheck, randomInputs, rng, summarize, type Compared, type GradcheckResult, type Summary, type Tolerance } from '../ir/gradcheck.ts';
import { evaluate } from '../ir/interpret.ts';
import { differentiate } from '../ir/passes/differentiate.ts';
import { unroll } from '../ir/passes/unroll.ts';
import type { Tensor } from '../ir/tensor.ts';
import { verifiedPass } from '../ir/verify.ts';
import { compileTrainer } from './compile.ts';
import type { TracedCell } from './dsl/trace.ts';
import { sequenceGraph, type Truncation } from './layout.ts';
import { importGenerated } from './run-module.ts';

/** One of the three comparisons: what is compared with what, and the summary of its values. */
export interface Section extends Summary {
  readonly title: string;
  /** What `value` and `reference` of each compared value are: 'analytic' and 'numeric', … */
  readonly labels: readonly [string, string];
}

export interface FdSection extends Section {
  /** Coordinates left out, each at a kink (see ir/gradcheck.ts). */
  readonly kinks: readonly string[];
  /** Whether the cell has ops with kinks, so that kinks were looked for. */
  readonly probed: boolean;
  /** The largest error estimate of the numeric derivatives compared, and that of `worst`. */
  readonly maxEstimate: number;
  readonly worstEstimate: number;
  /** Compared coordinates whose numeric derivative is not known to within the tolerance (its error estimate exceeds both): a failure there may be the oracle's. */
  readonly unresolved: number;
}

export interface CheckReport {
  readonly tolerance: Tolerance;
  readonly finiteDifferences: FdSection;
  readonly generatedCode: Section;
  readonly unrolled: Section;
  /** The value of largest excess over the three sections, and its section: it decides `ok`. */
  readonly decidedBy: { readonly section: Section; readonly value: Compared } | undefined;
  readonly ok: boolean;
}

interface GeneratedTrainer {
  params: Record<string, Float64Array>;
  grads: Record<string, Float64Array>;
  state: Record<string, Float64Array>;
  lossAndGrad(batch: { inputs: Record<string, Float64Array | Int32Array>; targets: Float64Array | Int32Array; lengths?: Int32Array }): number;
}

/**
 * For a cell compiled with variable lengths: seeded lengths in 1..seq (the first sequence full),
 * the step mask and loss weight they make in `env` (as the trainer's host makes them), and the
 * trainer's targets, -100 at one counted position of the last sequence.
 */
function drawLengths(c: TracedCell, seq: number, env: Record<string, Tensor>, seed: number): { lengths: Int32Array; targets: Int32Array } | undefined {
  if (!c.lengths) return undefined;
  const B = c.batch, rand = rng(seed);
  const lengths = Int32Array.from({ length: B }, (_, b) => (b === 0 ? seq : 1 + Math.floor(rand() * seq)));
  const targets = Int32Array.from(env.target!.data);
  if (B > 1 && lengths[B - 1]! > 1) targets[B - 1] = -100; // step 0 of the last sequence
  const mask = env.__mask!, weight = env.__weight!;
  for (let t = 0; t < seq; t++) for (let b = 0; b < B; b++) {
    const i = t * B + b;
    mask.data[i] = t < lengths[b]! ? 1 : 0;
    weight.data[i] = targets[i] === -100 ? 0 : mask.data[i]!;
  }
  return { lengths, targets };
}

/** Integer inputs drawn in range: token ids below the vocabulary, class targets below Y. */
export function intBounds(c: TracedCell) {
  return (name: string) => (name === 'target' ? (c.target.classes ?? 2) : (c.inputs.find((i) => i.name === name)?.vocab ?? 2));
}

/** Each value of `a` against the same in `b`, as name[i]. */
function* arrayCompared(name: string, a: ArrayLike<number>, b: ArrayLike<number>): Generator<Compared> {
  for (let i = 0; i < b.length; i++) yield compared(`${name}[${i}]`, a[i]!, b[i]!);
}

/** Every value of every output of `a` against the same in `b`. */
function* outputsCompared(a: Record<string, Tensor>, b: Record<string, Tensor>): Generator<Compared> {
  for (const [name, t] of Object.entries(b)) yield* arrayCompared(name, a[name]!.data, t.data);
}

/** The generated trainer's loss and gradients for the values of `env`. */
async function generatedGradients(c: TracedCell, seq: number, truncation: Truncation, env: Record<string, Tensor>, lengths?: { lengths: Int32Array; targets: Int32Array }) {
  const mod = await importGenerated<{ createTrainer(): GeneratedTrainer }>(compileTrainer(c, { seq, truncation, float: 'f64' }));
  const t = mod.createTrainer();
  for (const p of c.params) t.params[p.name]!.set(env[p.name]!.data);
  for (const s of c.states) t.state[s.name]!.set(env[s.name]!.data);
  const asArray = (x: Tensor) => (x.dtype === 'i32' ? Int32Array.from(x.data) : Float64Array.from(x.data));
  const inputs = Object.fromEntries(c.inputs.map((i) => [i.name, asArray(env[i.name]!)]));
  const loss = t.lossAndGrad({ inputs, targets: lengths?.targets ?? asArray(env.target!), ...(lengths ? { lengths: lengths.lengths } : {}) });
  return { loss, grads: t.grads };
}

/** The finite differences' comparison: analytic against numeric on each coordinate not at a kink. */
export function fdSection(fd: GradcheckResult, tol: Tolerance): FdSection {
  const values = fdCompared(fd);
  const estimates = new Map(fd.coordinates.flatMap((x) => (x.numeric ? [[x.where, x.numeric.estimate] as const] : [])));
  const summary = summarize(values, tol);
  // the estimate itself judged as an error: above both tolerances, the oracle cannot tell a pass from a failure
  const unresolved = values.filter((v) => excess(compared(v.where, v.reference + estimates.get(v.where)!, v.reference), tol) > 1).length;
  return {
    title: 'autodiff vs finite differences', labels: ['analytic', 'numeric'], ...summary,
    kinks: fd.kinks, probed: fd.probed,
    maxEstimate: Math.max(0, ...estimates.values()),
    worstEstimate: summary.worst ? estimates.get(summary.worst.where)! : 0,
    unresolved,
  };
}

/**
 * What the check can hold: it evaluates the sequence in float64 in the reference interpreter, a few
 * dozen times, with every intermediate value of every step kept. Past this many values of the
 * parameters, state, inputs and saved steps it would run out of memory (or for hours) instead.
 */
export const CHECK_MAX_VALUES = 2 ** 24;

/**
 * The longest sequence the check runs: it evaluates the whole sequence, unrolled too, some thirty
 * times (measured on the stock LSTM: 55 s at T = 1,000, 9 min at T = 10,000). The Scan the trainer
 * runs is the same at every length, so a shorter check says as much about it.
 */
export const CHECK_MAX_SEQ = 500;

function checkFits(c: TracedCell, seq: number): void {
  if (seq > CHECK_MAX_SEQ) throw new RnncError(`--seq ${seq}: the check runs the whole sequence in float64 some thirty times (minutes past ${CHECK_MAX_SEQ} steps); give --seq ${CHECK_MAX_SEQ} or less: the step loop the trainer runs is the same at every length`);
  const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  const params = c.params.reduce((a, p) => a + size(p.shape), 0);
  // per step: the state and the inputs of the whole batch, a few times over for the values in between
  const perStep = c.batch * (c.states.reduce((a, s) => a + size(s.shape), 0) + c.inputs.reduce((a, i) => a + size(i.shape), 0));
  const values = params + seq * perStep;
  if (values > CHECK_MAX_VALUES) {
    throw new RnncError(`these sizes hold ${values} values (${params} in the parameters, ${seq * perStep} in ${seq} steps of batch ${c.batch}), more than the ${CHECK_MAX_VALUES} the float64 check can run; the gradient's correctness does not depend on the sizes: check at smaller ones (--size, --batch, --seq)`);
  }
}

export async function checkCell(c: TracedCell, seq: number, truncation: Truncation, opts: { seed?: number; perInput?: number; tolerance?: Tolerance } = {}): Promise<CheckReport> {
  checkFits(c, seq);
  const tol = opts.tolerance ?? DEFAULT_TOLERANCE;
  const seed = opts.seed ?? 1;
  const wrt = c.params.map((p) => p.name);
  const full = sequenceGraph(c, seq, { k1: seq, k2: seq });
  const env = randomInputs(full, seed, intBounds(c));
  const lengths = drawLengths(c, seq, env, seed + 3);
  // the coordinates follow the seed too: ten seeds look at ten sets of them
  const fd = gradcheck(full, 'loss', wrt, env, { perInput: opts.perInput ?? 8, seed: seed + 6 });
  const finiteDifferences = fdSection(fd, tol);

  const g = sequenceGraph(c, seq, truncation);
  const grad = verifiedPass('differentiate', differentiate, g, { loss: 'loss', wrt });
  const ref = evaluate(grad, env);
  const flat = evaluate(verifiedPass('unroll', unroll, grad), env);
  const unrolled: Section = { title: 'scans vs their full unrolling', labels: ['unrolled', 'scan'], ...summarize(outputsCompared(flat, ref), tol) };

  const gen = await generatedGradients(c, seq, truncation, env, lengths);
  const genValues = function* () {
    yield compared('loss', gen.loss, ref.loss!.data[0]!);
    for (const p of c.params) yield* arrayCompared(p.name, gen.grads[p.name]!, ref[`grad_${p.name}`]!.data);
  };
  const generatedCode: Section = { title: 'generated trainer vs reference', labels: ['generated', 'reference'], ...summarize(genValues(), tol) };

  let decidedBy: CheckReport['decidedBy'];
  for (const section of [finiteDifferences, generatedCode, unrolled]) {
    if (section.worst && (!decidedBy || excess(section.worst, tol) > excess(decidedBy.value, tol))) decidedBy = { section, value: section.worst };
  }
  const ok = [finiteDifferences, generatedCode, unrolled].every((s) => s.failures === 0);
  return { tolerance: tol, finiteDifferences, generatedCode, unrolled, decidedBy, ok };
}

// ── the report as `rnnc check` prints it

const num = (x: number) => x.toExponential(2);
/** A tolerance as one would type it: 1e-9, not 0.000000001. */
const fmtTol = (x: number) => (x < 1e-3 ? x.toExponential() : String(x));

/** A compared value in words: where, both values, both errors (and the numeric error estimate). */
function describe(s: Section, c: Compared, estimate?: number): string {
  const est = estimate === undefined ? '' : `, numeric error estimate ${num(estimate)}`;
  return `${c.where}: ${s.labels[0]} ${c.value}, ${s.labels[1]} ${c.reference} (abs error ${num(c.abs)}, rel error ${num(c.rel)}${est})`;
}

/** How one value stands against each tolerance, the deciding one first: the one a passing value is within, or the nearer. */
function against(c: Compared, tol: Tolerance): string {
  const a = `abs error ${num(c.abs)} ${c.abs > tol.atol ? 'above' : 'within'} atol ${fmtTol(tol.atol)}`;
  const r = `rel error ${num(c.rel)} ${c.rel > tol.rtol ? 'above' : 'within'} rtol ${fmtTol(tol.rtol)}`;
  return c.abs / tol.atol <= c.rel / tol.rtol ? `${a}, ${r}` : `${r}, ${a}`;
}

function sectionLines(s: Section, pad: number, unit: string, estimate?: number): string[] {
  const head = `  ${`${s.title}:`.padEnd(pad)} ${s.count} ${unit}, max abs error ${num(s.maxAbs)}, max rel error ${num(s.maxRel)}`;
  // when every value is equal there is no worst one worth naming
  return [head, ...(s.worst && s.maxAbs > 0 ? [`    worst ${describe(s, s.worst, estimate)}`] : [])];
}

/** The finite differences' own lines: the error estimate, the kinks, coordinates the estimate cannot judge. */
export function fdLines(fd: FdSection, pad: number): string[] {
  const lines = sectionLines(fd, pad, 'coordinates', fd.worst ? fd.worstEstimate : undefined);
  lines[0] += `; numeric error estimate up to ${num(fd.maxEstimate)}`;
  if (fd.probed && fd.kinks.length === 0) lines.push('    none at a kink: no stencil point changed the sign of a relu input');
  if (fd.kinks.length) {
    const names = fd.kinks.slice(0, 8).join(', ') + (fd.kinks.length > 8 ? ', …' : '');
    lines.push(`    ${fd.kinks.length} more at a kink, left out of the maxima (at every step tried, a stencil point changes the sign of a relu input): ${names}`);
  }
  if (fd.unresolved) lines.push(`    ${fd.unresolved} coordinates with a numeric error estimate above both tolerances: a failure there may be the finite differences'`);
  return lines;
}

/** The lines of `rnnc check`'s report after its heading, the verdict last. */
export function formatReport(r: CheckReport): string[] {
  const fd = r.finiteDifferences;
  const pad = Math.max(...[fd, r.generatedCode, r.unrolled].map((s) => s.title.length + 1));
  const lines = [...fdLines(fd, pad), ...sectionLines(r.generatedCode, pad, 'values'), ...sectionLines(r.unrolled, pad, 'values')];
  const tol = `atol ${fmtTol(r.tolerance.atol)}, rtol ${fmtTol(r.tolerance.rtol)}`;
  const d = r.decidedBy;
  if (!d) return [...lines, `ok (${tol}): nothing to compare`];
  const where = `${d.value.where} in ${d.section.title}: ${against(d.value, r.tolerance)}`;
  if (r.ok) return [...lines, `ok (${tol}): decided by ${where}`];
  const failing = [fd, r.generatedCode, r.unrolled].reduce((n, s) => n + s.failures, 0);
  return [...lines, `FAILED (${tol}): ${failing} ${failing === 1 ? 'value' : 'values'} above both tolerances; decided by ${where}`];
}
