/** Run a cell's builder once with bound sizes and turn what it returns into IR graphs. */
import * as b from '../../ir/build.ts';
import { fmtShape, RnncError, type Site } from '../../ir/error.ts';
import { inlineGraph, makeGraph, type Graph } from '../../ir/graph.ts';
import type { Node } from '../../ir/node.ts';
import { gradients } from '../../ir/passes/differentiate.ts';
import { verifyGraph } from '../../ir/verify.ts';
import { bindSizes, Names, sizeProxy, stepContext, type CellDef, type InputInfo, type ParamInfo, type StateInfo } from './cell.ts';
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
}

export interface TraceOptions {
  readonly sizes?: Readonly<Record<string, number>>;
  readonly batch?: number;
  readonly lossOn?: 'every' | 'last';
  /** Overrides the cell's loss: softmax cross-entropy ('ce') or mean squared error ('mse'). */
  readonly loss?: 'ce' | 'mse';
  /** Dense vector inputs to feed from token ids through an `embedding` [V, X] table: name -> V. */
  readonly embed?: Readonly<Record<string, number>>;
}

export function traceCell(def: CellDef, opts: TraceOptions = {}): TracedCell {
  const sizes = bindSizes(def, opts.sizes);
  const batch = opts.batch ?? 1;
  if (!Number.isInteger(batch) || batch <= 0) throw new RnncError(`batch size must be a positive integer, got ${batch}`, def.site);
  const names = new Names();
  const rec = { params: [] as ParamInfo[], states: [] as StateInfo[], inputs: [] as InputInfo[] };
  const ctx = stepContext(batch, names, rec, opts.embed);
  for (const name of Object.keys(opts.embed ?? {})) {
    if (!/^[A-Za-z_]\w*$/.test(name)) throw new RnncError(`--embed: bad input name '${name}'`, def.site);
  }
  const result: unknown = cellCode(def, 'step', () => readResult(def.step(sizeProxy(def, sizes), ctx)));
  const { outs: stepOuts, output } = checkStepResult(def, result, rec.states);
  for (const name of Object.keys(opts.embed ?? {})) {
    if (!rec.inputs.some((i) => i.name === name && i.kind === 'tokens')) throw new RnncError(`cannot embed '${name}': the cell has no dense input of that name`, def.site);
  }
  if (rec.states.length === 0) throw new RnncError(`cell '${def.name}' declares no state: a recurrent cell needs one`, def.site);
  const step = makeGraph([...rec.params.map((p) => p.node), ...rec.states.map((s) => s.node), ...rec.inputs.map((i) => i.node)], stepOuts);
  verifyGraph(step, `cell '${def.name}' step`);

  const head = traceHead(def, sizes, batch, names, output, rec.params, opts.loss ?? def.options.loss ?? 'ce');
  const traced: TracedCell = {
    def, sizes, batch, params: rec.params, states: rec.states, inputs: rec.inputs,
    target: head.target, loss: opts.loss ?? def.options.loss ?? 'ce', lossOn: opts.lossOn ?? def.options.lossOn ?? 'every',
    step, head: head.graph, lossElements: head.elements,
  };
  checkParamsReachLoss(traced);
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

function traceHead(def: CellDef, sizes: Record<string, number>, batch: number, names: Names, output: Tensor, params: ParamInfo[], lossKind: 'ce' | 'mse') {
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
  const perElement = loss === 'ce' ? b.softmaxCE(logits.node, target) : b.sqerr(logits.node, target);
  const graph = makeGraph([...params.slice(first).map((p) => p.node), out, target], { logits: logits.node, loss_sum: b.sumAll(perElement), loss_rows: loss === 'ce' ? perElement : b.sum(perElement, [1]) });
  verifyGraph(graph, `cell '${def.name}' readout`);
  const info: TargetInfo = loss === 'ce' ? { kind: 'class', classes: Y, shape: [] } : { kind: 'dense', shape: [Y] };
  return { graph, target: info, elements: loss === 'ce' ? batch : batch * Y };
}

/** One step with its readout and mean loss: the graph `rnnc ir` prints and the step gradcheck uses. */
export function stepLossGraph(c: TracedCell): Graph {
  const target = c.head.inputs.find((n) => n.attr<string>('role') === 'target')!;
  const head = inlineGraph(c.head, { output: c.step.outputs.output! });
  const loss = b.scale(head.loss_sum!, 1 / c.lossElements);
  const outs: Record<string, Node> = {};
  for (const s of c.states) outs[s.name] = c.step.outputs[s.name]!;
  outs.loss = loss;
  return makeGraph([...c.params.map((p) => p.node), ...c.states.map((s) => s.node), ...c.inputs.map((i) => i.node), target], outs);
}

function checkParamsReachLoss(c: TracedCell): void {
  const g = stepLossGraph(c);
  // through time a parameter can reach the loss via the state too: seed the next states as well
  const seeds = Object.values(g.outputs).map((n) => ({ node: n, cotangent: b.constant(1, n.shape, n.dtype) }));
  const { grads } = gradients(seeds, c.params.map((p) => p.node));
  c.params.forEach((p, i) => {
    if (!grads[i]) throw new RnncError(`parameter '${p.name}' ${fmtShape(p.shape)} does not reach the loss`, p.site ?? callerSite());
  });
}
