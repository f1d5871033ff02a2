/** Run a cell's builder once with bound sizes and turn what it returns into IR graphs. */
import * as b from '../../ir/build.ts';
import { fmtShape, RnncError, type Site } from '../../ir/error.ts';
import { inlineGraph, makeGraph, type Graph } from '../../ir/graph.ts';
import type { Node } from '../../ir/node.ts';
import { gradients } from '../../ir/passes/differentiate.ts';
import { verifyGraph } from '../../ir/verify.ts';
import { bindSizes, Names, sizeProxy, stepContext, type CellDef, type InputInfo, type ParamInfo, type StateInfo } from './cell.ts';
import { callerSite } from './site.ts';
import { Tensor } from './tensor.ts';

export interface TargetInfo {
  /** 'class': i32 ids in [0, classes); 'dense': f32 of `shape` per example. */
  readonly kind: 'class' | 'dense';
  readonly classes?: number;
  readonly shape: readonly number[];
}

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
  /** The readout and loss of one position: (params, output, target) -> (logits, loss_sum); loss_sum sums over the batch. */
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
  const result: unknown = def.step(sizeProxy(def, sizes), ctx);

  // what the step returns: next value for every state, and an output
  if (typeof result !== 'object' || result === null || !('next' in result) || !('output' in result)) {
    throw new RnncError(`cell '${def.name}': the step must return { next: { <state>: tensor, ... }, output: tensor }`, def.site);
  }
  const { next, output } = result as { next: Record<string, unknown>; output: unknown };
  if (!(output instanceof Tensor)) throw new RnncError(`cell '${def.name}': the step's output is ${describe(output)}, not a tensor`, def.site);
  if (!output.batched || output.isTokens) throw new RnncError(`cell '${def.name}': the step's output must be a per-example float value`, output.site);
  const stepOuts: Record<string, Node> = {};
  for (const s of rec.states) {
    const v = next?.[s.name];
    if (v === undefined) throw new RnncError(`state '${s.name}' is never updated: return it in next`, s.site);
    if (!(v instanceof Tensor)) throw new RnncError(`next value of state '${s.name}' is ${describe(v)}, not a tensor`, def.site);
    if (!v.batched || !b.sameShape(v.shape, s.shape)) {
      throw new RnncError(`state '${s.name}' is ${fmtShape(s.shape)} but the step updates it with ${fmtShape(v.shape)}${v.batched ? '' : ' (the same for every example)'}`, v.site);
    }
    stepOuts[s.name] = v.node;
  }
  for (const k of Object.keys(next ?? {})) if (!rec.states.some((s) => s.name === k)) throw new RnncError(`next has '${k}', which is not a declared state`, def.site);
  for (const name of Object.keys(opts.embed ?? {})) {
    if (!rec.inputs.some((i) => i.name === name && i.kind === 'tokens')) throw new RnncError(`cannot embed '${name}': the cell has no dense input of that name`, def.site);
  }
  if (rec.states.length === 0) throw new RnncError(`cell '${def.name}' declares no state: a recurrent cell needs one`, def.site);
  stepOuts.output = output.node;
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

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'object') return Array.isArray(v) ? 'an array' : `an object with keys ${Object.keys(v).join(', ') || '(none)'}`;
  return `${typeof v} ${String(v)}`;
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
    logits = readout(sizeProxy(def, sizes), { param: ctx.param }, o);
    if (!(logits instanceof Tensor) || logits.shape.length !== 1 || !logits.batched) throw new RnncError(`cell '${def.name}': the readout must return a per-example vector`, site);
  }
  const Y = logits.shape[0]!;
  const loss = lossKind;
  const target = loss === 'ce' ? b.arg('target', 'i32', [batch], 'target') : b.arg('target', 'f32', [batch, Y], 'target');
  const perElement = loss === 'ce' ? b.softmaxCE(logits.node, target) : b.sqerr(logits.node, target);
  const graph = makeGraph([...params.slice(first).map((p) => p.node), out, target], { logits: logits.node, loss_sum: b.sumAll(perElement) });
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
