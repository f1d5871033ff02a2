/**
 * Gradient checks in float64 against the reference interpreter: the oracle for autodiff.
 *
 * The numeric derivative of each coordinate is a Richardson extrapolation of central differences
 * at h, 2h and 4h (the 4-point stencil at h and at 2h, extrapolated once more), with a power-of-two
 * step scaled to the coordinate and an error estimate from the two 4-point values. Where a stencil point changes the sign of the
 * operand of an op with a kink (relu's input), the loss is not smooth across the stencil and the
 * difference is no derivative: smaller steps are tried, and a coordinate that still crosses one is
 * reported as at a kink and left out of the comparison.
 */
import { graphNodes, makeGraph, type Graph } from './graph.ts';
import { evaluate } from './interpret.ts';
import type { Node } from './node.ts';
import { opDefs } from './ops/registry.ts';
import { differentiate } from './passes/differentiate.ts';
import { unroll } from './passes/unroll.ts';
import { tensor, type Tensor } from './tensor.ts';
import { verifiedPass } from './verify.ts';

/** A small seeded generator (mulberry32): tests and checks are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random values for every input of `g`: floats in [-1, 1], integers in [0, bound) from `intBound`. */
export function randomInputs(g: Graph, seed: number, intBound: (name: string) => number = () => 2): Record<string, Tensor> {
  const rand = rng(seed);
  const env: Record<string, Tensor> = {};
  for (const n of g.inputs) {
    const name = n.attr<string>('name');
    const t = tensor(n.dtype, n.shape);
    for (let i = 0; i < t.data.length; i++) t.data[i] = n.dtype === 'i32' ? Math.floor(rand() * intBound(name)) : 2 * rand() - 1;
    env[name] = t;
  }
  return env;
}

/**
 * The magnitude below which `relError` measures against a fixed floor instead: it makes
 * `relError(a, b) <= tol` the same test as "not above both atol = tol·GRAD_FLOOR and rtol = tol"
 * (see `Tolerance`), the form the op and cell tests use.
 */
export const GRAD_FLOOR = 1e-4;

/** |a - b| relative to the larger magnitude, or to `floor` when both are smaller. */
export function relError(a: number, b: number, floor = GRAD_FLOOR): number {
  const e = Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), floor);
  return Number.isNaN(e) ? Infinity : e;
}

// ── tolerances

/**
 * As PyTorch's gradcheck: a value fails when its absolute error is above `atol` and its relative
 * error above `rtol`, both. The relative test alone cannot judge gradients near zero, whose
 * finite differences carry an absolute error of their own; the absolute test alone cannot judge
 * large ones.
 */
export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
}

/**
 * The default of `rnnc check`. The finite differences below are accurate to about 1e-10 on the
 * stock cells with random weights (whose logits reach tens), so atol leaves them a factor of ten;
 * a gradient 1e-4 off in relative terms is still above it for any coordinate larger than 1e-5.
 */
export const DEFAULT_TOLERANCE: Tolerance = { atol: 1e-9, rtol: 1e-6 };

/** One value against its reference, and how far apart they are. */
export interface Compared {
  readonly where: string;
  readonly value: number;
  readonly reference: number;
  readonly abs: number;
  /** abs relative to the larger magnitude (no floor: that is what atol is for); 0 when both are 0. */
  readonly rel: number;
}

export function compared(where: string, value: number, reference: number): Compared {
  const abs = Math.abs(value - reference);
  const scale = Math.max(Math.abs(value), Math.abs(reference));
  const rel = abs === 0 ? 0 : abs / scale;
  // a NaN or an infinity on either side is as far as it gets
  return Number.isNaN(abs) ? { where, value, reference, abs: Infinity, rel: Infinity } : { where, value, reference, abs, rel };
}

/** How far past the tolerance a value is: min(abs/atol, rel/rtol); it fails above 1 (both exceeded). */
export function excess(c: Compared, tol: Tolerance): number {
  return Math.min(c.abs / tol.atol, c.rel / tol.rtol);
}

/** Many values compared: their largest errors, how many fail, and the worst. */
export interface Summary {
  readonly count: number;
  readonly maxAbs: number;
  readonly maxRel: number;
  readonly failures: number;
  /** The value of largest `excess`: the one that decides whether this comparison passes. */
  /** The value of largest `excess`: closest to failing, or furthest past it; it decides the comparison. */
  readonly worst: Compared | undefined;
}

export function summarize(values: Iterable<Compared>, tol: Tolerance): Summary {
  let count = 0, maxAbs = 0, maxRel = 0, failures = 0, top = -1;
  let worst: Compared | undefined;
  for (const c of values) {
    count++;
    maxAbs = Math.max(maxAbs, c.abs);
    maxRel = Math.max(maxRel, c.rel);
    const e = excess(c, tol);
    if (e > 1) failures++;
    if (e > top) [top, worst] = [e, c];
  }
  return { count, maxAbs, maxRel, failures, worst };
}

// ── the numeric derivative of one coordinate

/** The first step tried, about ε^(1/5): the truncation error (h⁴, h⁶ in the value) against rounding (ε/h). */
const BASE_STEP = 2 ** -12;
/** Each retry at a kink divides the step by this, twice; below that rounding would swamp the result. */
const SHRINK = 8;
const TRIES = 3;
/**
 * The rounding error of one evaluation of the loss, in ulps of its value. Measured on the stock
 * cells at their default sizes (seeds 1-10, 880 coordinates each, 4400 in all): with 2 the actual
 * error is at most 0.6 of the estimate; with 1 it is above the estimate at 1% of them.
 */
const ROUND_ULPS = 2;

/**
 * The step for a coordinate of value x: BASE_STEP times the power of two at or below max(|x|, 1).
 * A power of two is a multiple of x's ulp, so x ± k·h are exact while they stay in x's binade, and
 * off by at most 2^-40 of the step when they leave it: the stencil is symmetric to that.
 */
export function stepFor(x: number, base = BASE_STEP): number {
  return base * 2 ** Math.floor(Math.log2(Math.max(Math.abs(x), 1)));
}

/** The stencil's offsets, in steps: central differences at h, 2h and 4h. */
export const OFFSETS = [-4, -2, -1, 1, 2, 4] as const;

export interface Derivative {
  readonly value: number;
  /** Estimated absolute error of `value`: truncation (from a second extrapolation) plus rounding. */
  readonly estimate: number;
  readonly step: number;
}

/**
 * f'(x) from f at x + k·h for each k of OFFSETS (`at(k)`). Central differences D(h) err by
 * c₂h² + c₄h⁴ + c₆h⁶ + …; R(h) = (4·D(h) - D(2h))/3 (the 4-point stencil) cancels the h² term
 * and errs by a·h⁴ + b·h⁶, R(2h) by 16·a·h⁴ + 64·b·h⁶. So (16·R(h) - R(2h))/15, the value, errs by
 * about -3.2·b·h⁶, and |R(h) - R(2h)|/15 = |a·h⁴ + 4·b·h⁶| estimates R(h)'s error: an estimate of
 * the value's that is safe by one order of h. Rounding: the value's weights on the six f add up
 * to 1.65/h in absolute value, so an error δ in each f costs 1.65·δ/h.
 */
export function richardson(at: (k: number) => number, h: number): Derivative {
  const f = new Map<number, number>(OFFSETS.map((k) => [k, at(k)]));
  const d = (k: number) => (f.get(k)! - f.get(-k)!) / (2 * k * h);
  const r1 = (4 * d(1) - d(2)) / 3, r2 = (4 * d(2) - d(4)) / 3;
  const delta = ROUND_ULPS * Number.EPSILON * Math.max(...[...f.values()].map(Math.abs));
  return { value: r1 + (r1 - r2) / 15, estimate: Math.abs(r1 - r2) / 15 + (1.65 * delta) / h, step: h };
}

// ── kinks

/**
 * A graph whose outputs are the operands of every kinked op of `g`, one per step (Scans
 * unrolled: a relu in a Scan body is one operand per step), or undefined when `g` has none.
 */
export function kinkProbe(g: Graph): Graph | undefined {
  const flat = verifiedPass('unroll', unroll, g);
  const operands = new Map<number, Node>();
  // which ops have kinks is part of each op's one definition (OpDef.kinked)
  for (const n of graphNodes(flat)) if (opDefs[n.op].kinked) operands.set(n.srcs[0]!.id, n.srcs[0]!);
  if (operands.size === 0) return undefined;
  return makeGraph(flat.inputs, Object.fromEntries([...operands.values()].map((n, i) => [`operand${i}`, n])));
}

/** The side of 0 of every probed operand value, as one string (branches taken: x > 0). */
export function activationPattern(probe: Graph, env: Readonly<Record<string, Tensor>>): string {
  return Object.values(evaluate(probe, env)).map((t) => Array.from(t.data, (v) => (v > 0 ? '1' : '0')).join('')).join('|');
}

// ── the check

/** One coordinate of one input: the analytic gradient against the numeric one. */
export interface FdCoordinate {
  readonly where: string;
  readonly analytic: number;
  /** The numeric derivative; undefined at a kink. */
  readonly numeric: Derivative | undefined;
}

export interface GradcheckResult {
  /** Every coordinate checked, those at a kink included (with no numeric value). */
  readonly coordinates: readonly FdCoordinate[];
  /** Coordinates compared: those not at a kink. */
  readonly checked: number;
  /** Coordinates left out: every stencil tried changed the sign of a kinked op's operand. */
  readonly kinks: readonly string[];
  /** Whether `g` has kinked ops at all (then `kinks` was looked for). */
  readonly probed: boolean;
  /** Largest `relError` of analytic against numeric over the compared coordinates. */
  readonly maxRelError: number;
  readonly worst: string;
}

/** `count` distinct indices below n, drawn by `rand`, in ascending order; all of them when n <= count. */
export function pickIndices(n: number, count: number, rand: () => number): number[] {
  if (n <= count) return [...Array(n).keys()];
  const picked = new Set<number>();
  while (picked.size < count) picked.add(Math.floor(rand() * n));
  return [...picked].sort((a, b) => a - b);
}

/**
 * f'(x) for coordinate i of `x`, with `loss()` evaluating at the current values: the first step
 * whose stencil keeps every kinked operand on its side of 0 (`pattern()`, against `base`), or
 * undefined when none does. `x[i]` is restored.
 */
function derivative(x: Float64Array, i: number, loss: () => number, pattern: (() => string) | undefined, base: string): Derivative | undefined {
  const saved = x[i]!;
  try {
    for (let t = 0, h = stepFor(saved); t < TRIES; t++, h /= SHRINK) {
      let crossed = false;
      const d = richardson((k) => {
        x[i] = saved + k * h;
        crossed ||= pattern !== undefined && pattern() !== base;
        return loss();
      }, h);
      if (!crossed) return d;
    }
    return undefined;
  } finally {
    x[i] = saved;
  }
}

/**
 * Finite differences of the scalar output `loss` with respect to each `wrt` input, on up to
 * `perInput` distinct coordinates of each (drawn from `seed`), against the gradient graph's values.
 */
export function gradcheck(g: Graph, loss: string, wrt: readonly string[], env: Record<string, Tensor>, opts: { perInput?: number; seed?: number } = {}): GradcheckResult {
  const grads = evaluate(verifiedPass('differentiate', differentiate, g, { loss, wrt }), env);
  const probe = kinkProbe(g);
  const pattern = probe && (() => activationPattern(probe, env));
  const base = pattern ? pattern() : '';
  const f = () => evaluate(g, env)[loss]!.data[0]!;
  const rand = rng(opts.seed ?? 7);
  const coordinates: FdCoordinate[] = [];
  for (const name of wrt) {
    const x = env[name]!.data;
    for (const i of pickIndices(x.length, opts.perInput ?? 24, rand)) {
      coordinates.push({ where: `${name}[${i}]`, analytic: grads[`grad_${name}`]!.data[i]!, numeric: derivative(x, i, f, pattern, base) });
    }
  }
  let maxRelError = 0, worst = '';
  for (const c of coordinates) {
    if (!c.numeric) continue;
    const e = relError(c.analytic, c.numeric.value);
    if (e > maxRelError) [maxRelError, worst] = [e, `${c.where}: analytic ${c.analytic}, numeric ${c.numeric.value}`];
  }
  const kinks = coordinates.filter((c) => !c.numeric).map((c) => c.where);
  return { coordinates, checked: coordinates.length - kinks.length, kinks, probed: probe !== undefined, maxRelError, worst };
}

/** The compared coordinates as values against references: analytic against numeric. */
export function fdCompared(r: GradcheckResult): Compared[] {
  return r.coordinates.flatMap((c) => (c.numeric ? [compared(c.where, c.analytic, c.numeric.value)] : []));
}
