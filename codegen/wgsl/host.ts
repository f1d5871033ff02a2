/**
 * The WebGPU trainer: one standalone ES module that holds its WGSL shaders as strings and drives
 * the standard WebGPU API on a GPUDevice the caller passes in. It has the trainer API of the TS
 * target (docs/trainer-api.md), asynchronous where WebGPU is: parameters, gradients, optimizer
 * state, recurrent state and scratch stay on the GPU; a call uploads the batch, encodes each
 * window into one command buffer, and reads back only the per-window statistics (loss, gradient
 * norm, finiteness), on which step() decides to keep the update or restore the snapshot it took
 * on the GPU. predict and evaluate (./forward.ts), diagnose (./diagnose.ts) and checkpoints share the TS host's checks and
 * format (codegen/host). docs/webgpu.md describes it.
 */
import { CodeBlockWriter, Project, VariableDeclarationKind } from 'ts-morph';
import { RnncError } from '../../ir/error.ts';
import { optimizerMoments, type TrainingProgram } from '../../ir/program.ts';
import { buildSchedule } from '../schedule/build.ts';
import { formatAffine } from '../schedule/affine.ts';
import { planMemory } from '../schedule/memory.ts';
import type { Item, ScheduleFunction, View } from '../schedule/types.ts';
import { writeInit } from '../host/runtime.ts';
import { HYPER_TYPE, STEP_STATS, writeSupport } from '../host/support.ts';
import { evaluates, forwardOptionsInterface, writeForwardChecks } from '../host/forward.ts';
import { writeCheckpointSupport, writeLoadCheckpointBody } from '../host/checkpoint.ts';
import { diagnosisType, writeDiagnoseSupport } from '../host/diagnose.ts';
import { writeRun } from '../host/runs.ts';
import { moduleSpec, specLiteral } from '../host/spec.ts';
import { jsString, type TrainerConfig } from '../host/trainer.ts';
import { planGpu, STATS } from './plan.ts';
import { evaluationChunks, writeGpuForward } from './forward.ts';
import { traceElements, writeGpuDiagnose } from './diagnose.ts';
import { loopVariables, RECORD_BYTES, WORKGROUP, type GpuKernel } from './shader.ts';

const newWriter = () => new CodeBlockWriter({ indentNumberOfSpaces: 2, useSingleQuote: true });
const MAX_GROUPS = 65535;

/** Workgroups of a kernel: along x, then y past the 65,535 a dimension may hold. */
function groupsOf(k: GpuKernel): [number, number] {
  if (k.groups) return [k.groups[0], k.groups[1]];
  const n = Math.ceil(k.invocations / WORKGROUP);
  return n <= MAX_GROUPS ? [n, 1] : [MAX_GROUPS, Math.ceil(n / MAX_GROUPS)];
}

export interface WebGpuOptions {
  /** 'persistent' (default): each loop that allows it is one dispatch (persistent.ts); 'per-step': one dispatch per kernel per step. */
  readonly loops?: 'persistent' | 'per-step';
}

export function generateWebGpuTrainer(program: TrainingProgram, cfg: TrainerConfig, options: WebGpuOptions = {}): string {
  if (cfg.float !== 'f32') throw new RnncError('--target webgpu: WebGPU computes in float32; leave out --float f64');
  if (program.model.lengths) throw new RnncError('--target webgpu: variable lengths (--lengths) are not built for the WebGPU target yet; compile for the TS target, or pad to full length');
  const c = program.model;
  const B = c.batch, T = program.seq;
  const schedule = buildSchedule(program);
  const memory = planMemory(schedule, 1);
  const nWindows = schedule.sequence.reduce((n, r) => n + r.count, 0);
  const gpu = planGpu(schedule, memory, cfg.optimizer.kind, nWindows, { persistent: options.loops !== 'per-step', batch: B });
  /** Dispatches one call of a schedule function encodes. */
  const dispatchesOf = (items: readonly Item[]): number =>
    items.reduce((n, it) => n + (it.kind !== 'loop' ? 1 : gpu.loopKernelOf.has(it) ? 1 : it.length * dispatchesOf(it.body)), 0);
  const { params, states } = schedule;
  const nP = params.reduce((a, p) => a + p.size, 0), nS = states.reduce((a, s) => a + s.size, 0);
  const Y = program.inference[0]!.graph.outputs.logits!.shape[2]!;
  const nLogits = T * B * Y;
  const has = optimizerMoments(cfg.optimizer.kind);
  const lossRows = evaluationChunks(schedule) * B;
  const nTraces = traceElements(schedule, T);
  const capacity = Math.max(...schedule.functions.map((f) => dispatchesOf(f.items))) + 4;
  const maxBindings = Math.max(...gpu.kernels.map((k) => k.bindings.length));
  const largest = Math.max(...gpu.buffers.map((b) => b.size * 4), nLogits * 4);
  const physIndex = new Map(gpu.buffers.map((b, n) => [b.name, n]));
  // per step: each window's dispatches, and the norms, clipping and update after a window with a loss
  const dispatchesIn = new Map(schedule.functions.map((f) => [f.name, dispatchesOf(f.items)]));
  const perStep = schedule.sequence.reduce((n, r) => n + r.count * (dispatchesIn.get(r.fn)! + (r.positions > 0 ? 3 + (cfg.clip === null ? 0 : 1) : 0)), 0);
  const ref = (name: string) => `phys[${physIndex.get(name)}]!`;
  /** A view's byte offset in its physical buffer, `start` substituted. */
  const byteOffset = (v: View, start: string) => {
    const p = gpu.placement(v.buf);
    return `(${formatAffine({ c: v.off.c + p.base, terms: v.off.terms }).replace(/\bstart\b/g, start)}) * 4`;
  };

  const project = new Project({ useInMemoryFileSystem: true });
  const sf = project.createSourceFile('trainer.ts', '', { overwrite: true });
  const spec = {
    ...moduleSpec(program, cfg, schedule),
    backend: 'webgpu',
    /** What a step() submits: one command buffer per window and one for the read-back. */
    work: { shaders: gpu.kernels.length, dispatchesPerStep: perStep, commandBuffersPerStep: nWindows + 1, persistentLoops: gpu.loopKernelOf.size },
    limits: { maxStorageBufferBindingSize: largest, maxBufferSize: largest, maxStorageBuffersPerShaderStage: maxBindings },
  };
  const specText = specLiteral(spec);
  sf.addStatements([
    '/// <reference types="@webgpu/types" />',
    `// Generated by rnnc from cell ${jsString(c.name)} for WebGPU — do not edit; recompile instead.`,
    `// B=${B}, T=${T}, ${Object.entries(c.sizes).map(([k, v]) => `${k}=${v}`).join(', ')}; ${spec.truncate ? `truncated BPTT ${program.truncation.k1}:${program.truncation.k2}` : 'full BPTT'}; ${cfg.optimizer.kind}; f32.`,
    `// A standalone module: no imports. ${gpu.kernels.length} WGSL shaders; at most ${capacity} dispatches per command buffer.`,
    `// GPU memory: ${((gpu.buffers.reduce((a, b) => a + b.size, 0) + 4 * nP + 2 * nS) * 4 / 2 ** 20).toFixed(1)} MiB (parameters, gradients, optimizer state, state, the snapshot step() restores from, the state predict and evaluate put back, scratch).`,
  ]);
  sf.addVariableStatement({ isExported: true, declarationKind: VariableDeclarationKind.Const, docs: ['What this module was compiled for, and the device limits it needs.'], declarations: [{ name: 'spec', initializer: `${specText} as const` }] });
  sf.addTypeAlias({ isExported: true, name: 'Inputs', type: `{ ${c.inputs.map((i) => `${i.name}: ${i.kind === 'tokens' ? 'Int32Array' : 'Float32Array'}`).join('; ')} }` });
  sf.addInterface({ isExported: true, name: 'Batch', properties: [{ name: 'inputs', type: 'Inputs' }, { name: 'targets', type: c.target.kind === 'class' ? 'Int32Array' : 'Float32Array' }] });
  sf.addInterface({ isExported: true, name: 'TrainerOptions', properties: ['seed', 'lr', 'momentum', 'beta1', 'beta2', 'eps', 'weightDecay', 'alpha'].map((name) => ({ name, type: 'number', hasQuestionToken: true })).concat([{ name: 'clip', type: 'number | null', hasQuestionToken: true }]) });
  sf.addTypeAlias({ isExported: true, name: 'Hyper', type: HYPER_TYPE });
  sf.addInterface(STEP_STATS);
  sf.addTypeAlias({ isExported: true, name: 'Diagnosis', docs: ['What diagnose(batch) returns.'], type: diagnosisType(c, T) });
  sf.addInterface(forwardOptionsInterface(c, states.map((s) => s.name), 'Float32Array', 'Float32Array', T));
  const record = 'Record<string, Float32Array>';
  sf.addInterface({ isExported: true, name: 'Trainer', properties: [
    { name: 'hyper', type: 'Hyper', isReadonly: true, docs: ['Optimizer settings; may be changed between steps, each checked when set (a RangeError naming it and the value).'] },
    { name: 'lastStep', type: 'StepStats', isReadonly: true, docs: ['What the last step did: its loss, the global gradient norm before clipping (the largest over its windows) and whether it clipped.'] },
    { name: 'lossAndGrad', type: '(batch: Batch) => Promise<number>', docs: ['Forward and backward over the batch; fills the gradients on the GPU, returns the mean loss.'] },
    { name: 'step', type: '(batch: Batch) => Promise<number>', docs: ['lossAndGrad, clipping and an update per truncation window; on a non-finite loss, gradient or parameter everything is restored and the promise rejects.'] },
    { name: 'predict', type: '(inputs: Inputs, out?: Float32Array, options?: ForwardOptions) => Promise<Float32Array>', docs: [`Logits [T, n, Y] = [${T}, n, ${Y}] for every step of n ≤ ${B} sequences, from zeros (or options.state); the training state is left as it was, and options.final receives the final state. Resolves to a fresh Float32Array, or, given \`out\` (a Float32Array of ${T}·n·${Y} values), fills it and resolves to it.`] },
    { name: 'evaluate', type: '(batch: Batch, options?: ForwardOptions) => Promise<number>', docs: [`The mean loss of n ≤ ${B} sequences, forward only (no backward pass), from zeros (or options.state); changes nothing in the trainer.`] },
    { name: 'diagnose', type: '(batch: Batch, options?: { iterations?: number; seed?: number }) => Promise<Diagnosis>', docs: ['One forward and backward pass, no update (the gradients filled as lossAndGrad fills them, state and parameters unchanged): ‖∂L/∂h_t‖ and ‖h_t‖ at every step, the gradient norm, the spectral radius and largest singular value of each recurrent weight (power iteration on the host: `iterations`, default 2000, from `seed`).'] },
    { name: 'resetState', type: '() => void' },
    { name: 'readParams', type: `() => Promise<${record}>`, docs: ['A copy of the parameters, by the cell\'s names.'] },
    { name: 'readGrads', type: `() => Promise<${record}>`, docs: ['A copy of the last computed gradients.'] },
    { name: 'readState', type: `() => Promise<${record}>`, docs: ['A copy of the recurrent state, [B, ...] per name.'] },
    { name: 'writeParams', type: `(values: ${record}) => Promise<void>`, docs: ['Replaces the named parameters (checked whole first).'] },
    { name: 'saveParams', type: '() => Promise<string>', docs: ['Parameters as JSON, the format of the TS target.'] },
    { name: 'loadParams', type: '(json: string) => Promise<void>', docs: ['Parameters from saveParams() JSON; checked whole before anything changes.'] },
    { name: 'saveCheckpoint', type: '() => Promise<string>', docs: ['Parameters, optimizer moments and step count, state and hyper, with the spec, as JSON (the TS target\'s format): a run resumes exactly from it.'] },
    { name: 'loadCheckpoint', type: '(json: string) => Promise<void>', docs: ['A saveCheckpoint() file back (this target\'s or the TS target\'s); a mismatched or corrupt one is refused whole (nothing changes).'] },
    { name: 'destroy', type: '() => void', docs: ['Frees the trainer\'s GPU buffers (not the device).'] },
  ] });
  writeSupport(sf, c, cfg, 'Float32Array', T);
  const fw = newWriter();
  writeForwardChecks(fw, c, 'f32', T, evaluates(c, schedule));
  writeCheckpointSupport(fw, { float: 'f32', F: 'Float32Array', kind: cfg.optimizer.kind, params, states, nP, nS });
  if (schedule.diagnosticsSequence !== null) writeDiagnoseSupport(fw, c, T, schedule);
  sf.addStatements(fw.toString());

  const w = newWriter();
  w.writeLine('/** The WGSL shaders: the schedule\'s kernels, then the host\'s (norms, clipping, update). */');
  w.writeLine(`const shaders: readonly string[] = ${JSON.stringify(gpu.kernels.map((k) => k.code), null, 2)};`);
  w.writeLine('/** Per shader: its storage bindings as [physical buffer, writable], and its workgroups. */');
  w.writeLine(`const layouts: readonly (readonly [number, boolean])[][] = ${JSON.stringify(gpu.kernels.map((k) => k.bindings.map((b) => [physIndex.get(b.phys), b.write])))};`);
  w.writeLine(`const groups: readonly (readonly [number, number])[] = ${JSON.stringify(gpu.kernels.map(groupsOf))};`);
  w.writeLine(`const labels: readonly string[] = ${JSON.stringify(gpu.kernels.map((k) => k.label))};`);
  sf.addStatements(w.toString());

  sf.addFunction({
    isExported: true,
    isAsync: true,
    name: 'createTrainer',
    parameters: [{ name: 'device', type: 'GPUDevice' }, { name: 'options', type: 'TrainerOptions', initializer: '{}' }],
    returnType: 'Promise<Trainer>',
    docs: ['A trainer on `device` with its own parameters (seeded init, as the TS target\'s), gradients, state and optimizer state, all on the GPU. Rejects with the limit when the device cannot hold the model.'],
    statements: (w) => writeCreate(w),
  });

  function writeCreate(w: CodeBlockWriter): void {
    w.writeLine('checkOptions(options);');
    w.writeLine("if (typeof device !== 'object' || device === null || typeof (device as GPUDevice).createBuffer !== 'function') throw new TypeError(`createTrainer: the first argument must be a GPUDevice, got ${describe(device)}`);");
    w.write('for (const [name, need] of Object.entries(spec.limits))').block(() => {
      w.writeLine('const has = (device.limits as unknown as Record<string, number>)[name]!;');
      w.writeLine('if (has < need) throw new RangeError(`createTrainer: this model needs the device limit ${name} ≥ ${need}, the device has ${has}; request it with adapter.requestDevice({ requiredLimits: { ${name}: ${need} } }) if the adapter offers it, or use smaller sizes`);');
    });
    w.writeLine('let lost: string | null = null;');
    w.writeLine('void device.lost.then((info) => { lost = info.message || info.reason || \'lost\'; });');
    w.writeLine('const alive = (what: string) => { if (lost !== null) throw new Error(`${what}: the GPU device was lost (${lost}); create a new device and trainer (loadParams restores saved parameters)`); };');
    w.writeLine(`const hyper: Hyper = checkedHyper({ lr: options.lr ?? ${cfg.optimizer.lr}, momentum: options.momentum ?? ${cfg.optimizer.momentum}, beta1: options.beta1 ?? ${cfg.optimizer.beta1}, beta2: options.beta2 ?? ${cfg.optimizer.beta2}, eps: options.eps ?? ${cfg.optimizer.eps}, weightDecay: options.weightDecay ?? ${cfg.optimizer.weightDecay}, alpha: options.alpha ?? ${cfg.optimizer.alpha}, clip: options.clip === undefined ? ${cfg.clip} : options.clip });`);
    // the initial parameters are made on the CPU, by the same generator and order as the TS target's
    w.writeLine(`const host = new Float32Array(${Math.max(nP, 1)});`);
    w.writeLine(`const params: Record<string, Float32Array> = { ${params.map((p) => `${p.name}: host.subarray(${p.offset}, ${p.offset + p.size})`).join(', ')} };`);
    w.writeLine('const rand = makeRandom(options.seed ?? spec.seed);');
    c.params.forEach((p) => writeInit(w, `params.${p.name}`, p.shape, p.init));
    w.writeLine("device.pushErrorScope('out-of-memory');");
    w.writeLine("device.pushErrorScope('validation');");
    w.writeLine('const STORAGE = 0x80, COPY_SRC = 0x4, COPY_DST = 0x8, UNIFORM = 0x40, MAP_READ = 0x1;');
    w.writeLine('const made: GPUBuffer[] = [];');
    w.writeLine('const buffer = (bytes: number, usage: number, label: string) => { const b = device.createBuffer({ size: bytes, usage, label }); made.push(b); return b; };');
    w.writeLine(`const sizes = ${JSON.stringify(gpu.buffers.map((b) => b.size))};`);
    w.writeLine(`const phys = ${JSON.stringify(gpu.buffers.map((b) => b.name))}.map((name, n) => buffer(sizes[n]! * 4, STORAGE | COPY_SRC | COPY_DST, name));`);
    w.writeLine(`const P = ${ref('P')}, G = ${ref('G')}, S = ${ref('S')}, M = ${ref('M')}, V = ${ref('V')}, arena = ${ref('arena')}, stats = ${ref('stats')};`);
    w.writeLine("const saved = { P: buffer(P.size, COPY_SRC | COPY_DST, 'saved P'), M: buffer(M.size, COPY_SRC | COPY_DST, 'saved M'), V: buffer(V.size, COPY_SRC | COPY_DST, 'saved V'), S: buffer(S.size, COPY_SRC | COPY_DST, 'saved S') };");
    w.writeLine(`const logits = buffer(${nLogits * 4}, COPY_SRC | COPY_DST, 'logits');`);
    if (evaluates(c, schedule)) w.writeLine(`const lossRows = buffer(${lossRows * 4}, COPY_SRC | COPY_DST, 'evaluate: loss rows');`);
    w.writeLine("const held = buffer(S.size, COPY_SRC | COPY_DST, 'the state predict and evaluate put back');");
    if (nTraces > 0) w.writeLine(`const traces = buffer(${nTraces * 4}, COPY_SRC | COPY_DST, 'diagnose: every step\\'s state and its gradient');`);
    w.writeLine(`const readback = buffer(${Math.max(nLogits, nP, nS, nWindows * STATS, lossRows, nTraces) * 4}, MAP_READ | COPY_DST, 'readback');`);
    w.writeLine(`const uniforms = buffer(${capacity * RECORD_BYTES}, UNIFORM | COPY_DST, 'uniform records');`);
    w.writeLine('device.queue.writeBuffer(P, 0, host);');
    for (const f of gpu.fills) {
      const T = gpu.buffers.find((b) => b.name === f.phys)!.type === 'i32' ? 'Int32Array' : 'Float32Array';
      w.writeLine(`device.queue.writeBuffer(${ref(f.phys)}, ${f.offset * 4}, new ${T}(${f.size}).fill(${f.value}));`);
    }
    w.writeLine('const pipelines = await Promise.all(shaders.map(async (code, n) => {');
    w.indent(() => {
      w.writeLine('const layout = device.createBindGroupLayout({ entries: [');
      w.writeLine("  { binding: 0, visibility: 4, buffer: { type: 'uniform', hasDynamicOffset: true } },");
      w.writeLine("  ...layouts[n]!.map(([, write], k) => ({ binding: k + 1, visibility: 4, buffer: { type: write ? 'storage' as const : 'read-only-storage' as const } })),");
      w.writeLine('] });');
      w.writeLine('const pipeline = await device.createComputePipelineAsync({ label: labels[n], layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }), compute: { module: device.createShaderModule({ label: labels[n], code }), entryPoint: \'main\' } });');
      w.writeLine(`const bindGroup = device.createBindGroup({ layout, entries: [{ binding: 0, resource: { buffer: uniforms, size: ${RECORD_BYTES} } }, ...layouts[n]!.map(([b], k) => ({ binding: k + 1, resource: { buffer: phys[b]! } }))] });`);
      w.writeLine('return { pipeline, bindGroup };');
    });
    w.writeLine('}));');
    w.writeLine('const invalid = await device.popErrorScope(), oom = await device.popErrorScope();');
    w.writeLine('if (invalid || oom) { for (const b of made) b.destroy(); throw new Error(`createTrainer: the device refused the trainer: ${(oom ?? invalid)!.message}`); }');
    w.blankLine();
    // the uniform records of one command buffer, written just before it is submitted
    w.writeLine(`const records = new ArrayBuffer(${capacity * RECORD_BYTES}), ints = new Int32Array(records), floats = new Float32Array(records);`);
    w.writeLine('let used = 0, c1 = 1, c2 = 1, stepCount = 0;');
    w.writeLine('const lastStep = { loss: NaN, gradNorm: NaN, clipped: false };');
    w.writeLine('let encoder: GPUCommandEncoder = device.createCommandEncoder(), pass: GPUComputePassEncoder | null = null;');
    w.write('function go(k: number, start: number, t0: number, t1: number, t2: number, t3: number, win: number, scale: number): void').block(() => {
      w.writeLine(`const o = used * ${RECORD_BYTES / 4};`);
      w.writeLine('ints[o] = start; ints[o + 1] = t0; ints[o + 2] = t1; ints[o + 3] = t2; ints[o + 4] = t3; ints[o + 5] = win;');
      w.writeLine('floats[o + 8] = scale; floats[o + 9] = hyper.lr; floats[o + 10] = hyper.momentum; floats[o + 11] = hyper.beta1; floats[o + 12] = hyper.beta2;');
      w.writeLine('floats[o + 13] = hyper.eps; floats[o + 14] = c1; floats[o + 15] = c2; floats[o + 16] = hyper.clip ?? 0; floats[o + 17] = hyper.weightDecay; floats[o + 18] = hyper.alpha;');
      w.writeLine('pass ??= encoder.beginComputePass();');
      w.writeLine('pass.setPipeline(pipelines[k]!.pipeline);');
      w.writeLine(`pass.setBindGroup(0, pipelines[k]!.bindGroup, [used * ${RECORD_BYTES}]);`);
      w.writeLine('pass.dispatchWorkgroups(groups[k]![0], groups[k]![1]);');
      w.writeLine('used++;');
    });
    w.writeLine('/** The encoder, outside any compute pass (for copies). */');
    w.writeLine('const copies = () => { if (pass) { pass.end(); pass = null; } return encoder; };');
    w.write('function submit(): void').block(() => {
      w.writeLine('copies();');
      w.writeLine(`device.queue.writeBuffer(uniforms, 0, records, 0, used * ${RECORD_BYTES});`);
      w.writeLine('device.queue.submit([encoder.finish()]);');
      w.writeLine('encoder = device.createCommandEncoder();');
      w.writeLine('used = 0;');
    });
    w.write('async function read(from: GPUBuffer, offset: number, count: number): Promise<Float32Array>').block(() => {
      w.writeLine('copies().copyBufferToBuffer(from, offset, readback, 0, count * 4);');
      w.writeLine('submit();');
      w.writeLine('await readback.mapAsync(1, 0, count * 4);');
      w.writeLine('const out = new Float32Array(readback.getMappedRange(0, count * 4).slice(0));');
      w.writeLine('readback.unmap();');
      w.writeLine('return out;');
    });
    w.blankLine();
    for (const fn of schedule.functions) writeFunction(w, fn);
    w.blankLine();
    writeCalls(w);
  }

  function writeFunction(w: CodeBlockWriter, fn: ScheduleFunction): void {
    const window = fn.args.some((a) => a.name === 'scale');
    w.write(`function ${fn.name}(start: number${window ? ', scale: number, win: number' : ''}): void`).block(() => {
      const vars = new Map<string, string>();
      const items = (list: readonly Item[]) => {
        for (const it of list) {
          const whole = it.kind === 'loop' ? gpu.loopKernelOf.get(it) : undefined;
          if (whole !== undefined) {
            w.writeLine(`go(${whole}, start, 0, 0, 0, 0, ${window ? 'win, scale' : '0, 0'}); // ${gpu.kernels[whole]!.label.replace(/:.*/, '')}`);
          } else if (it.kind === 'loop') {
            if (!loopVariables.includes(it.variable)) throw new RnncError(`--target webgpu: loops nest deeper than ${loopVariables.length}`);
            const step = it.variable.replace(/^t/, 'step');
            w.write(`for (let ${step} = 0; ${step} < ${it.length}; ${step}++)`).block(() => {
              w.writeLine(`const ${it.variable} = ${it.reverse ? `${it.length - 1} - ${step}` : step};`);
              vars.set(it.variable, it.variable);
              items(it.body);
              vars.delete(it.variable);
            });
          } else {
            const t = loopVariables.map((v) => vars.get(v) ?? '0').join(', ');
            w.writeLine(`go(${gpu.kernelOf.get(it)}, start, ${t}, ${window ? 'win, scale' : '0, 0'}); // ${gpu.kernels[gpu.kernelOf.get(it)!]!.label}`);
          }
        }
      };
      items(fn.items);
    });
  }

  function writeCalls(w: CodeBlockWriter): void {
    const runs = schedule.sequence;
    const forRun = (r: (typeof runs)[number], body: (start: string, index: string) => void) => writeRun(w, r, body, true);
    const resultOf = (fn: string) => schedule.functions.find((f) => f.name === fn)!.result!;
    const inv = 1 / (program.totalPositions * c.lossElements);
    w.writeLine('let busy = false;');
    w.writeLine('/** One call at a time: a call runs until its read-back resolves. */');
    w.write('async function exclusive<R>(what: string, run: () => Promise<R>): Promise<R>').block(() => {
      w.writeLine('alive(what);');
      w.writeLine('if (busy) throw new Error(`${what}: another call of this trainer has not finished; await it first`);');
      w.writeLine('busy = true;');
      w.writeLine('try { return await run(); } finally { busy = false; }');
    });
    w.write('function upload(inputs: Inputs): void').block(() => {
      c.inputs.forEach((i) => w.writeLine(`device.queue.writeBuffer(${ref(`in_${i.name}`)}, 0, inputs.${i.name});`));
    });
    w.write('function bind(batch: Batch): void').block(() => {
      w.writeLine('checkBatch(batch);');
      w.writeLine('upload(batch.inputs);');
      w.writeLine(`device.queue.writeBuffer(${ref('in_target')}, 0, batch.targets);`);
    });
    w.write('const lossAndGrad = (batch: Batch) => exclusive(\'lossAndGrad\', async () =>').block(() => {
      w.writeLine('bind(batch);');
      w.writeLine(`checkFinite(batch.inputs${c.target.kind === 'dense' ? ', batch.targets' : ''});`);
      w.writeLine('copies().clearBuffer(G);');
      w.writeLine('copies().clearBuffer(stats);');
      for (const r of runs) {
        forRun(r, (start, index) => {
          w.writeLine(`${r.fn}(${start}, ${r.positions === 0 ? 0 : inv}, ${index});`);
          if (r.positions > 0) w.writeLine(`copies().copyBufferToBuffer(arena, ${byteOffset(resultOf(r.fn), start)}, stats, (${index}) * ${STATS * 4}, 4);`);
          w.writeLine('submit();');
        });
      }
      w.writeLine(`const st = await read(stats, 0, ${nWindows * STATS});`);
      w.writeLine('let total = 0;');
      w.writeLine(`for (let n = 0; n < ${nWindows}; n++) total += st[n * ${STATS}]!;`);
      w.writeLine(`return total * ${inv};`);
    }).write(');').newLine();
    w.write('const step = (batch: Batch) => exclusive(\'step\', async () =>').block(() => {
      w.writeLine('bind(batch);');
      w.writeLine('const countBefore = stepCount;');
      w.writeLine('const e = copies();');
      w.writeLine('e.copyBufferToBuffer(P, 0, saved.P, 0, P.size); e.copyBufferToBuffer(M, 0, saved.M, 0, M.size); e.copyBufferToBuffer(V, 0, saved.V, 0, V.size); e.copyBufferToBuffer(S, 0, saved.S, 0, S.size);');
      w.writeLine(`e.clearBuffer(stats);`);
      const h = gpu.host;
      for (const r of runs) {
        forRun(r, (start, index) => {
          if (r.positions === 0) return void w.writeLine(`${r.fn}(${start}, 0, ${index}); submit(); // no loss in this window: it only carries the state on`);
          w.writeLine('copies().clearBuffer(G);');
          w.writeLine(`${r.fn}(${start}, ${1 / (r.positions * c.lossElements)}, ${index});`);
          w.writeLine(`go(${h.gradNorm}, 0, 0, 0, 0, 0, ${index}, 0);`);
          w.writeLine(`if (hyper.clip !== null) go(${h.clip}, 0, 0, 0, 0, 0, ${index}, 0);`);
          // the step count as the TS host keeps it (codegen/ts/update.ts), and Adam's bias corrections from it
          const kind = cfg.optimizer.kind;
          if (kind === 'adam' || kind === 'adamw') w.writeLine('stepCount++; c1 = 1 - Math.pow(hyper.beta1, stepCount); c2 = 1 - Math.pow(hyper.beta2, stepCount);');
          else if (kind === 'rmsprop') w.writeLine('stepCount++;');
          w.writeLine(`go(${h.update}, 0, 0, 0, 0, 0, ${index}, 0);`);
          w.writeLine(`go(${h.paramsFinite}, 0, 0, 0, 0, 0, ${index}, 0);`);
          w.writeLine(`copies().copyBufferToBuffer(arena, ${byteOffset(resultOf(r.fn), start)}, stats, (${index}) * ${STATS * 4}, 4);`);
          w.writeLine('submit();');
        });
      }
      w.writeLine(`const st = await read(stats, 0, ${nWindows * STATS});`);
      w.writeLine('let total = 0, gradNorm = 0, clipped = false;');
      w.write(`for (let n = 0; n < ${nWindows}; n++)`).block(() => {
        w.writeLine(`const [start, len, positions] = windowAt(n);`);
        w.writeLine('if (positions === 0) continue;');
        w.writeLine(`const loss = st[n * ${STATS}]!;`);
        w.writeLine('if (!Number.isFinite(loss)) rollback(`loss (${loss})`, n, start, len, countBefore);');
        w.writeLine(`if (st[n * ${STATS} + 2] !== 1) rollback('gradient', n, start, len, countBefore);`);
        w.writeLine(`if (st[n * ${STATS} + 3] !== 1) rollback('parameter after the update', n, start, len, countBefore, ' (the learning rate may be too large)');`);
        // the norm before clipping, as the TS host's lastStep: the largest over the windows
        w.writeLine(`const norm = st[n * ${STATS} + 1]!;`);
        w.writeLine('gradNorm = Math.max(gradNorm, norm);');
        w.writeLine('if (hyper.clip !== null && norm > hyper.clip) clipped = true;');
        w.writeLine('total += loss;');
      });
      w.writeLine(`const loss = total * ${inv};`);
      w.writeLine('lastStep.loss = loss; lastStep.gradNorm = gradNorm; lastStep.clipped = clipped;');
      w.writeLine('return loss;');
    }).write(');').newLine();
    // where window n of the sequence starts, how long it is and how many loss positions it has
    w.write('function windowAt(n: number): [number, number, number]').block(() => {
      for (const r of runs) {
        w.writeLine(`if (n < ${r.index + r.count}) return [${r.start} + (n - ${r.index}) * ${r.stride}, ${r.len}, ${r.positions}];`);
      }
      w.writeLine("throw new Error('window index');");
    });
    w.write("function rollback(what: string, index: number, start: number, len: number, countBefore: number, hint = ''): never").block(() => {
      w.writeLine('const e = copies();');
      w.writeLine('e.copyBufferToBuffer(saved.P, 0, P, 0, P.size); e.copyBufferToBuffer(saved.M, 0, M, 0, M.size); e.copyBufferToBuffer(saved.V, 0, V, 0, V.size); e.copyBufferToBuffer(saved.S, 0, S, 0, S.size);');
      w.writeLine('submit();');
      w.writeLine('stepCount = countBefore;');
      w.writeLine('throw new RangeError(`step: non-finite ${what} in window ${index} (steps ${start}..${start + len - 1})${hint}; parameters, optimizer state and state are unchanged`);');
    });
    writeGpuForward(w, { c, schedule, T, Y, nS, totalPositions: program.totalPositions, byteOffset, ref });
    writeGpuDiagnose(w, {
      c, schedule, T, nP, nS, scale: 1 / (program.totalPositions * c.lossElements), stats: STATS, windows: nWindows,
      truncate: `${program.truncation.k1}:${program.truncation.k2}`, compiled: cfg.diagnose ?? false,
      source: (v, start) => [ref(gpu.placement(v.buf).phys), byteOffset(v, start)],
    });
    const named = (slots: typeof params) =>
      `{ ${slots.map((s) => `${s.name}: all.subarray(${s.offset}, ${s.offset + s.size})`).join(', ')} }`;
    // frozen, as the TS trainer is: replacing a member throws instead of being ignored
    w.write('return Object.freeze(').inlineBlock(() => {
      w.writeLine('hyper, lastStep, lossAndGrad, step, predict, evaluate, diagnose,');
      // synchronous, so it cannot wait: during a call it would be undone (predict and evaluate put
      // the training state back when they finish), so it refuses as a second call does
      w.writeLine("resetState: () => { alive('resetState'); if (busy) throw new Error('resetState: another call of this trainer has not finished; await it first'); copies().clearBuffer(S); submit(); },");
      w.writeLine(`readParams: () => exclusive('readParams', async () => { const all = await read(P, 0, ${nP}); return ${named(params)}; }),`);
      w.writeLine(`readGrads: () => exclusive('readGrads', async () => { const all = await read(G, 0, ${nP}); return ${named(params)}; }),`);
      w.writeLine(`readState: () => exclusive('readState', async () => { const all = await read(S, 0, ${nS}); return ${named(states)}; }),`);
      w.writeLine(`writeParams: (values: ${record}) => exclusive('writeParams', async () => {`);
      w.indent(() => {
        w.writeLine("if (typeof values !== 'object' || values === null) throw new TypeError(`writeParams: expected parameters by name, got ${describe(values)}`);");
        w.writeLine(`const all = await read(P, 0, ${nP});`);
        w.writeLine(`const current: Record<string, Float32Array> = ${named(params)};`);
        w.write('for (const name in values)').block(() => {
          w.writeLine("if (!Object.hasOwn(current, name)) throw new RangeError(`writeParams: unknown parameter '${name}'; this trainer has ${Object.keys(current).join(', ')}`);");
          w.writeLine('const v = values[name];');
          w.writeLine("if (!(v instanceof Float32Array) || v.length !== current[name]!.length) throw new RangeError(`writeParams: '${name}' must be a Float32Array of ${current[name]!.length} values, got ${describe(v)}`);");
          w.writeLine("if (!allFinite(v)) throw new RangeError(`writeParams: '${name}' has non-finite values`);");
        });
        w.writeLine('for (const name in values) current[name]!.set(values[name]!);');
        w.writeLine('device.queue.writeBuffer(P, 0, all);');
      });
      w.writeLine('}),');
      w.writeLine(`saveParams: () => exclusive('saveParams', async () => { const all = await read(P, 0, ${nP}); return saveParams(${named(params)}); }),`);
      w.writeLine(`loadParams: (json: string) => exclusive('loadParams', async () => { const all = await read(P, 0, ${nP}); loadParams(${named(params)}, json); device.queue.writeBuffer(P, 0, all); }),`);
      w.write('saveCheckpoint: () => exclusive(\'saveCheckpoint\', async () =>').block(() => {
        w.writeLine(`const [p, s, m, v] = [await read(P, 0, ${nP}), await read(S, 0, ${nS}), ${has.m ? `await read(M, 0, ${nP})` : 'new Float32Array(0)'}, ${has.v ? `await read(V, 0, ${nP})` : 'new Float32Array(0)'}];`);
        w.writeLine('return checkpointJson(p, s, m, v, stepCount, hyper);');
      }).write('),').newLine();
      w.write('loadCheckpoint: (json: string) => exclusive(\'loadCheckpoint\', async () =>').block(() =>
        writeLoadCheckpointBody(w, cfg.optimizer.kind, (buf, value) => `device.queue.writeBuffer(${buf}, 0, ${value});`, 'stepCount'),
      ).write('),').newLine();
      w.writeLine('destroy: () => { for (const b of made) b.destroy(); lost = \'destroyed by destroy()\'; },');
    }).write(');');
  }
  return sf.getFullText();
}
