/**
 * Layers as compositions of cells: `stack(a, b, ...)` feeds each cell's output to the next as its
 * input, `bidirectional(c)` runs a cell forward and a second copy of it backward in time and
 * concatenates the two outputs at every step; they compose (`stack(bidirectional(lstm),
 * bidirectional(lstm))` is PyTorch's `nn.LSTM(num_layers=2, bidirectional=True)`).
 *
 * Parameters and states are named as PyTorch names them: the cell's `weight_ih` becomes
 * `weight_ih_l0`, `weight_ih_l1`, ... by layer and `weight_ih_l0_reverse` for the backward
 * direction; states likewise (`h_l0`, `h_l0_reverse`). The readout (`out_weight`, `out_bias`) and
 * an embedding in front (`--embed`, one table shared by both directions) keep their names.
 *
 * A layer after the first reads the layer below's output (both directions concatenated) through
 * its `input(...)`, and its input size (the size named `X`, as `input_size` only sizes PyTorch's
 * first layer) is bound to that output's width. A stack of one-directional layers traces into one
 * step that runs the layers in turn (one Scan, so truncation works as for any cell); a model with
 * a bidirectional layer is laid out as one Scan per layer and direction (src/layout.ts).
 */
import { RnncError } from '../../ir/error.ts';
import { isCellDef, type CellDef, type CellOptions, type SizeDecl, type StepContext, type StepResult } from './cell.ts';
import { callerSite } from './site.ts';
import { describe, isPlainObject, Tensor } from './tensor.ts';

/** One layer of a composed model: a cell, run forward only or in both directions. */
export interface LayerSpec {
  readonly cell: CellDef;
  readonly bidirectional: boolean;
}

/** The size a layer after the first takes from the layer below (PyTorch: input_size of layer 0 only). */
export const INPUT_SIZE = 'X';

/** The suffix of layer `l`'s names in direction `reverse` (PyTorch's `_l0`, `_l0_reverse`). */
export const layerSuffix = (l: number, reverse: boolean) => `_l${l}${reverse ? '_reverse' : ''}`;

function layersOf(x: unknown, i: number, what: string): LayerSpec[] {
  if (!isCellDef(x)) throw new RnncError(`${what}: argument ${i + 1} must be a cell(...) (or a stack or bidirectional of cells), got ${describe(x)}`, callerSite());
  return x.layers ? [...x.layers] : [{ cell: x, bidirectional: false }];
}

function unionSizes(layers: readonly LayerSpec[]): SizeDecl {
  const sizes: SizeDecl = {};
  for (const { cell } of layers) for (const [k, v] of Object.entries(cell.sizes)) if (!Object.hasOwn(sizes, k)) sizes[k] = v;
  return sizes;
}

/** A composed model as a CellDef: `layers` says how it is laid out; `step` runs the layers of a one-directional stack. */
function composed(name: string, layers: readonly LayerSpec[], options: CellOptions | undefined): CellDef {
  const site = callerSite();
  if (options !== undefined && !isPlainObject(options)) throw new RnncError(`${name}: options must be an object { readout?, loss?, lossOn? }, got ${describe(options)}`, site);
  const last = layers[layers.length - 1]!.cell;
  return {
    kind: 'rnnc-cell',
    name,
    sizes: unionSizes(layers),
    step: layers.some((l) => l.bidirectional) ? bidirectionalStep(name) : stackedStep(layers.map((l) => l.cell)),
    options: options ?? last.options,
    site,
    layers,
  };
}

/** `stack(a, b, ...[, options])`: each layer's output is the next one's input. */
export function stack(...args: unknown[]): CellDef {
  const options = args.length > 0 && isPlainObject(args[args.length - 1]) && !isCellDef(args[args.length - 1]) ? (args.pop() as CellOptions) : undefined;
  if (args.length === 0) throw new RnncError('stack: needs at least one cell', callerSite());
  const layers = args.flatMap((a, i) => layersOf(a, i, 'stack'));
  return composed(`stack(${args.map((a) => (a as CellDef).name).join(', ')})`, layers, options);
}

/** `bidirectional(cell[, options])`: the cell forward in time and a copy of it backward, outputs concatenated. */
export function bidirectional(c: unknown, options?: CellOptions): CellDef {
  const layers = layersOf(c, 0, 'bidirectional');
  if (layers.length !== 1 || layers[0]!.bidirectional) {
    throw new RnncError('bidirectional: takes one cell; to make several bidirectional layers, stack them: stack(bidirectional(a), bidirectional(b))', callerSite());
  }
  return composed(`bidirectional(${(c as CellDef).name})`, [{ cell: layers[0]!.cell, bidirectional: true }], options);
}

/** A composed model's step is traced per layer and direction (src/dsl/trace.ts); this one is never called. */
function bidirectionalStep(name: string): CellDef['step'] {
  return () => {
    throw new RnncError(`${name}: a model with a bidirectional layer has no single step (its backward direction runs from the end)`);
  };
}

/**
 * The step context one layer sees: its names suffixed, its input the layer below's output (when
 * there is one), everything else the model's own context.
 */
export function layerContext(ctx: StepContext, model: string, l: number, suffix: string, below: Tensor | undefined, inputs?: (name: string, shape: readonly number[], make: () => Tensor) => Tensor): StepContext {
  return {
    input(name, shape) {
      if (below === undefined) return inputs ? inputs(name, shape, () => ctx.input(name, shape)) : ctx.input(name, shape);
      const want = below.shape;
      if (!Array.isArray(shape) || shape.length !== want.length || shape.some((d, i) => d !== want[i])) {
        throw new RnncError(`${model}: layer ${l} reads input '${name}' ${JSON.stringify(shape)}, but the layer below gives [${want.join(', ')}] per step: its input must be sized by '${INPUT_SIZE}' (bound to the layer below's output)`, callerSite());
      }
      return below;
    },
    tokens(name, vocab) {
      if (below !== undefined) throw new RnncError(`${model}: layer ${l} reads tokens '${name}': only the first layer reads the model's inputs`, callerSite());
      return inputs ? inputs(name, [], () => ctx.tokens(name, vocab)) : ctx.tokens(name, vocab);
    },
    state: (name, shape) => ctx.state(`${name}${suffix}`, shape),
    param: (name, shape, init) => ctx.param(`${name}${suffix}`, shape, init),
  };
}

/** The sizes a layer sees: the model's, with its input size bound to the layer below's output. */
export function layerSizes(sizes: Readonly<Record<string, number>>, below: Tensor | undefined): Readonly<Record<string, number>> {
  if (below === undefined) return sizes;
  return { ...sizes, [INPUT_SIZE]: below.shape[below.shape.length - 1]! };
}

/** What a layer's step returned, checked enough to be composed (the model's own result is checked as any cell's). */
export function layerResult(model: string, l: number, r: unknown): StepResult {
  if (!isPlainObject(r) || !isPlainObject(r.next) || !(r.output instanceof Tensor)) {
    throw new RnncError(`${model}: layer ${l}'s step returned ${describe(r)}; it must return { next: { <state>: tensor, ... }, output: tensor }`, callerSite());
  }
  return r as unknown as StepResult;
}

/** One step through every layer of a one-directional stack, bottom to top. */
function stackedStep(cells: readonly CellDef[]): CellDef['step'] {
  return (sizes, ctx) => {
    const model = `stack(${cells.map((c) => c.name).join(', ')})`;
    let below: Tensor | undefined;
    const next: Record<string, Tensor> = {};
    cells.forEach((c, l) => {
      const suffix = layerSuffix(l, false);
      const r = layerResult(model, l, c.step(layerSizes(sizes, below), layerContext(ctx, model, l, suffix, below)));
      for (const [k, v] of Object.entries(r.next)) next[`${k}${suffix}`] = v;
      below = r.output;
    });
    return { next, output: below! };
  };
}
