/**
 * Where a schedule lives on the GPU, and the shaders that run it: the schedule's buffers packed
 * into a few physical storage buffers (parameters, gradients, state, one f32 and one i32 scratch
 * arena, constants, the caller's inputs, the per-window statistics), one shader per kernel item,
 * and the host's own shaders (gradient norm and finiteness, clipping, the optimizer update).
 */
import { optimizerMoments, type OptimizerKind } from '../../ir/program.ts';
import type { Item, Kernel, Loop, MemoryPlan, Schedule } from '../schedule/types.ts';
import { gpuKernel } from './kernels.ts';
import { persistentLoop } from './persistent.ts';
import { helperSource, ShaderBuilder, uniformStruct, WORKGROUP, type GpuKernel, type Placement } from './shader.ts';

/** Statistics per window, in the `stats` buffer: loss sum, gradient norm, gradient finite, parameters finite. */
export const STATS = 4;

export interface PhysicalBuffer {
  readonly name: string;
  readonly type: 'f32' | 'i32';
  /** Elements (at least 4, so every buffer can be bound). */
  readonly size: number;
}

export interface GpuPlan {
  readonly buffers: readonly PhysicalBuffer[];
  readonly placement: (buf: string) => Placement;
  /** Every shader: the schedule's kernels first, then the host's. */
  readonly kernels: readonly GpuKernel[];
  /** A schedule kernel item's shader, by identity. */
  readonly kernelOf: ReadonlyMap<Kernel, number>;
  /** A loop run as one persistent dispatch (persistent.ts): its shader. */
  readonly loopKernelOf: ReadonlyMap<Loop, number>;
  readonly host: { readonly gradNorm: number; readonly paramsFinite: number; readonly clip: number; readonly update: number };
  /** Constants to fill at creation: physical buffer, offset, size, value. */
  readonly fills: readonly { readonly phys: string; readonly offset: number; readonly size: number; readonly value: number }[];
}

/** `persistent`: run each loop that allows it as one dispatch (persistent.ts), or every loop per step. */
export function planGpu(schedule: Schedule, memory: MemoryPlan, optimizer: OptimizerKind, windows: number, loops: { persistent: boolean; batch: number }): GpuPlan {
  const nP = schedule.params.reduce((a, p) => a + p.size, 0);
  const places = new Map<string, Placement>();
  const sizes = new Map<string, number>([['arena', memory.arenaSize], ['iarena', 0], ['K', 0], ['Ki', 0]]);
  const fills: { phys: string; offset: number; size: number; value: number }[] = [];
  const inputs: PhysicalBuffer[] = [];
  const append = (phys: string, size: number) => {
    const base = sizes.get(phys)!;
    sizes.set(phys, base + size);
    return base;
  };
  for (const b of schedule.buffers) {
    const type = b.dtype === 'i32' ? 'i32' : 'f32';
    if (b.kind === 'param' || b.kind === 'grad' || b.kind === 'state') places.set(b.name, { phys: b.name, base: 0, type });
    else if (b.kind === 'input' || b.kind === 'target') {
      places.set(b.name, { phys: b.name, base: 0, type });
      inputs.push({ name: b.name, type, size: b.size });
    } else if (b.kind === 'scratch') {
      places.set(b.name, type === 'f32' ? { phys: 'arena', base: memory.offsets.get(b.name)!, type } : { phys: 'iarena', base: append('iarena', b.size), type });
    } else {
      const phys = type === 'f32' ? 'K' : 'Ki';
      const base = append(phys, b.size);
      places.set(b.name, { phys, base, type });
      fills.push({ phys, offset: base, size: b.size, value: b.value! });
    }
  }
  const has = optimizerMoments(optimizer);
  const host: Record<string, Placement> = {
    M: { phys: 'M', base: 0, type: 'f32' },
    V: { phys: 'V', base: 0, type: 'f32' },
    stats: { phys: 'stats', base: 0, type: 'f32' },
  };
  const placement = (buf: string): Placement => {
    const p = places.get(buf) ?? host[buf];
    if (!p) throw new Error(`WebGPU target: no placement for buffer '${buf}'`);
    return p;
  };
  const nS = schedule.states.reduce((a, s) => a + s.size, 0);
  const at4 = (n: number) => Math.max(4, n);
  const buffers: PhysicalBuffer[] = [
    { name: 'P', type: 'f32', size: at4(nP) },
    { name: 'G', type: 'f32', size: at4(nP) },
    { name: 'S', type: 'f32', size: at4(nS) },
    { name: 'M', type: 'f32', size: at4(has.m ? nP : 0) },
    { name: 'V', type: 'f32', size: at4(has.v ? nP : 0) },
    { name: 'arena', type: 'f32', size: at4(sizes.get('arena')!) },
    { name: 'iarena', type: 'i32', size: at4(sizes.get('iarena')!) },
    { name: 'K', type: 'f32', size: at4(sizes.get('K')!) },
    { name: 'Ki', type: 'i32', size: at4(sizes.get('Ki')!) },
    { name: 'stats', type: 'f32', size: at4(windows * STATS) },
    ...inputs.map((b) => ({ ...b, size: at4(b.size) })),
  ];

  const kernels: GpuKernel[] = [];
  const kernelOf = new Map<Kernel, number>();
  const loopKernelOf = new Map<Loop, number>();
  const visit = (item: Item) => {
    if (item.kind === 'loop') {
      const whole = loops.persistent ? persistentLoop(item, loops.batch, placement) : null;
      if (whole) loopKernelOf.set(item, kernels.push(whole) - 1);
      else item.body.forEach(visit);
      return;
    }
    kernelOf.set(item, kernels.length);
    kernels.push(gpuKernel(item, placement));
  };
  for (const fn of schedule.functions) fn.items.forEach(visit);
  const add = (k: GpuKernel) => kernels.push(k) - 1;
  return {
    buffers,
    placement,
    kernels,
    kernelOf,
    loopKernelOf,
    fills,
    host: {
      gradNorm: add(reduction('G', nP, 1)),
      paramsFinite: add(reduction('P', nP, 3)),
      clip: add(clipKernel(placement, nP)),
      update: add(updateKernel(placement, nP, optimizer)),
    },
  };
}

/**
 * The L2 norm of a buffer and whether every element is finite, into the window's statistics:
 * one workgroup, a strided pass and a tree in workgroup memory, so the sum is the same every run.
 */
function reduction(buf: 'G' | 'P', n: number, slot: number): GpuKernel {
  const code = `// norm and finiteness of ${buf}
${uniformStruct}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;
var<workgroup> sq: array<f32, ${WORKGROUP}>;
var<workgroup> bad: array<u32, ${WORKGROUP}>;
${helperSource('finite_')}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(local_invocation_index) l: u32) {
  var s = 0.0f;
  var b = 0u;
  for (var k = l; k < ${n}u; k += ${WORKGROUP}u) {
    let v = x[k];
    s += v * v;
    if (!finite_(v)) { b = 1u; }
  }
  sq[l] = s;
  bad[l] = b;
  workgroupBarrier();
  for (var h = ${WORKGROUP / 2}u; h > 0u; h >>= 1u) {
    if (l < h) {
      sq[l] += sq[l + h];
      bad[l] = max(bad[l], bad[l + h]);
    }
    workgroupBarrier();
  }
  if (l == 0u) {
    let base = u.window * 4;
    ${slot === 1 ? 'stats[base + 1] = sqrt(sq[0]);\n    ' : ''}stats[base + ${slot === 1 ? 2 : 3}] = select(1.0f, 0.0f, bad[0] != 0u);
  }
}
`;
  return { code, bindings: [{ phys: buf, type: 'f32', write: false }, { phys: 'stats', type: 'f32', write: true }], invocations: WORKGROUP, label: `norm of ${buf}`, groups: [1, 1] };
}

/** G scaled to norm `u.clip` when its norm (in the statistics) is longer. */
function clipKernel(placement: (buf: string) => Placement, n: number): GpuKernel {
  const s = new ShaderBuilder(placement);
  const G = s.ref('G', true), stats = s.ref('stats');
  const body = [`let norm = ${stats}[u.window * 4 + 1];`, `if (u.clip > 0.0f && norm > u.clip) { ${G}[i] = ${G}[i] * (u.clip / norm); }`].join('\n');
  return s.finish('clip', body, n);
}

/** One optimizer step over P from G: PyTorch's formulas, as in the TS target (codegen/ts/update.ts). */
function updateKernel(placement: (buf: string) => Placement, n: number, kind: OptimizerKind): GpuKernel {
  const s = new ShaderBuilder(placement);
  const P = s.ref('P', true), G = s.ref('G');
  return s.finish(`${kind} update`, updateLines(kind, P, G, () => s.ref('M', true), () => s.ref('V', true)).join('\n'), n);
}

/** The update of element i, its moments bound only when the optimizer has them (optimizerMoments). */
function updateLines(kind: OptimizerKind, P: string, G: string, M: () => string, V: () => string): string[] {
  switch (kind) {
    case 'sgd':
      return [`${P}[i] -= u.lr * ${G}[i];`];
    case 'momentum': {
      const m = M();
      return [`let m = u.momentum * ${m}[i] + ${G}[i];`, `${m}[i] = m;`, `${P}[i] -= u.lr * m;`];
    }
    case 'adam':
    case 'adamw': {
      const [m, v] = [M(), V()];
      return [
        `let g = ${G}[i];`,
        // AdamW decays the parameter itself first, decoupled from the moments (torch.optim.AdamW)
        ...(kind === 'adamw' ? [`${P}[i] *= 1.0f - u.lr * u.weightDecay;`] : []),
        `let m = u.beta1 * ${m}[i] + (1.0f - u.beta1) * g;`,
        `let v = u.beta2 * ${v}[i] + (1.0f - u.beta2) * g * g;`,
        `${m}[i] = m;`,
        `${v}[i] = v;`,
        `${P}[i] -= (u.lr * (m / u.c1)) / (sqrt(v / u.c2) + u.eps);`,
      ];
    }
    case 'rmsprop': {
      // torch.optim.RMSprop without momentum, not centered
      const v = V();
      return [`let g = ${G}[i];`, `let v = u.alpha * ${v}[i] + (1.0f - u.alpha) * g * g;`, `${v}[i] = v;`, `${P}[i] -= (u.lr * g) / (sqrt(v) + u.eps);`];
    }
  }
}
