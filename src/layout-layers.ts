/**
 * The time layout of a model with a bidirectional layer (src/dsl/layers.ts): one Scan per layer and
 * direction over the whole sequence, the reverse direction a Scan running from the last step. With
 * variable lengths each step's state update is masked (where), so a reverse Scan holds its initial
 * state over a sequence's padding and starts, in effect, at that sequence's own last step. A layer
 * reads the layer below's outputs, both directions concatenated per step; the readout and the loss
 * run once over all positions of the top layer. There are no truncation windows: the backward
 * direction needs the whole sequence.
 */
import * as b from '../ir/build.ts';
import { RnncError } from '../ir/error.ts';
import { inlineGraph, makeGraph, type Graph } from '../ir/graph.ts';
import type { Node } from '../ir/node.ts';
import type { Truncation } from '../ir/program.ts';
import type { TracedCell, TracedDirection } from './dsl/trace.ts';

/** A bidirectional model is laid out over the whole sequence only. */
export function checkLayeredTruncation(c: TracedCell, seq: number, trunc: Truncation): void {
  if (c.layers && (trunc.k1 < seq || trunc.k2 < seq)) {
    throw new RnncError(`truncate: ${c.def.name} has a bidirectional layer, whose backward direction starts from the end of the sequence: it needs the whole sequence (compile it without --truncate)`, c.def.site);
  }
}

/** One direction's Scan body: (params, states, step inputs[, mask]) -> (next states, held past a sequence's end; output). */
function directionBody(c: TracedCell, d: TracedDirection): Graph {
  const outs: Record<string, Node> = {};
  for (const s of d.states) {
    const next = d.step.outputs[s.name]!;
    const m = c.lengths?.mask;
    outs[s.name] = m ? b.where(b.broadcast(b.reshape(m, [c.batch, ...s.shape.map(() => 1)]), next.shape), next, s.node) : next;
  }
  outs.output = d.step.outputs.output!;
  return makeGraph([...d.params, ...d.states.map((s) => s.node), ...d.xs, ...(c.lengths ? [c.lengths.mask] : [])], outs);
}

export interface LayeredIO {
  readonly states: readonly Node[];
  /** The model's inputs stacked [len, B, ...], then (variable lengths) the mask [len, B]. */
  readonly xs: readonly Node[];
  readonly target: Node;
  readonly weight?: Node;
}

export interface LayeredValues {
  /** The sum of the per-position losses (with `loss`). */
  readonly lossSum: Node | null;
  /** Logits [len, B, Y] (with `logits`). */
  readonly logits: Node | null;
  /** Each state after its Scan, in the model's state order (a reverse direction's: after step 0). */
  readonly final: readonly Node[];
}

/** The layers over `len` steps, then the readout and the loss over every position at once. */
export function layeredSequence(c: TracedCell, len: number, io: LayeredIO, want: { loss: boolean; logits: boolean }): LayeredValues {
  const nIn = c.inputs.length;
  const mask = c.lengths ? io.xs[nIn]! : undefined;
  const sequenceOf = new Map<number, Node>(c.inputs.map((inp, i) => [inp.node.id, io.xs[i]!]));
  const stateIndex = new Map(c.states.map((s, k) => [s.node.id, k]));
  const final = [...io.states];
  let below: Node | undefined;
  for (const layer of c.layers!) {
    const ys: Node[] = [];
    for (const d of layer.directions) {
      // layer 0 reads the model's inputs; a layer above reads the one below (its only step input)
      const xs = d.xs.map((x) => sequenceOf.get(x.id) ?? below!);
      const srcs = [...d.params, ...d.states.map((s) => io.states[stateIndex.get(s.node.id)!]!), ...xs, ...(mask ? [mask] : [])];
      const scan = b.scan(directionBody(c, d), srcs, { consts: d.params.length, carries: d.states.length, xs: xs.length + (mask ? 1 : 0) }, len, d.reverse);
      d.states.forEach((s, k) => (final[stateIndex.get(s.node.id)!] = b.proj(scan, k)));
      ys.push(b.proj(scan, d.states.length));
    }
    below = ys.length === 1 ? ys[0]! : b.concat(ys, 2);
  }
  const top = below!, rows = len * c.batch;
  const flat = (x: Node) => b.reshape(x, [rows, ...x.shape.slice(2)]);
  const head = inlineGraph(c.headFor!(rows), {
    output: flat(top),
    ...(want.loss ? { target: flat(io.target), ...(io.weight ? { __weight: flat(io.weight) } : {}) } : {}),
  });
  return {
    lossSum: want.loss ? head.loss_sum! : null,
    logits: want.logits ? b.reshape(head.logits!, [len, c.batch, head.logits!.shape[1]!]) : null,
    final,
  };
}
