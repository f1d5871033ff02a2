/**
 * A small builder for the WGSL compute shaders of the WebGPU target: a shader knows the storage
 * buffers it binds (each once, read-only or read-write, f32 or i32), reads the per-dispatch
 * variables from one uniform record, and pulls in only the helper functions its body uses.
 * docs/webgpu.md describes the bindings and the uniform record.
 */
import type { Affine } from '../schedule/types.ts';

/** Where the schedule's buffers live on the GPU: a physical buffer and an element offset in it. */
export interface Placement {
  readonly phys: string;
  readonly base: number;
  readonly type: 'f32' | 'i32';
}

/** The uniform record every dispatch reads (256 bytes apart, bound with a dynamic offset). */
export const uniformFields = [
  ['start', 'i32'], ['t0', 'i32'], ['t1', 'i32'], ['t2', 'i32'], ['t3', 'i32'], ['window', 'i32'], ['pad0', 'i32'], ['pad1', 'i32'],
  ['scale', 'f32'], ['lr', 'f32'], ['momentum', 'f32'], ['beta1', 'f32'], ['beta2', 'f32'], ['eps', 'f32'], ['c1', 'f32'], ['c2', 'f32'],
  ['clip', 'f32'], ['weightDecay', 'f32'], ['alpha', 'f32'],
] as const;
export type UniformField = (typeof uniformFields)[number][0];
/** Loop variables a kernel may use: loops nest at most this deep. */
export const loopVariables = ['t0', 't1', 't2', 't3'];
export const RECORD_BYTES = 256;
export const WORKGROUP = 64;

const helpers: Record<string, string> = {
  // exp(-2|x|) never overflows; near 0 the cubic avoids the cancellation in 1 - e
  tanh_: `fn tanh_(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  let t = select((1.0 - e) / (1.0 + e), abs(x) - abs(x) * abs(x) * abs(x) / 3.0, abs(x) < 0.0005);
  return select(-t, t, x >= 0.0);
}`,
  sigmoid_: `fn sigmoid_(x: f32) -> f32 {
  return 1.0 / (1.0 + exp(-x));
}`,
  // WGSL lets an implementation assume floats are finite, so a comparison cannot find NaN: the bits can
  finite_: `fn finite_(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}`,
};

/** A helper function's WGSL, for a shader written by hand (plan.ts's reduction). */
export const helperSource = (name: keyof typeof helpers): string => helpers[name]!;

export interface ShaderBinding {
  readonly phys: string;
  readonly type: 'f32' | 'i32';
  readonly write: boolean;
}

export interface GpuKernel {
  readonly code: string;
  /** Storage bindings 1, 2, … in order (binding 0 is the uniform record). */
  readonly bindings: readonly ShaderBinding[];
  /** Invocations to launch (workgroups of WORKGROUP along x, then y past 65,535 groups). */
  readonly invocations: number;
  /** A label for errors and profiles. */
  readonly label: string;
  /** Workgroups to dispatch when not one invocation per element (a reduction's single group). */
  readonly groups?: readonly [number, number];
}

/** The uniform record as WGSL, binding 0 of every shader. */
export const uniformStruct = `struct Vars {\n${uniformFields.map(([n, t]) => `  ${n}: ${t},`).join('\n')}\n}\n@group(0) @binding(0) var<uniform> u: Vars;`;

/**
 * Collects a shader's bindings as its body is written. `ref(buf)` names a schedule buffer in the
 * body and `index(buf, affine)` its element offset: base + c + Σ k·u.variable.
 */
export class ShaderBuilder {
  private readonly order: string[] = [];
  private readonly phys = new Map<string, ShaderBinding>();
  private readonly used = new Set<string>();

  /** `locals`: index variables the shader computes itself (a persistent loop's step), not read from the uniform record. */
  constructor(
    private readonly placement: (buf: string) => Placement,
    private readonly locals: ReadonlySet<string> = new Set(),
  ) {}

  /** The WGSL array for schedule buffer `buf`, marking it written if `write`. */
  ref(buf: string, write = false): string {
    const p = this.placement(buf);
    const old = this.phys.get(p.phys);
    if (!old) this.order.push(p.phys);
    this.phys.set(p.phys, { phys: p.phys, type: p.type, write: write || (old?.write ?? false) });
    // bindings are named by number: no user-chosen name ever reaches WGSL
    return `b${this.order.indexOf(p.phys) + 1}`;
  }

  /** Record a helper function the body calls. */
  use(helper: keyof typeof helpers): string {
    this.used.add(helper);
    return helper;
  }

  /** `buf`'s element at affine `a` plus `extra` (an i32 expression), as an i32 expression. */
  offset(buf: string, a: Affine, extra?: string): string {
    const base = this.placement(buf).base + a.c;
    const parts: string[] = a.terms.map(([v, k]) => {
      if (v !== 'start' && !loopVariables.includes(v)) throw new Error(`WebGPU target: index variable '${v}' is not in the uniform record`);
      const name = this.locals.has(v) ? v : `u.${v}`;
      return k === 1 ? name : `${name} * ${k}`;
    });
    if (extra !== undefined && extra !== '0') parts.push(extra);
    if (base !== 0 || parts.length === 0) parts.push(String(base));
    return parts.join(' + ');
  }

  /** `ref(buf)[offset(...)]`. */
  at(buf: string, a: Affine, extra?: string, write = false): string {
    return `${this.ref(buf, write)}[${this.offset(buf, a, extra)}]`;
  }

  /** The whole shader around `body`, which sees `i` (the invocation, i32) below `invocations`. */
  finish(label: string, body: string, invocations: number): GpuKernel {
    const main = [
      'fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {',
      `  let i = i32(gid.x + gid.y * groups.x * ${WORKGROUP}u);`,
      `  if (i >= ${invocations}) { return; }`,
      body.replace(/^/gm, '  '),
      '}',
    ];
    return { code: this.module(label, main), bindings: this.bindings(), invocations, label };
  }

  /** A shader of `workgroups` groups whose body sees `wg` (its group, i32) and `lane` (its invocation in the group, i32). */
  finishGroups(label: string, body: string, workgroups: number): GpuKernel {
    const main = [
      'fn main(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) local: u32) {',
      '  let wg = i32(group.x);',
      '  let lane = i32(local);',
      body.replace(/^/gm, '  '),
      '}',
    ];
    return { code: this.module(label, main), bindings: this.bindings(), invocations: workgroups * WORKGROUP, label, groups: [workgroups, 1] };
  }

  private bindings(): ShaderBinding[] {
    return this.order.map((p) => this.phys.get(p)!);
  }

  private module(label: string, main: readonly string[]): string {
    const decls = this.bindings().map((b, n) => `@group(0) @binding(${n + 1}) var<storage, ${b.write ? 'read_write' : 'read'}> b${n + 1}: array<${b.type}>;`);
    return [`// ${label}`, uniformStruct, ...decls, ...[...this.used].sort().map((h) => helpers[h]!), `@compute @workgroup_size(${WORKGROUP})`, ...main, ''].join('\n');
  }
}

/** A float as a WGSL f32 expression (WGSL has no literals for NaN or infinities). */
export function f32(v: number): string {
  if (Number.isNaN(v)) return 'bitcast<f32>(0x7fc00000u)';
  if (!Number.isFinite(v)) return v > 0 ? 'bitcast<f32>(0x7f800000u)' : 'bitcast<f32>(0xff800000u)';
  const s = String(v);
  return `${s.includes('.') || s.includes('e') ? s : `${s}.0`}f`.replace(/^-(.*)$/, '(-$1)');
}
