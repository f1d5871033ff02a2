/**
 * A hand-written BPTT for the Elman cell, min-char-rnn style: the oracle for the compiled Elman
 * backward (docs/pipeline.md, "How correctness is checked"). Plain loops over Float64Arrays, written from the
 * math and from nothing in src/ or ir/.
 *
 * PyTorch parameterisation (nn.RNN with tanh, then nn.Linear), per example b and step t:
 *
 *   h_t      = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)      weight_ih [H,X], weight_hh [H,H]
 *   logits_t = out_weight h_t + out_bias                         out_weight [Y,H], out_bias [Y]
 *   loss_t   = -log softmax(logits_t)[target_t]
 *
 * Layouts are time-major and row-major: x [T,B,X], targets [T,B] (class ids), h0 [B,H].
 *
 * Truncated BPTT (TBPTT(k1, k2)): a window ends at every multiple of k1 and at T and counts the
 * losses of the steps since the previous window's end (p); it runs steps [max(0, p - (k2 - k1)), e)
 * from the state at its start (taken without gradient) and back-propagates inside itself only:
 * dhnext is zero at e and nothing flows out of the window's first step. So a full window spans
 * [e - k2, e), and the last one, when k1 does not divide T, keeps the k2 - k1 steps of history
 * but has fewer loss steps. With k1 = k2 = k the windows tile the sequence (the last one shorter
 * when T mod k != 0, as PyTorch's detach-every-k loop); k = T is full BPTT. When k2 >= T every
 * window back-propagates to step 0.
 */

export interface ElmanParams {
  readonly weight_ih: Float64Array; // [H, X]
  readonly weight_hh: Float64Array; // [H, H]
  readonly bias_ih: Float64Array; // [H]
  readonly bias_hh: Float64Array; // [H]
  readonly out_weight: Float64Array; // [Y, H]
  readonly out_bias: Float64Array; // [Y]
}

export type ElmanGrads = { [K in keyof ElmanParams]: Float64Array };

export interface ElmanDims {
  readonly X: number;
  readonly H: number;
  readonly Y: number;
  readonly B: number;
  readonly T: number;
}

export interface OracleResult {
  /** Mean cross-entropy over all T*B positions. */
  readonly loss: number;
  /** Gradients of that same mean, the state's gradient stopped at every window boundary. */
  readonly grads: ElmanGrads;
  /** Gradient of the loss with respect to h0 (through the first window only). */
  readonly dh0: Float64Array;
  /** The state after the last step, [B, H]. */
  readonly h: Float64Array;
}

export const PARAM_NAMES = ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh', 'out_weight', 'out_bias'] as const;

/** Sizes read off the arrays (and checked against each other). */
export function dimsOf(p: ElmanParams, x: Float64Array, targets: ArrayLike<number>, h0: Float64Array): ElmanDims {
  const H = p.bias_ih.length, Y = p.out_bias.length, X = p.weight_ih.length / H;
  const B = h0.length / H, T = targets.length / B;
  const ok =
    Number.isInteger(X) && Number.isInteger(B) && Number.isInteger(T) &&
    p.weight_hh.length === H * H && p.bias_hh.length === H && p.out_weight.length === Y * H && x.length === T * B * X;
  if (!ok) throw new Error('elman oracle: inconsistent sizes');
  return { X, H, Y, B, T };
}

export function zeroGrads(p: ElmanParams): ElmanGrads {
  return {
    weight_ih: new Float64Array(p.weight_ih.length),
    weight_hh: new Float64Array(p.weight_hh.length),
    bias_ih: new Float64Array(p.bias_ih.length),
    bias_hh: new Float64Array(p.bias_hh.length),
    out_weight: new Float64Array(p.out_weight.length),
    out_bias: new Float64Array(p.out_bias.length),
  };
}

/** One step for every example: hOut[b] = tanh(W_ih x[t,b] + b_ih + W_hh hPrev[b] + b_hh). */
function cellForward(p: ElmanParams, d: ElmanDims, x: Float64Array, t: number, hPrev: Float64Array, hOut: Float64Array): void {
  const { X, H, B } = d;
  for (let b = 0; b < B; b++) {
    const xo = (t * B + b) * X;
    for (let i = 0; i < H; i++) {
      let a = p.bias_ih[i]! + p.bias_hh[i]!;
      for (let j = 0; j < X; j++) a += p.weight_ih[i * X + j]! * x[xo + j]!;
      for (let j = 0; j < H; j++) a += p.weight_hh[i * H + j]! * hPrev[b * H + j]!;
      hOut[b * H + i] = Math.tanh(a);
    }
  }
}

/**
 * Readout and cross-entropy of step t: returns the summed loss over the batch and writes
 * dlogits = (softmax - onehot(target)) * scale into `dy` [B, Y].
 */
function lossForward(p: ElmanParams, d: ElmanDims, h: Float64Array, targets: ArrayLike<number>, t: number, scale: number, dy: Float64Array): number {
  const { H, Y, B } = d;
  let sum = 0;
  const ys = new Float64Array(Y);
  for (let b = 0; b < B; b++) {
    let max = -Infinity;
    for (let k = 0; k < Y; k++) {
      let a = p.out_bias[k]!;
      for (let j = 0; j < H; j++) a += p.out_weight[k * H + j]! * h[b * H + j]!;
      ys[k] = a;
      max = Math.max(max, a);
    }
    let z = 0;
    for (let k = 0; k < Y; k++) z += Math.exp(ys[k]! - max);
    const target = targets[t * B + b]!;
    sum += -(ys[target]! - max - Math.log(z));
    for (let k = 0; k < Y; k++) dy[b * Y + k] = (Math.exp(ys[k]! - max) / z - (k === target ? 1 : 0)) * scale;
  }
  return sum;
}

/** Logits of every step for a given state sequence hs[t] [B,H] (for tests). */
export function readout(p: ElmanParams, h: Float64Array, Y: number, H: number): Float64Array {
  const B = h.length / H;
  const out = new Float64Array(B * Y);
  for (let b = 0; b < B; b++)
    for (let k = 0; k < Y; k++) {
      let a = p.out_bias[k]!;
      for (let j = 0; j < H; j++) a += p.out_weight[k * H + j]! * h[b * H + j]!;
      out[b * Y + k] = a;
    }
  return out;
}

/**
 * Back-propagate steps [from, to) of a stored forward pass: hs[t] is the state *before* step t
 * (hs[t + 1] the state after it). Steps in [lossFrom, to) contribute their loss times `scale`.
 * dhnext starts at zero at `to`; returns the gradient reaching hs[from] (not propagated further).
 */
function backwardSpan(
  p: ElmanParams, d: ElmanDims, x: Float64Array, targets: ArrayLike<number>, hs: readonly Float64Array[],
  from: number, to: number, lossFrom: number, scale: number, g: ElmanGrads,
): Float64Array {
  const { X, H, Y, B } = d;
  let dhnext: Float64Array = new Float64Array(B * H);
  const dy = new Float64Array(B * Y);
  for (let t = to - 1; t >= from; t--) {
    const h = hs[t + 1]!, hPrev = hs[t]!;
    const dh = new Float64Array(dhnext); // gradient from the future
    if (t >= lossFrom) {
      lossForward(p, d, h, targets, t, scale, dy);
      for (let b = 0; b < B; b++)
        for (let k = 0; k < Y; k++) {
          const dyk = dy[b * Y + k]!;
          g.out_bias[k] += dyk;
          for (let j = 0; j < H; j++) {
            g.out_weight[k * H + j] += dyk * h[b * H + j]!;
            dh[b * H + j] += p.out_weight[k * H + j]! * dyk;
          }
        }
    }
    const next = new Float64Array(B * H);
    for (let b = 0; b < B; b++) {
      const xo = (t * B + b) * X;
      for (let i = 0; i < H; i++) {
        const hv = h[b * H + i]!;
        const draw = (1 - hv * hv) * dh[b * H + i]!; // through tanh
        g.bias_ih[i] += draw;
        g.bias_hh[i] += draw;
        for (let j = 0; j < X; j++) g.weight_ih[i * X + j] += draw * x[xo + j]!;
        for (let j = 0; j < H; j++) {
          g.weight_hh[i * H + j] += draw * hPrev[b * H + j]!;
          next[b * H + j] += p.weight_hh[i * H + j]! * draw;
        }
      }
    }
    dhnext = next;
  }
  return dhnext;
}

/** Windows of k steps (the last one shorter when T mod k != 0): [start, end) pairs. */
export function tbpttWindows(T: number, k: number): [number, number][] {
  const out: [number, number][] = [];
  for (let s = 0; s < T; s += k) out.push([s, Math.min(T, s + k)]);
  return out;
}

export interface WindowResult {
  readonly start: number;
  readonly end: number;
  /** Mean loss over the window's (end - start) * B positions. */
  readonly loss: number;
  /** Gradient of that window mean (fresh arrays). */
  readonly grads: ElmanGrads;
  /** The state at the window's end, [B, H]. */
  readonly h: Float64Array;
}

/**
 * Classic TBPTT with windows of k steps, the trainer's `step` semantics: each window runs forward
 * from the carried state, computes its mean loss and its gradient, then `update` (if given) may
 * change `params` in place before the next window (e.g. SGD); the state carries over without
 * gradient. With no update, the windows' losses and gradients are those of the fixed parameters.
 */
export function windowSteps(
  params: ElmanParams, x: Float64Array, targets: ArrayLike<number>, h0: Float64Array, opts: { k: number },
  update?: (grads: ElmanGrads, w: WindowResult) => void,
): WindowResult[] {
  const d = dimsOf(params, x, targets, h0);
  const out: WindowResult[] = [];
  let h: Float64Array = new Float64Array(h0);
  for (const [s, e] of tbpttWindows(d.T, opts.k)) {
    const r = runWindow(params, d, x, targets, h, s, e, 1 / ((e - s) * d.B));
    const w: WindowResult = { start: s, end: e, loss: r.lossSum / ((e - s) * d.B), grads: r.grads, h: r.h };
    out.push(w);
    h = r.h;
    update?.(r.grads, w);
  }
  return out;
}

/**
 * Forward over steps [s, e) from state h (states stored: hs[t] is the state before step t), then
 * backward inside the window; the losses of steps [lossFrom, e) count (all of them by default).
 */
function runWindow(p: ElmanParams, d: ElmanDims, x: Float64Array, targets: ArrayLike<number>, h: Float64Array, s: number, e: number, scale: number, lossFrom = s) {
  const hs: Float64Array[] = [];
  hs[s] = h;
  let lossSum = 0;
  const dy = new Float64Array(d.B * d.Y);
  for (let t = s; t < e; t++) {
    hs[t + 1] = new Float64Array(d.B * d.H);
    cellForward(p, d, x, t, hs[t]!, hs[t + 1]!);
    if (t >= lossFrom) lossSum += lossForward(p, d, hs[t + 1]!, targets, t, 1, dy);
  }
  const grads = zeroGrads(p);
  const dhStart = backwardSpan(p, d, x, targets, hs, s, e, lossFrom, scale, grads);
  return { lossSum, grads, dhStart, h: hs[e]!, hs };
}

/**
 * The windows of TBPTT(k1, k2): ends at every multiple of k1 below T and at T; with previous end
 * p, a window back-propagates [max(0, p - (k2 - k1)), e) (from step 0 when k2 >= T) and counts
 * the losses of [p, e).
 */
function k1k2Windows(T: number, k1: number, k2: number): { start: number; lossFrom: number; end: number }[] {
  if (!(k1 >= 1 && k2 >= k1)) throw new Error('elman oracle: need 1 <= k1 <= k2');
  const ends: number[] = [];
  for (let e = k1; e < T; e += k1) ends.push(e);
  ends.push(T);
  return ends.map((end, i) => {
    const lossFrom = i === 0 ? 0 : ends[i - 1]!;
    return { start: k2 >= T ? 0 : Math.max(0, lossFrom - (k2 - k1)), lossFrom, end };
  });
}

/**
 * `lossAndGrad` with windows of k: the mean loss over all T*B positions and its gradient with the
 * state's gradient stopped at each window boundary, i.e. the sum of the windows' contributions
 * (each window's loss sum scaled by 1/(T*B)), with no update in between.
 */
export function lossAndGrad(params: ElmanParams, x: Float64Array, targets: ArrayLike<number>, h0: Float64Array, opts: { k?: number } = {}): OracleResult {
  const d = dimsOf(params, x, targets, h0);
  const k = Math.min(opts.k ?? d.T, d.T);
  const grads = zeroGrads(params);
  let h: Float64Array = new Float64Array(h0);
  let lossSum = 0;
  let dh0: Float64Array = new Float64Array(d.B * d.H);
  for (const [s, e] of tbpttWindows(d.T, k)) {
    const r = runWindow(params, d, x, targets, h, s, e, 1 / (d.T * d.B));
    for (const n of PARAM_NAMES) for (let i = 0; i < grads[n].length; i++) grads[n][i] += r.grads[n][i]!;
    lossSum += r.lossSum;
    if (s === 0) dh0 = r.dhStart;
    h = r.h; // carried over without gradient: dhnext restarts at zero in the next window
  }
  return { loss: lossSum / (d.T * d.B), grads, dh0, h };
}

/**
 * The general form TBPTT(k1, k2), written independently of `lossAndGrad`: one forward pass over
 * the whole sequence stores every state (truncation changes no forward value); then for each
 * window end e (every multiple of k1 below T, and T) with previous end p, back-propagate steps
 * [max(0, p - (k2 - k1)), e), counting the losses of steps [p, e), with dhnext = 0 at e. Loss and
 * gradients are of the mean over all T*B positions.
 */
export function lossAndGradK1K2(params: ElmanParams, x: Float64Array, targets: ArrayLike<number>, h0: Float64Array, opts: { k1: number; k2: number }): OracleResult {
  const d = dimsOf(params, x, targets, h0);
  const windows = k1k2Windows(d.T, opts.k1, opts.k2);
  const hs: Float64Array[] = [new Float64Array(h0)];
  let lossSum = 0;
  const dy = new Float64Array(d.B * d.Y);
  for (let t = 0; t < d.T; t++) {
    hs.push(new Float64Array(d.B * d.H));
    cellForward(params, d, x, t, hs[t]!, hs[t + 1]!);
    lossSum += lossForward(params, d, hs[t + 1]!, targets, t, 1, dy);
  }
  const grads = zeroGrads(params);
  let dh0: Float64Array = new Float64Array(d.B * d.H);
  for (const { start, lossFrom, end } of windows) {
    const dStart = backwardSpan(params, d, x, targets, hs, start, end, lossFrom, 1 / (d.T * d.B), grads);
    // only the first window reaches h0: a later window that also starts at step 0 is handed h0 by
    // the window before it, like any carried state, without gradient
    if (lossFrom === 0) dh0 = dStart;
  }
  return { loss: lossSum / (d.T * d.B), grads, dh0, h: hs[d.T]! };
}

export interface K1K2WindowResult {
  /** First step run (from the carried state); the window back-propagates steps [start, end). */
  readonly start: number;
  /** Steps [lossFrom, end) carry the window's loss (lossFrom is the previous window's end). */
  readonly lossFrom: number;
  readonly end: number;
  /** Mean loss over the window's (end - lossFrom) * B loss positions. */
  readonly loss: number;
  /** Gradient of that window mean (fresh arrays), at the parameters the window ran with. */
  readonly grads: ElmanGrads;
  /** The state handed to the next window (at its first step), or the final state after the last. */
  readonly carry: Float64Array;
}

/**
 * TBPTT(k1, k2) with `step` semantics: window after window, each runs forward from the state
 * carried to its first step, with the parameters as they are now (after the earlier windows'
 * updates), computes the mean loss of its loss steps and its gradient inside itself only, hands
 * the next window the state at that window's first step (taken from this forward pass, before the
 * update, without gradient), and then `update` (if given) may change `params` in place.
 *
 * Windows are as in `lossAndGradK1K2`: ends at every multiple of k1 below T and at T; with
 * previous end p, a window runs [max(0, p - (k2 - k1)), e) (from step 0 when k2 >= T). The
 * k2 - k1 steps of history before p are therefore run twice: once as loss steps of the window
 * before (at its parameters), once as history here, recomputed at the updated parameters from
 * the state carried to them. With no update, every window sees the same parameters and the
 * windows' contributions sum to `lossAndGradK1K2` (each weighted by its share of the positions).
 */
export function windowStepsK1K2(
  params: ElmanParams, x: Float64Array, targets: ArrayLike<number>, h0: Float64Array, opts: { k1: number; k2: number },
  update?: (grads: ElmanGrads, w: K1K2WindowResult) => void,
): K1K2WindowResult[] {
  const d = dimsOf(params, x, targets, h0);
  const windows = k1k2Windows(d.T, opts.k1, opts.k2);
  const out: K1K2WindowResult[] = [];
  let h: Float64Array = new Float64Array(h0); // the state at the next window's first step
  windows.forEach(({ start, lossFrom, end }, i) => {
    const positions = (end - lossFrom) * d.B;
    const r = runWindow(params, d, x, targets, h, start, end, 1 / positions, lossFrom);
    const carry = new Float64Array(r.hs[i + 1 < windows.length ? windows[i + 1]!.start : end]!);
    const w: K1K2WindowResult = { start, lossFrom, end, loss: r.lossSum / positions, grads: r.grads, carry };
    out.push(w);
    h = carry;
    update?.(r.grads, w);
  });
  return out;
}
