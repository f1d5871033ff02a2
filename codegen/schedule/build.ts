/**
 * The schedule of a training program: one function per distinct truncation window and one for
 * inference, each lowered from its optimized graph (body.ts), over the trainer's fixed buffers —
 * parameters P, gradients G, state S, the batch's inputs and target — and scratch buffers that
 * memory.ts then places in one arena.
 */
import type { TrainingProgram } from '../../ir/program.ts';
import { constant, variable } from './affine.ts';
import { lowerBody, type OutputRequest } from './body.ts';
import { Buffers } from './buffers.ts';
import type { Schedule, ScheduleFunction, Slot, View } from './types.ts';

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

function slots(items: readonly { name: string; shape: readonly number[] }[]): Slot[] {
  let offset = 0;
  return items.map(({ name, shape }) => {
    const slot = { name, offset, size: prod(shape), shape };
    offset += slot.size;
    return slot;
  });
}

const at = (buf: string, off: number): View => ({ buf, off: constant(off) });

export function buildSchedule(program: TrainingProgram): Schedule {
  const m = program.model, B = m.batch, T = program.seq;
  const params = slots(m.params), states = slots(m.states.map((s) => ({ name: s.name, shape: [B, ...s.shape] })));
  const every = m.lossOn === 'every';
  const targetPerStep = m.target.kind === 'class' ? B : B * prod(m.target.shape);
  const bufs = new Buffers();
  const total = (xs: readonly Slot[]) => xs.reduce((a, s) => a + s.size, 0);
  bufs.declare({ name: 'P', kind: 'param', dtype: 'f32', size: total(params) });
  bufs.declare({ name: 'G', kind: 'grad', dtype: 'f32', size: total(params) });
  bufs.declare({ name: 'S', kind: 'state', dtype: 'f32', size: total(states) });
  for (const i of m.inputs) bufs.declare({ name: `in_${i.name}`, kind: 'input', dtype: i.kind === 'tokens' ? 'i32' : 'f32', size: T * B * prod(i.shape) });
  bufs.declare({ name: 'in_target', kind: 'target', dtype: m.target.kind === 'class' ? 'i32' : 'f32', size: (every ? T : 1) * targetPerStep });
  // variable lengths: the host fills the step mask and the loss weight [T, B] from the batch
  if (m.lengths) for (const name of ['len_mask', 'len_weight']) bufs.declare({ name, kind: 'input', dtype: 'f32', size: T * B });
  const nXs = m.inputs.length + (m.lengths ? 1 : 0);

  /** Graph inputs in order: parameters, states, then each input from step `start` (and the target). */
  const bind = (inputs: readonly { id: number }[], start: 'start' | null) => {
    const env = new Map<number, View>();
    params.forEach((p, i) => env.set(inputs[i]!.id, at('P', p.offset)));
    states.forEach((s, i) => env.set(inputs[params.length + i]!.id, at('S', s.offset)));
    m.inputs.forEach((inp, i) => {
      const perStep = B * prod(inp.shape);
      env.set(inputs[params.length + states.length + i]!.id, { buf: `in_${inp.name}`, off: start ? variable(start, perStep) : constant(0) });
    });
    if (m.lengths) env.set(inputs[params.length + states.length + m.inputs.length]!.id, { buf: 'len_mask', off: start ? variable(start, B) : constant(0) });
    return env;
  };
  const stateSlots = (prefix: string) => Object.fromEntries(states.map((s): [string, OutputRequest] => [`${prefix}${s.name}`, { kind: 'slot', view: at('S', s.offset) }]));

  const functions: ScheduleFunction[] = program.windows.map((win) => {
    const env = bind(win.graph.inputs, 'start');
    const target = win.graph.inputs[params.length + states.length + nXs]!;
    env.set(target.id, { buf: 'in_target', off: every ? variable('start', targetPerStep) : constant(0) });
    if (m.lengths) env.set(win.graph.inputs[params.length + states.length + nXs + 1]!.id, { buf: 'len_weight', off: variable('start', B) });
    const requests: Record<string, OutputRequest> = { ...stateSlots('carry_') };
    if (win.hasLoss) {
      requests.loss_sum = { kind: 'any' };
      for (const p of params) requests[`grad_${p.name}`] = { kind: 'accumulate', view: at('G', p.offset), scalar: 'scale' };
    }
    const body = lowerBody(bufs, win.graph, env, requests, 0);
    return {
      name: win.fn,
      args: [{ name: 'start', type: 'int' }, { name: 'scale', type: 'float' }],
      items: body.items,
      ...(win.hasLoss ? { result: body.outputs.loss_sum! } : {}),
      liveOut: [],
    };
  });
  for (const chunk of program.inference) {
    const body = lowerBody(bufs, chunk.graph, bind(chunk.graph.inputs, 'start'), { logits: { kind: 'any' }, ...stateSlots('') }, 0);
    functions.push({ name: chunk.fn, args: [{ name: 'start', type: 'int' }], items: body.items, liveOut: [body.outputs.logits!] });
  }
  for (const chunk of program.evaluation) {
    const env = bind(chunk.graph.inputs, 'start');
    if (chunk.hasLoss) env.set(chunk.graph.inputs[params.length + states.length + m.inputs.length]!.id, { buf: 'in_target', off: every ? variable('start', targetPerStep) : constant(0) });
    const body = lowerBody(bufs, chunk.graph, env, { ...(chunk.hasLoss ? { loss_rows: { kind: 'any' } } : {}), ...stateSlots('') }, 0);
    functions.push({ name: chunk.fn, args: [{ name: 'start', type: 'int' }], items: body.items, liveOut: chunk.hasLoss ? [body.outputs.loss_rows!] : [] });
  }
  const diag = program.diagnostics;
  if (diag) {
    // the probes are zeros, read from constants as long as the longest window
    const longest = Math.max(...diag.windows.map((w) => w.len));
    for (const s of states) bufs.declare({ name: `probe_${s.name}`, kind: 'const', dtype: 'f32', size: longest * s.size, value: 0 });
    for (const win of diag.windows) {
      const env = bind(win.graph.inputs, 'start');
      const first = params.length + states.length + m.inputs.length;
      states.forEach((s, k) => env.set(win.graph.inputs[first + k]!.id, at(`probe_${s.name}`, 0)));
      env.set(win.graph.inputs[first + states.length]!.id, { buf: 'in_target', off: every ? variable('start', targetPerStep) : constant(0) });
      const requests: Record<string, OutputRequest> = { ...stateSlots('carry_') };
      for (const s of states) requests[`trace_${s.name}`] = { kind: 'any' };
      if (win.hasLoss) {
        requests.loss_sum = { kind: 'any' };
        for (const p of params) requests[`grad_${p.name}`] = { kind: 'accumulate', view: at('G', p.offset), scalar: 'scale' };
        for (const s of states) requests[`grad_probe_${s.name}`] = { kind: 'any' };
      }
      const body = lowerBody(bufs, win.graph, env, requests, 0);
      functions.push({
        name: win.fn,
        args: [{ name: 'start', type: 'int' }, { name: 'scale', type: 'float' }],
        items: body.items,
        ...(win.hasLoss ? { result: body.outputs.loss_sum! } : {}),
        // each state per step, then (with a loss) ∂(loss sum)/∂ each state per step
        liveOut: [...states.map((s) => body.outputs[`trace_${s.name}`]!), ...(win.hasLoss ? states.map((s) => body.outputs[`grad_probe_${s.name}`]!) : [])],
      });
    }
  }
  return {
    buffers: bufs.list, functions, params, states, sequence: program.sequence, inferenceSequence: program.inferenceSequence, evaluationSequence: program.evaluationSequence,
    diagnosticsSequence: diag ? diag.sequence : null,
  };
}
