/** Run a cell's builder once with bound sizes and turn what it returns into IR graphs. */
import * as b from '../../ir/build.ts';
import { fmtShape, RnncError, type Site } from '../../ir/error.ts';
import { inlineGraph, makeGraph, topoSort, type Graph } from '../../ir/graph.ts';
import type { Node } from '../../ir/node.ts';
import { gradients } from '../../ir/passes/differentiate.ts';
import { verifyGraph } from '../../ir/verify.ts';
import { bindSizes, Names, sizeProxy, stepContext, type CellDef, type InputInfo, type ParamInfo, type StateInfo, type StepContext } from './cell.ts';
import { layerContext, layerResult, layerSizes, layerSuffix } from './layers.ts';
import { callerSite, thrownSite } from './site.ts';
import { describe, isPlainObject, Tensor } from './tensor.ts';

import type { TargetInfo } from '../../ir/program.ts';

export type { TargetInfo };

export interface TracedCell {
  readonly def: CellDef;
  readonly sizes: Readonly<Record<string, number>>;
  readonly batch: number;
  readonly params: readonly ParamInfo[];
  readonly states: readonly StateInfo[];
  readonly inputs: readonly InputInfo[];
  readonly target: TargetInfo;
  readonly loss: 'ce' | 'mse';
  readonly lossOn: 'every' | 'last';
  /** One step: (params, states, inputs) -> (next state by state name..., output). Carries come first. */
  readonly step: Graph;
  /** The readout and loss of one position: (params, output, target) -> (logits, loss_sum, loss_rows); loss_sum sums over the batch, loss_rows [B] per example. */
  readonly head: Graph;
  /** Elements per position that the mean loss divides by (B for cross-entropy, B·Y for MSE). */
  readonly lossElements: number;
  /**
   * Compiled for variable lengths (docs/lengths.md): the step's 0/1 mask [B] (1 while a sequence
   * has not ended; the step's state update is held where it is 0) and the loss weight [B] of a
   * position (0 past the end or at an ignored target). Absent: every position of every sequence counts.
   */
  readonly lengths?: { readonly mask: Node; readonly weight: Node };
  /**
   * A model with a bidirectional layer (src/dsl/layers.ts): one Scan per layer and direction. Each
   * direction's step reads its parameters, its states and its step inputs (layer 0: the model's
   * inputs; above: the layer below's output, both directions concatenated, `__below_l<k>`).
   * `params`, `states` and `inputs` above are all of them; `step` is the first direction's.
   */
  readonly layers?: readonly TracedLayer[];
  /** Layered models: the readout and loss over `rows` positions at once ([rows, width] -> logits, loss_sum). */
  readonly headFor?: (rows: number) => Graph;
}

export interface TracedDirection {
  readonly reverse: boolean;
  readonly params: readonly Node[];
  readonly states: readonly StateInfo[];
  readonly xs: readonly Node[];
  /** (params, states, xs) -> (next value of each state by name, output). */
  readonly step: Graph;
}

export interface TracedLayer {
  readonly directions: readonly TracedDirection[];
}

export interface TraceOptions {
  readonly sizes?: Readonly<Record<string, number>>;
  readonly batch?: number;
  readonly lossOn?: 'every' | 'last';
  /** Overrides the cell's loss: softmax cross-entropy ('ce') or mean squared error ('mse'). */
  readonly loss?: 'ce' | 'mse';
  /** Dense vector inputs to feed from token ids through an `embedding` [V, X] table: name -> V. */
  readonly embed?: Readonly<Record<string, number>>;
  /** Variable lengths: batches may carry `lengths` [B] and targets ignored with -100. */
  readonly lengths?: boolean;
}

export function traceCell(def: CellDef, opts: TraceOptions = {}): TracedCell {
  const sizes = bindSizes(def, opts.sizes);
  const batch = opts.batch ?? 1;
  if (!Number.isInteger(batch) || batch <= 0) throw new RnncError(`batch size must be a positive integer, got ${batch}`, def.site);
  const names = new Names();
  const rec = { params: [] as ParamInfo[], states: [] as StateInfo[], inputs: [] as InputInfo[] };
  const ctx = stepContext(batch, names, rec, opts.embed);
  // each embedding named as it is asked for (`--embed x=5`, or `embed: { x: 5 }` in compile())
  const embedded = (name: string) => `--embed ${name}=${String(opts.embed![name])}`;
  for (const [name, vocab] of Object.entries(opts.embed ?? {})) {
    if (!/^[A-Za-z_]\w*$/.test(name)) throw new RnncError(`${embedded(name)}: '${name}' is not an input name`, def.site);
    if (typeof vocab !== 'number' || !Number.isSafeInteger(vocab) || vocab <= 0) throw new RnncError(`${embedded(name)}: the vocabulary size must be a positive integer below 2^53`, def.site);
  }
  if (def.layers?.some((l) => l.bidirectional)) return traceLayered(def, opts, sizes, batch, names, rec, ctx);
  const result: unknown = cellCode(def, 'step', () => readResult(def.step(sizeProxy(def, sizes), ctx)));
  const { outs: stepOuts, output } = checkStepResult(def, result, rec.states);
  for (const name of Object.keys(opts.embed ?? {})) {
    if (!rec.inputs.some((i) => i.name === name && i.kind === 'tokens')) {
      const vectors = rec.inputs.filter((i) => (i.kind === 'dense' && i.shape.length === 1) || Object.hasOwn(opts.embed!, i.name)).map((i) => `'${i.name}'`);
      throw new RnncError(`${embedded(name)}: the cell has no dense input '${name}' (${vectors.length ? `it has ${vectors.join(', ')}` : 'it has no vector input to embed'})`, def.site);
    }
  }
  if (rec.states.length === 0) throw new RnncError(`cell '${def.name}' declares no state: a recurrent cell needs one`, def.site);
  const step = makeGraph([...rec.params.map((p) => p.node), ...rec.states.map((s) => s.node), ...rec.inputs.map((i) => i.node)], stepOuts);
  verifyGraph(step, `cell '${def.name}' step`);

  const lossOn = opts.lossOn ?? def.options.lossOn ?? 'every';
  const lengths = lengthsArgs(def, opts, lossOn, batch);
  const head = traceHead(def, sizes, batch, names, output, rec.params, opts.loss ?? def.options.loss ?? 'ce', lengths?.weight);
  const traced: TracedCell = {
    def, sizes, batch, params: rec.params, states: rec.states, inputs: rec.inputs,
    target: head.target, loss: opts.loss ?? def.options.loss ?? 'ce', lossOn,
    step, head: head.graph, lossElements: head.elements, ...(lengths ? { lengths } : {}),
  };
  checkParamsReachLoss(traced);
  return traced;
}

/** The mask and the loss weight, rnnc's own values named as such (a cell's own 'mask' is its own). */
function lengthsArgs(def: CellDef, opts: TraceOptions, lossOn: 'every' | 'last', batch: number) {
  if (!opts.lengths) return undefined;
  if (lossOn !== 'every') throw new RnncError(`cell '${def.name}': variable lengths need a loss on every step (a last-step loss would read the padded last step, not each sequence's own)`, def.site);
  return { mask: b.arg('__mask', 'f32', [batch], 'input'), weight: b.arg('__weight', 'f32', [batch], 'input') };
}

/** The arg nodes of `role` that values read. */
function argsRead(outs: Record<string, Node>, role: string): Node[] {
  return topoSort(Object.values(outs)).filter((n) => n.op === 'arg' && n.attr<string>('role') === role);
}

/**
 * A model with a bidirectional layer: each layer and direction traced as a step of its own (the
 * reverse direction a second copy of the cell, its names suffixed _reverse, reading the same
 * inputs), the readout over the top layer's directions concatenated.
 */
function traceLayered(def: CellDef, opts: TraceOptions, sizes: Record<string, number>, batch: number, names: Names, rec: { params: ParamInfo[]; states: StateInfo[]; inputs: InputInfo[] }, ctx: StepContext): TracedCell {
  const lossOn = opts.lossOn ?? def.options.lossOn ?? 'every';
  if (lossOn !== 'every') throw new RnncError(`${def.name}: a model with a bidirectional layer needs a loss on every step (a last-step loss over both directions is not built)`, def.site);
  const seen = new Map<string, { shape: readonly number[]; tensor: Tensor }>();
  const layers: TracedLayer[] = [];
  let below: Tensor | undefined;
  def.layers!.forEach((layer, l) => {
    const directions: TracedDirection[] = [];
    const widths: number[] = [];
    for (const reverse of layer.bidirectional ? [false, true] : [false]) {
      const s0 = rec.states.length;
      const suffix = layerSuffix(l, reverse);
      // the model's inputs are read once: the reverse direction gets what the forward one got
      const lctx = layerContext(ctx, def.name, l, suffix, below, (name, shape, make) => {
        const hit = seen.get(name);
        if (hit) {
          if (!b.sameShape(hit.shape, shape)) throw new RnncError(`${def.name}: input '${name}' is read as ${fmtShape(shape)} and as ${fmtShape(hit.shape)}`, callerSite());
          return hit.tensor;
        }
        if (reverse) throw new RnncError(`${def.name}: the reverse direction of layer ${l} reads input '${name}', which the forward one does not`, callerSite());
        const tensor = make();
        seen.set(name, { shape, tensor });
        return tensor;
      });
      const raw = cellCode(layer.cell, 'step', () => readResult(layer.cell.step(layerSizes(sizeProxy(layer.cell, sizes), below), lctx)));
      const r = layerResult(def.name, l, raw);
      const renamed = { next: Object.fromEntries(Object.entries(r.next).map(([k, v]) => [`${k}${suffix}`, v])), output: r.output };
      const states = rec.states.slice(s0);
      if (states.length === 0) throw new RnncError(`cell '${layer.cell.name}' declares no state: a recurrent cell needs one`, layer.cell.site);
      const { outs, output } = checkStepResult(layer.cell, renamed, states);
      if (output.shape.length !== 1) throw new RnncError(`${def.name}: layer ${l}'s output must be a vector to be concatenated across directions, got ${fmtShape(output.shape)}`, output.site);
      widths.push(output.shape[0]!);
      const params = rec.params.map((p) => p.node).filter((p) => argsRead(outs, 'param').includes(p));
      const xs = argsRead(outs, 'input');
      const step = makeGraph([...params, ...states.map((s) => s.node), ...xs], outs);
      verifyGraph(step, `${def.name} layer ${l}${reverse ? ' reverse' : ''} step`);
      directions.push({ reverse, params, states, xs, step });
    }
    layers.push({ directions });
    const width = widths.reduce((a, w) => a + w, 0);
    below = new Tensor(b.arg(`__below_l${l + 1}`, 'f32', [batch, width], 'input'), true, def.site);
  });
  for (const name of Object.keys(opts.embed ?? {})) {
    if (!rec.inputs.some((i) => i.name === name && i.kind === 'tokens')) throw new RnncError(`cannot embed '${name}': the cell has no dense input of that name`, def.site);
  }
  const lengths = lengthsArgs(def, opts, lossOn, batch);
  const loss = opts.loss ?? def.options.loss ?? 'ce';
  const top = below!;
  const head = traceHead(def, sizes, batch, names, top, rec.params, loss, lengths?.weight);
  const headFor = (rows: number): Graph => {
    const out = new Tensor(b.arg('__top', 'f32', [rows, top.shape[0]!], 'input'), true, def.site);
    const weight = lengths ? b.arg('__weight', 'f32', [rows], 'input') : undefined;
    return traceHead(def, sizes, rows, new Names(), out, [], loss, weight).graph;
  };
  const first = layers[0]!.directions[0]!;
  const traced: TracedCell = {
    def, sizes, batch, params: rec.params, states: rec.states, inputs: rec.inputs,
    target: head.target, loss, lossOn, step: first.step, head: head.graph, lossElements: head.elements,
    ...(lengths ? { lengths } : {}), layers, headFor,
  };
  for (const p of rec.params) {
    const reaches = p.node === head.graph.inputs.find((n) => n === p.node) || layers.some((L) => L.directions.some((d) => d.params.includes(p.node)));
    if (!reaches) throw new RnncError(`parameter '${p.name}' ${fmtShape(p.shape)} does not reach the loss`, p.site ?? callerSite());
  }
  return traced;
}

const SHAPE_OF_RESULT = '{ next: { <state>: tensor, ... }, output: tensor }';

/**
 * The step's result, read while the cell's code runs: a getter on it is the cell's code and may
 * throw (its error is then the step's, at its line). `next` is copied to an object without a
 * prototype, so a state named like one of Object's methods is looked up as its own key only.
 */
function readResult(result: unknown): unknown {
  if (!isPlainObject(result) || !('next' in result) || !('output' in result)) return result;
  const { next, output } = result;
  return { next: isPlainObject(next) ? Object.assign(Object.create(null) as object, next) : next, output };
}

/**
 * An async step or readout returns a Promise, which rnnc cannot wait for: tracing is synchronous.
 * Its rejection is handled here (and dropped): the error reported is that it is a Promise.
 */
function isAsyncResult(v: unknown): v is Promise<unknown> {
  if (!(v instanceof Promise)) return false;
  v.catch(() => {});
  return true;
}

/** What the step returns: a next value for every state, and an output; the graph's outputs by name. */
function checkStepResult(def: CellDef, result: unknown, states: readonly StateInfo[]): { outs: Record<string, Node>; output: Tensor } {
  const cellIs = `cell '${def.name}'`;
  if (isAsyncResult(result)) throw new RnncError(`${cellIs}: the step returned a Promise: it must return { next, output } synchronously (an async function cannot be a step)`, def.site);
  if (!isPlainObject(result) || !('next' in result) || !('output' in result)) {
    throw new RnncError(`${cellIs}: the step returned ${describe(result)}; it must return ${SHAPE_OF_RESULT}`, def.site);
  }
  const { next, output } = result;
  if (!(output instanceof Tensor)) throw new RnncError(`${cellIs}: the step's output is ${describe(output)}, not a tensor`, def.site);
  if (output.isTokens) throw new RnncError(`${cellIs}: the step's output is token ids; it must be a float tensor (look them up in an embedding)`, output.site);
  if (!output.batched) throw new RnncError(`${cellIs}: the step's output ${fmtShape(output.shape)} is not per-example: ${NOT_PER_EXAMPLE}`, output.site);
  if (!isPlainObject(next)) throw new RnncError(`${cellIs}: next must be an object { <state>: tensor, ... }, got ${describe(next)}`, def.site);
  const declared = states.map((s) => `'${s.name}'`).join(', ');
  for (const [k, v] of Object.entries(next)) {
    if (!states.some((s) => s.name === k)) {
      throw new RnncError(`next has '${k}', which is not a declared state (the states are ${declared || 'none'})`, v instanceof Tensor ? v.site : def.site);
    }
  }
  const outs: Record<string, Node> = {};
  for (const s of states) {
    const v = next[s.name];
    const shape = fmtShape(s.shape);
    if (v === undefined) throw new RnncError(`state '${s.name}' is never updated: return it in next`, s.site);
    // not a tensor: it has no site of its own, and the state's declaration names what was expected
    if (!(v instanceof Tensor)) throw new RnncError(`next value of state '${s.name}' ${shape} is ${describe(v)}, not a tensor`, s.site);
    if (v.isTokens) throw new RnncError(`next value of state '${s.name}' ${shape} is token ids, not a float tensor`, v.site);
    if (!b.sameShape(v.shape, s.shape)) throw new RnncError(`state '${s.name}' is ${shape} but the step updates it with ${fmtShape(v.shape)}`, v.site);
    if (!v.batched) throw new RnncError(`next value of state '${s.name}' ${shape} is not per-example: ${NOT_PER_EXAMPLE}`, v.site);
    outs[s.name] = v.node;
  }
  outs.output = output.node;
  return { outs, output };
}

/** Why a value is not batched: only inputs and states vary per example (see Tensor.batched). */
const NOT_PER_EXAMPLE = "it does not depend on the step's inputs or state (it is made of parameters and numbers only, the same for every example)";

/**
 * Run the cell's own code (its step, its readout): an error that code throws itself, such as a
 * TypeError from a typo, is the cell's error at its line, not an internal error of rnnc.
 */
function cellCode<T>(def: CellDef, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof RnncError) throw e;
    if (!(e instanceof Error)) throw new RnncError(`cell '${def.name}': the ${what} threw ${describe(e)}`, def.site);
    const site = thrownSite(e);
    if (!site) throw e;
    throw new RnncError(`cell '${def.name}': the ${what} threw ${e.name}: ${e.message.split('\n')[0]}`, site);
  }
}

function traceHead(def: CellDef, sizes: Record<string, number>, batch: number, names: Names, output: Tensor, params: ParamInfo[], lossKind: 'ce' | 'mse', weight?: Node) {
  const site: Site | undefined = def.site;
  const first = params.length;
  const rec = { params, states: [] as StateInfo[], inputs: [] as InputInfo[] };
  const ctx = stepContext(batch, names, rec);
  const out = b.arg('output', 'f32', output.node.shape, 'input');
  const o = new Tensor(out, true, site);
  const readout = def.options.readout ?? 'linear';
  let logits: Tensor;
  if (readout === 'linear') {
    if (!('Y' in sizes)) throw new RnncError(`cell '${def.name}': the linear readout needs a size 'Y' (the number of classes or outputs)`, site);
    if (o.shape.length !== 1) throw new RnncError(`cell '${def.name}': the linear readout needs a vector output, got ${fmtShape(o.shape)}`, site);
    const fanIn = o.shape[0]!;
    const w = ctx.param('out_weight', [sizes.Y!, fanIn], { kind: 'uniform', bound: 1 / Math.sqrt(fanIn) });
    const bias = ctx.param('out_bias', [sizes.Y!], { kind: 'uniform', bound: 1 / Math.sqrt(fanIn) });
    logits = w.mv(o).add(bias);
  } else {
    logits = cellCode(def, 'readout', () => readout(sizeProxy(def, sizes), { param: ctx.param }, o));
    if (isAsyncResult(logits)) throw new RnncError(`cell '${def.name}': the readout returned a Promise: it must return the logits synchronously (an async function cannot be a readout)`, site);
    if (!(logits instanceof Tensor) || logits.isTokens || logits.shape.length !== 1 || !logits.batched) {
      const got = logits instanceof Tensor && !logits.batched && !logits.isTokens ? `${describe(logits)}, the same for every example` : describe(logits);
      throw new RnncError(`cell '${def.name}': the readout must return a per-example vector (the logits), got ${got}`, site);
    }
  }
  const Y = logits.shape[0]!;
  const loss = lossKind;
  // softmax over one class is 1 whatever the logits: its loss and every gradient are exactly 0
  if (loss === 'ce' && Y < 2) throw new RnncError(`cell '${def.name}': cross-entropy needs at least 2 classes, the readout has ${Y}${readout === 'linear' ? ` (Y=${Y})` : ''}: for regression use --loss mse (loss: 'mse')`, site);
  const target = loss === 'ce' ? b.arg('target', 'i32', [batch], 'target') : b.arg('target', 'f32', [batch, Y], 'target');
  const unweighted = loss === 'ce' ? b.softmaxCE(logits.node, target) : b.sqerr(logits.node, target);
  // with variable lengths each position's loss is weighted 0 (not counted) or 1
  const perElement = weight ? b.mul(unweighted, b.broadcast(b.reshape(weight, [batch, ...unweighted.shape.slice(1).map(() => 1)]), unweighted.shape)) : unweighted;
  const graph = makeGraph([...params.slice(first).map((p) => p.node), out, target, ...(weight ? [weight] : [])], { logits: logits.node, loss_sum: b.sumAll(perElement), loss_rows: loss === 'ce' ? perElement : b.sum(perElement, [1]) });
  verifyGraph(graph, `cell '${def.name}' readout`);
  const info: TargetInfo = loss === 'ce' ? { kind: 'class', classes: Y, shape: [] } : { kind: 'dense', shape: [Y] };
  return { graph, target: info, elements: loss === 'ce' ? batch : batch * Y };
}

/**
 * The next value of each state, by name. With variable lengths a sequence that has ended holds its
 * state: where(mask, next, old), so the state past its end is the state at its end.
 */
export function nextStates(c: TracedCell): Record<string, Node> {
  const outs: Record<string, Node> = {};
  for (const s of c.states) {
    const next = c.step.outputs[s.name]!;
    if (!c.lengths) outs[s.name] = next;
    else {
      const m = c.lengths.mask;
      outs[s.name] = b.where(b.broadcast(b.reshape(m, [c.batch, ...s.shape.map(() => 1)]), next.shape), next, s.node);
    }
  }
  return outs;
}

/** The graph inputs after the steps' own inputs: the mask (variable lengths only). */
export const maskArgs = (c: TracedCell): Node[] => (c.lengths ? [c.lengths.mask] : []);
/** The graph inputs of a loss: the target, and the loss weight (variable lengths only). */
export const targetArgs = (c: TracedCell, target: Node): Node[] => [target, ...(c.lengths ? [c.lengths.weight] : [])];

/** One step with its readout and mean loss: the graph `rnnc ir` prints and the step gradcheck uses. */
export function stepLossGraph(c: TracedCell): Graph {
  if (c.layers) throw new RnncError(`${c.def.name}: a model with a bidirectional layer has no single step (its backward direction runs from the end): look at the sequence (rnnc ir --seq N, rnnc dot --view unrolled)`, c.def.site);
  const target = c.head.inputs.find((n) => n.attr<string>('role') === 'target')!;
  const head = inlineGraph(c.head, { output: c.step.outputs.output! });
  const loss = b.scale(head.loss_sum!, 1 / c.lossElements);
  const outs: Record<string, Node> = nextStates(c);
  outs.loss = loss;
  return makeGraph([...c.params.map((p) => p.node), ...c.states.map((s) => s.node), ...c.inputs.map((i) => i.node), ...maskArgs(c), ...targetArgs(c, target)], outs);
}

function checkParamsReachLoss(c: TracedCell): void {
  if (c.layers) return; // checked per direction where the layers are traced
  const g = stepLossGraph(c);
  // through time a parameter can reach the loss via the state too: seed the next states as well
  const seeds = Object.values(g.outputs).map((n) => ({ node: n, cotangent: b.constant(1, n.shape, n.dtype) }));
  const { grads } = gradients(seeds, c.params.map((p) => p.node));
  c.params.forEach((p, i) => {
    if (!grads[i]) throw new RnncError(`parameter '${p.name}' ${fmtShape(p.shape)} does not reach the loss`, p.site ?? callerSite());
  });
}
