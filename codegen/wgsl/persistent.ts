/**
 * A loop over time steps as one dispatch: a persistent kernel (after Diamos et al., "Persistent
 * RNNs", 2016). Each batch row's recurrence is independent of the others', so one workgroup per
 * row runs every step of the loop, each kernel of the step over its row, with a storage barrier
 * between kernels — instead of one dispatch per kernel per step, which bounds a small recurrent
 * net by dispatch overhead (WebGPU has no graph capture).
 *
 * That the rows really are independent is checked, not assumed: every element that a row reads of
 * a buffer written inside the loop must be written only by that row (or not inside the loop), and
 * a per-step slot must not reach into another step's. Loops that fail the check, or whose step
 * does more work per row than one workgroup should do alone, keep their per-step dispatches.
 */
import type { Access, Affine, ElementwiseKernel, Expr, Kernel, Loop } from '../schedule/types.ts';
import { elementwiseBody, elementwiseLabel, matmulRowBody } from './kernels.ts';
import { ShaderBuilder, WORKGROUP, type GpuKernel, type Placement } from './shader.ts';

/**
 * Multiply-adds per row per step above which a loop keeps per-step dispatches: past it, B
 * workgroups alone leave most of a GPU idle, where per-step kernels spread each product over
 * every core. A judgement (LSTM H=128: 66k, persistent; H=512: 1M, per step), not yet measured on
 * a GPU: docs/webgpu.md.
 */
export const PERSISTENT_MAX_WORK = 2 ** 17;

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

type RowKernel = ElementwiseKernel | Extract<Kernel, { kind: 'matmul' }>;

/** Every access of an elementwise kernel, with whether it writes. */
function accessesOf(k: ElementwiseKernel): { access: Access; write: boolean }[] {
  const out: { access: Access; write: boolean }[] = [];
  const visit = (e: Expr): void => {
    if (e.op === 'load') out.push({ access: e.access, write: false });
    else if (e.op === 'onehot') out.push({ access: e.index, write: false });
    else if ('a' in e) {
      if ('c' in e) visit(e.c);
      visit(e.a);
      if ('b' in e) visit(e.b);
    }
  };
  k.locals.forEach(visit);
  for (const st of k.stores) visit(st.value), out.push({ access: st.to, write: true });
  return out;
}

/** An access by (buffer, affine offset), enumerated per row at step 0 of the loop. */
interface Touch {
  readonly buf: string;
  readonly off: Affine;
  readonly write: boolean;
  /** The elements row `row` touches, relative to the offset's constant. */
  readonly elements: (row: number) => Iterable<number>;
}

function* range(from: number, n: number, step = 1): Generator<number> {
  for (let i = 0; i < n; i++) yield from + i * step;
}

function touchesOf(k: RowKernel, batch: number): Touch[] {
  if (k.kind === 'matmul') {
    const { m: M, n: N, k: K } = k;
    if (k.transA || M !== batch) return [];
    return [
      { buf: k.a.buf, off: k.a.off, write: false, elements: (row) => range(row * K, K) },
      { buf: k.b.buf, off: k.b.off, write: false, elements: () => range(0, N * K) },
      { buf: k.c.buf, off: k.c.off, write: true, elements: (row) => range(row * N, N) },
    ];
  }
  const n = prod(k.shape), r = n / batch;
  const inner = k.shape.map((_, d) => prod(k.shape.slice(d + 1)));
  return accessesOf(k).map(({ access, write }) => ({
    buf: access.buf,
    off: access.off,
    write,
    *elements(row: number) {
      for (let q = 0; q < r; q++) {
        const i = row * r + q;
        let e = 0;
        for (let d = 0; d < k.shape.length; d++) e += (Math.floor(i / inner[d]!) % k.shape[d]!) * access.strides[d]!;
        yield e;
      }
    },
  }));
}

const termsKey = (a: Affine) => a.terms.map(([v, k]) => `${v}:${k}`).join(',');

/** Whether every row of the loop reads only what it wrote itself (module comment). */
function rowsIndependent(loop: Loop, kernels: readonly RowKernel[], batch: number): boolean {
  const touches = kernels.flatMap((k) => touchesOf(k, batch));
  const written = new Set(touches.filter((t) => t.write).map((t) => t.buf));
  const owner = new Map<string, Map<number, number>>();
  const terms = new Map<string, string>();
  for (const t of touches) {
    if (!written.has(t.buf)) continue;
    // every access of a buffer the loop writes moves with the steps alike (the same terms), so
    // step 0 tells for every step
    const key = termsKey(t.off);
    if ((terms.get(t.buf) ?? key) !== key) return false;
    terms.set(t.buf, key);
  }
  for (const t of touches.filter((x) => x.write)) {
    const map = owner.get(t.buf) ?? new Map<number, number>();
    owner.set(t.buf, map);
    for (let row = 0; row < batch; row++) {
      for (const e of t.elements(row)) {
        const o = map.get(t.off.c + e);
        if (o !== undefined && o !== row) return false;
        map.set(t.off.c + e, row);
      }
    }
  }
  for (const t of touches.filter((x) => !x.write && written.has(x.buf))) {
    const map = owner.get(t.buf)!;
    for (let row = 0; row < batch; row++) for (const e of t.elements(row)) if ((map.get(t.off.c + e) ?? row) !== row) return false;
  }
  // a per-step slot (a term in the loop's step) stays within one step's stride
  for (const buf of owner.keys()) {
    const step = Math.abs(touches.find((t) => t.buf === buf)!.off.terms.find(([v]) => v === loop.variable)?.[1] ?? 0);
    if (step === 0) continue;
    const all = touches.filter((t) => t.buf === buf).flatMap((t) => [...Array(batch).keys()].flatMap((row) => [...t.elements(row)].map((e) => t.off.c + e)));
    if (Math.max(...all) - Math.min(...all) >= step) return false;
  }
  return true;
}

/** The loop as one shader, or null when it must keep per-step dispatches. */
export function persistentLoop(loop: Loop, batch: number, placement: (buf: string) => Placement): GpuKernel | null {
  const kernels: RowKernel[] = [];
  for (const item of loop.body) {
    if (item.kind === 'elementwise' && prod(item.shape) % batch === 0) kernels.push(item);
    else if (item.kind === 'matmul' && !item.transA && item.m === batch) kernels.push(item);
    else return null; // a nested loop, another kind of kernel, or one not split by batch rows
  }
  const work = kernels.reduce((a, k) => a + (k.kind === 'matmul' ? k.n * k.k : prod(k.shape) / batch), 0);
  if (kernels.length === 0 || work > PERSISTENT_MAX_WORK || !rowsIndependent(loop, kernels, batch)) return null;

  const s = new ShaderBuilder(placement, new Set([loop.variable]));
  const parts = kernels.map((k) => {
    if (k.kind === 'matmul') {
      return `// matmul M=${k.m} N=${k.n} K=${k.k}, row \`row\`\nfor (var q = lane; q < ${k.n}; q += ${WORKGROUP}) {\n${indent(matmulRowBody(s, k))}\n}`;
    }
    const r = prod(k.shape) / batch;
    return `// ${elementwiseLabel(k)}, row \`row\`\nfor (var q = lane; q < ${r}; q += ${WORKGROUP}) {\n  let i = row * ${r} + q;\n${indent(elementwiseBody(s, k))}\n}`;
  });
  const body = [
    'let row = wg;',
    `for (var step = 0; step < ${loop.length}; step++) {`,
    `  let ${loop.variable} = ${loop.reverse ? `${loop.length - 1} - step` : 'step'};`,
    // each kernel's writes are seen by the next kernel (and the next step) of the same row
    ...parts.map((p) => indent(`${p}\nstorageBarrier();`)),
    '}',
  ].join('\n');
  const label = `persistent loop over ${loop.length} steps${loop.reverse ? ', reversed' : ''}: ${kernels.map((k) => (k.kind === 'matmul' ? 'matmul' : elementwiseLabel(k))).join('; ')}`;
  return s.finishGroups(label, body, batch);
}

const indent = (text: string) => text.replace(/^/gm, '  ');
